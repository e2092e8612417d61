// When a task starts: claims a slot of the core's task table, writes its payload, arms it on its arguments
// (or queues it in the backlog while slots or arena space are short), and admits tasks that need resources
// beyond one CPU. Which tasks exist is the task manager's; actor tasks go through the actor manager.
import * as L from "../../core-wasm/shared/layout.js";
import { Core } from "../wasm/core.js";
import { ReconstructionError, ObjectStoreFullError } from "../errors.js";
import { idLo, idHi, formatTaskId, type TaskId } from "../ids.js";
import type { ResolvedTaskOptions, Resources } from "../options.js";
import type { DriverContext } from "../runtime/driver-context.js";
import { NO_SLOT, PAYLOAD_PREFIX, type TaskEntry } from "../tasks/task-entry.js";
import { Backlog } from "./backlog.js";
import { isDefaultResources } from "./resource-ledger.js";
import { reconstructionFailure } from "../lineage/recovery-manager.js";

/** What TaskDispatcher reaches in the driver: its arrows in engine/README.md. */
export type TaskDispatcherDeps = Pick<DriverContext, "actors" | "closed" | "core" | "i32" | "parkWake" | "recovery" | "resources" | "tasks" | "cluster" | "transport">;

/** What holds a slot that an attempt no task owns still occupies (see TaskDispatcher.tombstone). */
export interface Tombstone {
  tombstone: number;
  resources: Resources | undefined;
  actorId: undefined;
  kind: "put";
  slot: number;
}

export class TaskDispatcher {
  /**
   * The task in each slot ever taken (or a tombstone while an attempt no task owns holds it), grown one slot at a
   * time: the table may have 2^18 slots, and an array made at that size up front cost start-up 50 ms (as did
   * a list of every free slot), for a job that may never use more than a few.
   */
  readonly slotOwner: (TaskEntry | undefined)[] = [];
  /** Slots taken and released since, taken again first (last released first), before any never-used slot. */
  private readonly released: number[] = [];
  /**
   * One past the highest slot ever taken. Scans for the slots in use (an actor's death, a worker's exit, the
   * dashboard) stop here; slots above it were never used.
   */
  slotsTouched = 0;
  /** Tasks waiting for a free slot, oldest first (a queue: shift() on a big array is linear). */
  readonly backlog = new Backlog<TaskEntry>();
  private backlogDrainScheduled = false;
  /** Armed tasks whose arguments are ready, waiting for resources beyond one CPU (see drainAdmissions). */
  readonly admitWaiting: TaskEntry[] = [];

  constructor(private readonly d: TaskDispatcherDeps) {}

  /** Slots free now: those released plus those never used. */
  get freeSlotCount(): number {
    return this.released.length + this.d.core.plan.taskSlots - this.slotsTouched;
  }

  /** Whether no slot holds a task (or a tombstone). */
  get noSlotInUse(): boolean {
    return this.released.length === this.slotsTouched;
  }

  /** Writes a task into a free slot of the core and arms it on its arguments (or queues it for a slot). */
  dispatch(entry: TaskEntry, rebuilding = false): void {
    if (entry.kind === "actor-create" || entry.kind === "actor-method") return this.d.actors.dispatchActorTask(entry);
    // An attempt the driver already ended (cancelled or timed out while it ran, or done but its record not taken
    // yet) holds its slot until its thread reports it: that report must not end the run starting now (a rebuild).
    const earlier = entry.slot;
    if (earlier !== NO_SLOT && this.slotOwner[earlier] === entry) {
      this.tombstone(earlier, -1, entry.admitted ? entry.options.resources : undefined);
      entry.admitted = false;
    }
    if (this.d.cluster?.placeTask(entry)) return; // it runs on another node of the cluster
    const slot = this.takeSlot(entry);
    if (slot === NO_SLOT) { this.toBacklog(entry); return; }
    const ex = this.d.core.exports;
    const needsAdmission = !isDefaultResources(entry.options.resources);
    this.d.core.setTaskField(slot, L.TASK_TARGET, needsAdmission ? L.TARGET_ADMIT : L.TARGET_READY);
    const scratch = this.d.core.plan.scratch;
    let n = 0;
    for (const d of entry.deps) {
      if (this.d.cluster) this.d.cluster.objects.wantLocally(d);
      let e = ex.objFind(idLo(d), idHi(d));
      if (e === 0 || ex.objState(e) === L.OBJ_LOST) {
        try {
          e = this.d.recovery.recover(d);
        } catch (error) {
          // An argument that cannot come back (a lost put, released lineage): the task fails with its error,
          // as its dependents will; .remote() itself never throws for it. A rebuild stopped this way is a
          // ReconstructionError whose cause is what stopped it.
          this.releaseSlot(slot);
          this.d.tasks.sealError(entry, rebuilding ? reconstructionFailure(entry, d, error as Error) : error as Error);
          this.d.tasks.finishTask(entry, "failed", -1);
          return;
        }
      }
      const failed = this.d.tasks.failedArgument(d, e);
      if (failed) {
        // Its argument failed already: the task fails with the same error here, never reaching a worker.
        this.releaseSlot(slot);
        this.d.tasks.sealError(entry, failed);
        this.d.tasks.finishTask(entry, "failed", -1);
        return;
      }
      this.d.i32[(scratch >> 2) + n++] = e;
    }
    const edges = n ? ex.arenaAlloc(n * L.EDGE_BYTES) : 0;
    this.d.core.setTaskField(slot, L.TASK_EDGES, edges);
    entry.state = "pending";
    if (ex.taskArm(slot, scratch, n)) this.d.parkWake.notifyWorkers(1);
    if (needsAdmission) this.drainAdmissions();
  }

  /** Claims a slot and writes the fixed part and the payload; NO_SLOT when the core is full for now. */
  takeSlot(entry: TaskEntry): number {
    if (this.released.length === 0 && this.slotsTouched === this.d.core.plan.taskSlots) return NO_SLOT;
    const header = this.headerFor(entry);
    const argsAt = PAYLOAD_PREFIX + Math.ceil(header.length / 8) * 8;
    const at = this.d.core.exports.arenaAlloc(argsAt + entry.payload.length);
    if (at === 0) return NO_SLOT;
    let slot = this.released.pop();
    if (slot === undefined) {
      slot = this.slotsTouched++;
      this.slotOwner.push(undefined);
    }
    const u8 = this.d.core.u8;
    u8[at] = header.length & 0xff; u8[at + 1] = header.length >>> 8 & 0xff; u8[at + 2] = header.length >>> 16 & 0xff; u8[at + 3] = 0;
    u8.set(header, at + PAYLOAD_PREFIX);
    this.d.core.u8.set(entry.payload, at + argsAt);
    const c = this.d.core;
    c.setTaskField(slot, L.TASK_ID_LO, idLo(entry.id));
    c.setTaskField(slot, L.TASK_ID_HI, idHi(entry.id));
    c.setTaskField(slot, L.TASK_PAYLOAD, at);
    c.setTaskField(slot, L.TASK_PAYLOAD_LEN, entry.payload.length);
    c.setTaskField(slot, L.TASK_RETURNS, entry.options.numReturns);
    c.setTaskField(slot, L.TASK_ATTEMPT, entry.attempts);
    c.setTaskField(slot, L.TASK_RUN, entry.run);
    c.setTaskField(slot, L.TASK_OUTCOME, L.OUTCOME_NONE);
    c.setTaskField(slot, L.TASK_EDGES, 0);
    c.setTaskField(slot, L.TASK_GENERATION, c.taskField(slot, L.TASK_GENERATION) + 1);
    this.slotOwner[slot] = entry;
    entry.slot = slot;
    if (entry.options.timeoutMs !== undefined && !entry.replay) this.d.tasks.watchTimeout(entry, slot);
    this.d.parkWake.listenForReports();
    return slot;
  }

  /**
   * Leaves `slot` to the attempt that holds it, owned by no task: its report (done or skipped) only frees it. A
   * dead thread never reports: the death of `worker` frees it (an actor's thread, which holds its calls queued or
   * running); with -1, the death of the thread it is RUNNING on (a task's slot: one DONE is reported anyway).
   */
  tombstone(slot: number, worker: number, resources?: Resources): void {
    const owner = this.slotOwner[slot];
    if (owner && owner.slot === slot) owner.slot = NO_SLOT;
    const stone: Tombstone = { tombstone: worker, resources, actorId: undefined, kind: "put", slot };
    this.slotOwner[slot] = stone as unknown as TaskEntry;
  }

  /** The tombstone in `slot`, if that is what holds it. */
  tombstoneAt(slot: number): Tombstone | undefined {
    const owner = this.slotOwner[slot] as Partial<Tombstone> | undefined;
    return owner?.tombstone === undefined ? undefined : owner as Tombstone;
  }

  /** Frees a tombstone's slot, and the resources its attempt was admitted with (held until it stopped). */
  releaseTombstone(slot: number): void {
    const held = this.tombstoneAt(slot)?.resources;
    if (held) this.d.resources.releaseResources(held);
    this.releaseSlot(slot);
  }

  /** Frees the tombstones a dead thread will never report (see tombstone). */
  releaseTombstonesOf(worker: number): void {
    for (let slot = 0; slot < this.slotsTouched; slot++) {
      const stone = this.tombstoneAt(slot);
      if (stone === undefined) continue;
      const running = this.d.core.taskField(slot, L.TASK_STATE) === L.TASK_RUNNING && this.d.core.taskField(slot, L.TASK_WORKER) === worker;
      if (stone.tombstone === worker || (stone.tombstone === -1 && running)) this.releaseTombstone(slot);
    }
  }

  /** The JSON header of a slot payload; the same for every call of one function with one set of options. */
  private headerFor(entry: TaskEntry): Buffer {
    const cached = this.headers.get(entry.fnId);
    if (cached && cached.options === entry.options && cached.name === entry.name && cached.method === entry.method) return cached.bytes;
    const bytes = Buffer.from(JSON.stringify({
      f: entry.fnId, n: entry.name, x: entry.options.retryExceptions, m: entry.options.maxRetries, am: entry.method,
      g: entry.options.streaming,
    }));
    this.headers.set(entry.fnId, { options: entry.options, name: entry.name, method: entry.method, bytes });
    return bytes;
  }

  private readonly headers = new Map<number, { options: ResolvedTaskOptions; name: string; method?: string; bytes: Buffer }>();

  releaseSlot(slot: number): void {
    const ex = this.d.core.exports;
    const payload = this.d.core.taskField(slot, L.TASK_PAYLOAD);
    if (payload) ex.arenaFree(payload);
    const edges = this.d.core.taskField(slot, L.TASK_EDGES);
    if (edges) ex.arenaFree(edges);
    this.d.core.setTaskField(slot, L.TASK_PAYLOAD, 0);
    this.d.core.setTaskField(slot, L.TASK_EDGES, 0);
    Atomics.store(this.d.i32, (this.d.core.plan.taskTable + slot * L.TASK_BYTES + L.TASK_STATE) >> 2, L.TASK_FREE);
    const owner = this.slotOwner[slot];
    if (owner && owner.slot === slot) owner.slot = NO_SLOT;
    this.slotOwner[slot] = undefined;
    this.released.push(slot);
    this.drainBacklog();
  }

  /**
   * Starts waiting tasks, oldest first, while slots and arena space last. It stops at the first whose payload
   * still does not fit (dispatching it again would only put it back, forever) and resumes when a slot or an
   * object frees space. With no task running, nothing else can free arena space soon: a payload that fits the
   * arena's free bytes but none of its free blocks then fails with ObjectStoreFullError instead of waiting.
   */
  private drainBacklog(): void {
    // Not re-entered: a dispatch can end tasks (a lost argument fails one; parking drained the done queue) and so
    // free slots; the loop running now takes those slots too. A nested drain under it shifted entries the outer
    // loop then took for its own, and put back an undefined one.
    if (this.drainingBacklog) return;
    this.drainingBacklog = true;
    try {
      this.drainBacklogNow();
    } finally {
      this.drainingBacklog = false;
    }
  }

  private drainingBacklog = false;
  /** The entry toBacklog queued last (see drainBacklogNow). */
  private lastBacklogged: TaskEntry | undefined;
  /** Queues a task that found no slot or no arena block; with no slot in use, nothing else would look again. */
  toBacklog(entry: TaskEntry): void {
    this.lastBacklogged = entry;
    this.backlog.push(entry);
    if (!this.drainingBacklog && this.noSlotInUse) this.scheduleBacklogDrain();
  }

  /** One drain of the backlog on a later turn, however many frees and submissions ask for it meanwhile. */
  scheduleBacklogDrain(): void {
    if (this.backlogDrainScheduled) return;
    this.backlogDrainScheduled = true;
    setImmediate(() => { this.backlogDrainScheduled = false; if (!this.d.closed) this.drainBacklog(); });
  }

  private drainBacklogNow(): void {
    while (this.backlog.length && this.freeSlotCount) {
      const entry = this.backlog.shift()!;
      this.lastBacklogged = undefined;
      this.dispatch(entry);
      // Started, or failed: go on. (Its dispatch may have queued others, say an argument's rebuild; they wait.)
      if (this.lastBacklogged !== entry) continue;
      const tail = this.backlog.pop(); // entry, queued last by its dispatch
      if (tail !== entry) { if (tail !== undefined) this.backlog.push(tail); this.backlog.remove(entry); }
      this.backlog.unshift(entry);
      if (!this.noSlotInUse || !this.failUnplaceable(this.backlog.shift()!)) break;
    }
  }

  /** A task whose payload no free arena block can take while nothing runs: fails it (true), or puts it back. */
  private failUnplaceable(entry: TaskEntry): boolean {
    const need = PAYLOAD_PREFIX + Math.ceil(this.headerFor(entry).length / 8) * 8 + entry.payload.length;
    const arenaBytes = this.d.core.plan.arenaEnd - this.d.core.plan.arenaStart;
    const free = arenaBytes - this.d.core.exports.arenaUsed();
    const largest = 2 ** L.ARENA_MAX_SHIFT - L.BLOCK_HEADER;
    if (need <= largest && free < 2 * need) {
      // The arena is full of live objects: space comes back as they are freed (see freeObject).
      this.backlog.unshift(entry);
      return false;
    }
    this.d.tasks.sealError(entry, new ObjectStoreFullError(need > largest
      ? `task ${entry.name} (${formatTaskId(entry.id)}): its arguments encode to ${need} bytes, more than the arena's largest block (${largest}); pass big values as put() refs`
      : `task ${entry.name} (${formatTaskId(entry.id)}): no free arena block takes its ${need}-byte payload (${free} of ${arenaBytes} arena bytes are free, in smaller blocks)`));
    this.d.tasks.finishTask(entry, "failed", -1);
    return true;
  }

  /**
   * A running task lends its admitted resources while a top-level argument lost after its admission is rebuilt:
   * the rebuild may need them (say the only `gpu`), and would otherwise wait for the task that waits for it.
   */
  lend(entry: TaskEntry | undefined, run: number): void {
    if (!entry || entry.run !== run || !entry.admitted) return;
    this.d.resources.releaseResources(entry.options.resources);
    entry.admitted = false;
    entry.lentRun = run;
    this.drainAdmissions();
  }

  /** Its arguments are back: the task resumes once it holds its resources again (a task that lent none, at once). */
  takeBack(taskId: TaskId, run: number, worker: number): void {
    const entry = this.d.tasks.get(taskId);
    if (entry?.lentRun === run) {
      entry.lentRun = undefined;
      this.takingBack.push({ entry, run, worker });
      this.drainAdmissions();
      return;
    }
    this.d.transport.post(worker, { t: "resume", taskId });
  }

  /** Tasks that lent their resources and wait to hold them again before their function runs (see lend). */
  private readonly takingBack: Array<{ entry: TaskEntry; run: number; worker: number }> = [];

  /** Tasks with resources beyond one CPU start only when those resources are free. */
  drainAdmissions(): void {
    // Tasks taking back what they lent come first: they are already running.
    for (let i = 0; i < this.takingBack.length; i++) {
      const { entry, run, worker } = this.takingBack[i];
      // A run that was cancelled, failed or replaced meanwhile (its worker died) takes nothing back.
      const live = entry.run === run && (entry.state === "pending" || entry.state === "running");
      if (live && !this.d.resources.fits(entry.options.resources)) continue;
      this.takingBack.splice(i--, 1);
      if (live) {
        this.d.resources.acquire(entry.options.resources);
        entry.admitted = true;
      }
      this.d.transport.post(worker, { t: "resume", taskId: entry.id });
    }
    if (this.d.actors.actorsAwaitingResources.length) this.d.actors.admitActors();
    const ex = this.d.core.exports;
    for (let slot = ex.admitPop(); slot >= 0; slot = ex.admitPop()) {
      const entry = this.slotOwner[slot];
      if (!entry) continue;
      // Cancelled while it waited for its arguments: nobody will run it, so its slot is free now.
      if (entry.state === "cancelled") this.releaseSlot(slot);
      else this.admitWaiting.push(entry);
    }
    for (let i = 0; i < this.admitWaiting.length; i++) {
      const entry = this.admitWaiting[i];
      if (!this.d.resources.fits(entry.options.resources)) continue;
      this.admitWaiting.splice(i--, 1);
      this.d.resources.acquire(entry.options.resources);
      entry.admitted = true;
      ex.queuePush(this.d.core.plan.readyQueue, entry.slot);
      Atomics.add(this.d.i32, Core.ctl(L.CTL_READY_SEQ), 1);
      this.d.parkWake.notifyWorkers(1);
    }
  }

  busyWorker(): number {
    for (let slot = 0; slot < this.slotsTouched; slot++) {
      if (this.slotOwner[slot] && this.d.core.taskField(slot, L.TASK_STATE) === L.TASK_RUNNING) {
        const w = this.d.core.taskField(slot, L.TASK_WORKER);
        if (w >= 0) return w;
      }
    }
    return 0;
  }
}
