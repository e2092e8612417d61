// The task table: specs (kept as lineage while their results may be needed), states, attempts and retries,
// timeouts, cancellation, and lineage pinning (a task is forgotten when nothing can need it). Where a task
// runs is the dispatcher's; how a lost object comes back is the recovery manager's.
import * as L from "../../core-wasm/shared/layout.js";
import { TaskCancelledError, TaskTimeoutError, ReconstructionError, releaseCallSites } from "../errors.js";
import { objectIdOf, taskIdOfObject, isActorHandleObject, idLo, idHi, formatTaskId, DRIVER_TASK_ID, type ObjectId, type TaskId } from "../ids.js";
import { ObjectRef } from "../refs.js";
import type { ResolvedTaskOptions } from "../options.js";
import { IdTable } from "../runtime/id-table.js";
import { TaskTimeouts, type TimeoutHost } from "./task-timeouts.js";
import type { DriverContext } from "../runtime/driver-context.js";
import { NONE, NO_SLOT, TaskEntry, type TaskKind } from "./task-entry.js";

/** What TaskManager reaches in the driver: its arrows in engine/README.md. */
export type TaskManagerDeps = Pick<DriverContext, "streams" | "actors" | "args" | "closed" | "core" | "dispatcher" | "events" | "faults" | "graph" | "immutability" | "objects" | "parkWake" | "reader" | "refs" | "resources" | "runtime" | "startTime" | "store" | "transport" | "waiters" | "cluster">;

export class TaskManager {
  readonly tasks = new IdTable<TaskEntry>();
  /** Counts the driver's own submissions and puts: their task ids are childTaskId(DRIVER_TASK_ID, n). */
  driverChildren = 0;

  constructor(private readonly d: TaskManagerDeps) {
    this.timeouts = new TaskTimeouts(d.core, this.timeoutHost());
  }

  get(id: TaskId): TaskEntry | undefined { return this.tasks.get(id); }
  get size(): number { return this.tasks.size; }

  returnRefs(entry: TaskEntry): ObjectRef | ObjectRef[] {
    const n = entry.options.numReturns;
    if (n === 1) return new ObjectRef(objectIdOf(entry.id, 0), this.d.runtime);
    return Array.from({ length: n }, (_, i) => new ObjectRef(objectIdOf(entry.id, i), this.d.runtime));
  }

  newTask(
    id: TaskId, parentId: TaskId, kind: TaskKind, fnId: number, name: string, payload: Uint8Array,
    deps: ObjectId[], nested: ObjectId[], options: ResolvedTaskOptions,
  ): TaskEntry {
    const entry = new TaskEntry(id, kind, fnId, name, payload, deps, options);
    entry.parentId = parentId;
    if (nested.length > 0) entry.nestedRefs = nested; // an empty list may be another frozen one than NONE
    this.tasks.set(id, entry);
    // Lineage: the producers of its arguments stay known while this task may be rebuilt; put arguments, which
    // cannot be rebuilt, are held. A plain task's nested refs too (its rebuild reads them again). An actor call's
    // nested refs are not pinned: they are borrowed by the actor (held while it keeps them, then freed), and a
    // call stays in the actor's log for the actor's life, which would hold them as long.
    for (const d of nested.length && kind === "task" ? deps.concat(nested) : deps) {
      if (isActorHandleObject(d)) continue; // an actor handle: held below, no lineage (nothing rebuilds an actor)
      const producer = this.tasks.get(this.d.streams.producerOf(d));
      if (producer && producer !== entry) {
        producer.lineageRefs++;
        if (entry.lineageParents === NONE) entry.lineageParents = [];
        entry.lineageParents.push(producer.id);
      } else if (this.d.objects.get(d)?.isPut) {
        this.d.refs.incRef(d);
        if (entry.heldPuts === NONE) entry.heldPuts = [];
        entry.heldPuts.push(d);
      }
    }
    // An actor handle passed to an actor's method may stay in its state, which a restart rebuilds by replaying
    // the call: held until the call is forgotten (it leaves the actor's log), not only while it runs.
    if (kind === "actor-method") for (const d of nested) if (isActorHandleObject(d)) { this.d.refs.incRef(d); (entry.heldPuts === NONE ? (entry.heldPuts = []) : entry.heldPuts).push(d); }
    for (let i = 0; i < options.numReturns; i++) this.d.objects.registerObject(objectIdOf(id, i), false);
    // The task holds its arguments until it finishes.
    for (const d of deps) this.d.refs.incRef(d);
    for (const d of nested) this.d.refs.incRef(d);
    entry.node = this.d.graph.recordNode(id, name, kind, "pending", 0);
    if (parentId !== DRIVER_TASK_ID) this.d.graph.recordEdge(parentId, id, 1);
    for (const d of deps) {
      const producer = this.d.streams.producerOf(d);
      if (this.tasks.get(producer)?.kind !== "put") this.d.graph.recordEdge(producer, id, 0);
    }
    this.d.parkWake.inFlight++;
    this.d.parkWake.updateKeepAlive();
    if (this.d.events.listening("task:submitted")) this.d.events.emit("task:submitted", { taskId: formatTaskId(id), name });
    return entry;
  }

  watchTimeout(entry: TaskEntry, slot: number): void {
    const token = {};
    entry.watch = token;
    this.timeouts.watch(entry, slot, entry.options.timeoutMs!, token);
  }

  readonly timeouts: TaskTimeouts<TaskEntry>;

  timeoutHost(): TimeoutHost<TaskEntry> {
    return {
      holds: (entry, slot, generation, token) => entry.watch === token && this.d.dispatcher.slotOwner[slot] === entry &&
        this.d.core.taskField(slot, L.TASK_GENERATION) === generation && !this.d.closed,
      expire: (entry, _slot, worker) => this.expireAttempt(entry, worker),
      graceOver: (entry, _slot, worker) => {
        if (entry.kind === "actor-method") this.d.actors.killActor(entry.actorId!, false, `its call ${entry.name} ran past its timeoutMs`);
        else void this.d.faults.killWorker(worker);
      },
    };
  }

  /**
   * An attempt ran longer than its timeoutMs: its code is told (its signal aborts, its CPU slot is freed), and
   * its ref rejects with TaskTimeoutError, or with retryExceptions it runs again once this attempt ends.
   */
  private expireAttempt(entry: TaskEntry, worker: number): void {
    const timeoutMs = entry.options.timeoutMs!;
    const abort = { t: "abort" as const, taskId: entry.id, timeoutMs };
    const limit = entry.options.maxRetries;
    if (entry.options.retryExceptions && (limit === -1 || entry.attempts < limit)) {
      entry.timedOut = true;
      this.d.transport.post(worker, abort);
      return;
    }
    // Sealed before the worker hears of it: told first, the task may return and seal its value within
    // microseconds, on its own thread, while this one is still here.
    this.sealError(entry, new TaskTimeoutError(`task ${entry.name} (${formatTaskId(entry.id)}) ran longer than its timeoutMs (${timeoutMs} ms)`,
      { taskId: formatTaskId(entry.id), functionName: entry.name, timeoutMs }));
    this.finishTask(entry, "failed", worker);
    this.d.transport.post(worker, abort);
    // Never replayed: a restarted actor must not run the call that overstayed again.
    const actor = entry.kind === "actor-method" ? this.d.actors.get(entry.actorId!) : undefined;
    if (actor) actor.log = actor.log.filter((call) => call !== entry);
  }

  onTaskDone(slot: number): void {
    const entry = this.d.dispatcher.slotOwner[slot];
    const outcome = this.d.core.taskField(slot, L.TASK_OUTCOME);
    const worker = this.d.core.taskField(slot, L.TASK_WORKER);
    if (!entry) return;
    if (this.d.dispatcher.tombstoneAt(slot)) { this.d.dispatcher.releaseTombstone(slot); return; }
    // Workers stamp starts on the driver's clock (clock.ts), rounded to 10 µs: a start can round past the
    // driver's now by a few µs, so it is capped there.
    const now = performance.now() - this.d.startTime; // one clock read per task: finishTask takes it too
    const started = Math.min(this.d.core.taskField(slot, L.TASK_STARTED) / 100, now);
    if (entry.node !== undefined && outcome !== L.OUTCOME_SKIPPED) {
      this.d.graph.started(entry.node, started, worker);
      // Workers take tasks from shared memory without telling the driver; the start is reported with the end.
      if (this.d.events.listening("task:started")) this.d.events.emit("task:started", { taskId: formatTaskId(entry.id), name: entry.name, worker, time: started });
    }
    if (entry.admitted) { this.d.resources.releaseResources(entry.options.resources); entry.admitted = false; }
    this.d.dispatcher.releaseSlot(slot);
    if (outcome === L.OUTCOME_SKIPPED) return;
    if (entry.timedOut) {
      // It returned within the grace period: a value stands; anything else is the timed-out attempt, retried.
      entry.timedOut = false;
      if (outcome !== L.OUTCOME_OK && entry.state !== "cancelled") {
        entry.attempts++;
        entry.run = entry.runs++;
        this.d.events.emit("task:retried", { taskId: formatTaskId(entry.id), name: entry.name, attempt: entry.attempts, reason: "timeout" });
        this.d.dispatcher.dispatch(entry);
        return;
      }
    }
    if (outcome === L.OUTCOME_RETRY && entry.state !== "cancelled") {
      entry.attempts++;
      entry.run = entry.runs++;
      this.d.events.emit("task:retried", { taskId: formatTaskId(entry.id), name: entry.name, attempt: entry.attempts, reason: "exception" });
      this.d.dispatcher.dispatch(entry);
      return;
    }
    if (entry.replay) { entry.replay = false; return; }
    this.finishTask(entry, outcome === L.OUTCOME_OK ? "finished" : "failed", worker, now);
  }

  /** `now`: ms since the runtime started, when the caller has just read the clock. */
  finishTask(entry: TaskEntry, state: "finished" | "failed" | "cancelled", worker: number, now = performance.now() - this.d.startTime): void {
    if (entry.state === "finished" || entry.state === "failed" || entry.state === "cancelled") {
      for (let i = 0; i < entry.options.numReturns; i++) this.d.waiters.onSealed(objectIdOf(entry.id, i));
      return;
    }
    entry.state = state;
    this.d.cluster?.taskEnded(entry);
    // An actor whose handles went while it was busy ends when it is idle: after its last call, or its
    // constructor when it had no calls (made and dropped at once).
    if (entry.kind === "actor-method" && !entry.replay || entry.kind === "actor-create") {
      const actor = this.d.actors.get(entry.actorId!);
      if (actor?.terminateWhenIdle) queueMicrotask(() => this.d.actors.terminateIfIdle(actor));
    }
    if (this.d.immutability && entry.deps.length > 0) {
      this.d.immutability.readByTask(entry.deps, `${entry.name} (${formatTaskId(entry.id)})`, (id) => this.d.store.segments.get(id));
    }
    if (entry.node !== undefined) this.d.graph.ended(entry.node, state, now, worker, entry.attempts + (state === "cancelled" ? 0 : 1));
    this.d.parkWake.inFlight--;
    this.d.parkWake.updateKeepAlive();
    for (const d of entry.deps) this.d.refs.decRef(d);
    for (const d of entry.nestedRefs) if (entry.kind !== "actor-create") this.d.refs.decRef(d);
    for (const d of entry.ownedPuts) for (let w = 0; w < this.d.refs.workerPuts.length; w++) this.d.refs.releaseWorkerPut(w, d);
    entry.ownedPuts = NONE;
    if (state === "failed") this.d.events.emit("task:failed", { taskId: formatTaskId(entry.id), name: entry.name, worker });
    else if (state === "finished" && this.d.events.listening("task:finished")) {
      this.d.events.emit("task:finished", { taskId: formatTaskId(entry.id), name: entry.name, worker, time: now });
    } else if (state === "cancelled") {
      this.d.events.emit("task:cancelled", { taskId: formatTaskId(entry.id), name: entry.name, worker, time: now });
    }
    for (let i = 0; i < entry.options.numReturns; i++) this.d.waiters.onSealed(objectIdOf(entry.id, i));
    if (entry.reopenedYields) this.failUnyielded(entry, state);
    const afterRun = entry.afterRun;
    if (afterRun) { entry.afterRun = undefined; for (const f of afterRun) queueMicrotask(f); }
  }

  /**
   * A generator's run that was to make lost yields again has ended: those it did not make (its rebuild failed,
   * was cancelled, or yielded fewer this time) get a ReconstructionError, so their readers do not wait forever.
   */
  private failUnyielded(entry: TaskEntry, state: "finished" | "failed" | "cancelled"): void {
    const ex = this.d.core.exports;
    const yields = entry.reopenedYields!;
    entry.reopenedYields = undefined;
    let released = 0;
    for (const id of yields) {
      const o = this.d.objects.get(id);
      if (!o || o.entry === 0 || ex.objState(o.entry) !== L.OBJ_PENDING) continue;
      const why = state === "finished" ? "ended without yielding it again" : state === "cancelled" ? "was cancelled" : "failed";
      const error = new ReconstructionError(`object ${id}, yielded by ${entry.name} (${formatTaskId(entry.id)}), is lost and its generator's re-execution ${why}`,
        entry.failure && state !== "finished" ? { cause: entry.failure } : undefined);
      released += this.d.objects.seal(o, this.d.store.writeError(id, error));
      this.d.waiters.onSealed(id);
    }
    this.d.parkWake.notifyWorkers(released);
  }

  /** Drops one lineage reference; a task nothing can need any more is forgotten, and so, in turn, its producers. */
  releaseLineage(task: TaskEntry | undefined): void {
    if (!task || --task.lineageRefs > 0) return;
    if (task.state === "pending" || task.state === "running") return;
    if (task.kind === "actor-create" && this.d.actors.get(task.actorId!)?.create === task) return; // a restart runs it again
    if (task.kind === "actor-method" && this.replayable(task)) return; // a restart or a rebuild replays it
    this.forgetTask(task);
  }

  /** Removes a settled task nothing needs: its producers' lineage and the puts it held are released in turn. */
  private forgetTask(task: TaskEntry): void {
    if (this.tasks.get(task.id) !== task) return;
    this.tasks.delete(task.id);
    this.d.streams.forgetProducer(task.id);
    if (task.sharedKey !== undefined && this.d.args.sharedBuffers.delete(task.sharedKey)) {
      this.d.transport.broadcast({ t: "shared-drop", key: task.sharedKey });
    }
    for (const p of task.lineageParents) this.releaseLineage(this.tasks.get(p));
    for (const d of task.heldPuts) this.d.refs.decRef(d);
    task.heldPuts = NONE;
  }

  /** An actor call its live actor may still replay: made after the actor's last checkpoint. */
  private replayable(call: TaskEntry): boolean {
    const actor = this.d.actors.get(call.actorId!);
    return actor !== undefined && actor.state === "alive" && (call.seq === undefined || call.seq > (actor.checkpoint?.seq ?? 0));
  }

  /** Actor calls and constructors are forgotten once their actor no longer needs them and nothing reads them. */
  forgetIfUnneeded(task: TaskEntry): void {
    if (task.lineageRefs <= 0 && task.state !== "pending" && task.state !== "running") this.forgetTask(task);
  }

  /**
   * Cancels a task: one not started never runs; a running one has its signal aborted (force: its worker dies).
   * With `onlyIfQueued`, a task that may have started (taken by a worker, admitted, or lending what it was
   * admitted with) is left alone. Returns whether the task was cancelled now.
   */
  cancelTask(taskId: TaskId, force: boolean, onlyIfQueued = false): boolean {
    const entry = this.tasks.get(taskId);
    if (entry?.state === "cancelled" && force && !onlyIfQueued) {
      // Cancelled before without force and still running (its code may never settle): force kills its worker now.
      const slot = entry.slot;
      if (slot !== NO_SLOT && this.d.dispatcher.slotOwner[slot] === entry && this.d.core.taskField(slot, L.TASK_STATE) === L.TASK_RUNNING) {
        void this.d.faults.killWorker(this.d.core.taskField(slot, L.TASK_WORKER));
      }
      return false;
    }
    if (!entry || entry.state === "finished" || entry.state === "failed" || entry.state === "cancelled") return false;
    if (onlyIfQueued && (entry.state !== "pending" || entry.admitted || entry.lentRun !== undefined)) return false;
    const error = new TaskCancelledError(`task ${entry.name} (${formatTaskId(taskId)}) was cancelled`);
    const slot = entry.slot;
    if (slot !== NO_SLOT) {
      const ex = this.d.core.exports;
      // Atomic against the workers: a task still pending or ready is never taken once it reads cancelled.
      const prev = ex.taskCasState(slot, L.TASK_PENDING, L.TASK_CANCELLED);
      const prev2 = prev === L.TASK_PENDING ? prev : ex.taskCasState(slot, L.TASK_READY, L.TASK_CANCELLED);
      if (onlyIfQueued && prev2 !== L.TASK_PENDING && prev2 !== L.TASK_READY) return false;
      if (prev2 === L.TASK_RUNNING) {
        const worker = this.d.core.taskField(slot, L.TASK_WORKER);
        // Seal the cancellation first: the aborted task may finish within microseconds of the signal.
        this.sealError(entry, error);
        this.finishTask(entry, "cancelled", worker);
        if (force) this.d.faults.killWorker(worker);
        else this.d.transport.post(worker, { t: "abort", taskId }); // it may still finish; its ref rejects anyway, as in Ray
        return true;
      }
    } else {
      this.d.dispatcher.backlog.remove(entry);
      this.d.cluster?.cancelled(entry, force); // running on another node: cancelled there too
    }
    this.sealError(entry, error);
    this.finishTask(entry, "cancelled", -1);
    // Waiting for resources (perhaps ones no node offers): it never starts, so its slot is free now.
    const waiting = this.d.dispatcher.admitWaiting.indexOf(entry);
    if (waiting >= 0) {
      this.d.dispatcher.admitWaiting.splice(waiting, 1);
      this.d.dispatcher.releaseSlot(slot);
    }
    return true;
  }

  /** "finished" or "failed" when every return of `entry` is sealed in the core (a value or an error), else undefined. */
  returnsSealed(entry: TaskEntry): "finished" | "failed" | undefined {
    const ex = this.d.core.exports;
    let failed = false;
    for (let i = 0; i < entry.options.numReturns; i++) {
      const id = objectIdOf(entry.id, i);
      const e = ex.objFind(idLo(id), idHi(id));
      if (e === 0) return undefined;
      const state = ex.objState(e);
      if (state !== L.OBJ_SEALED && state !== L.OBJ_SPILLED) return undefined;
      if (ex.objFlags(e) & L.FLAG_ERROR) failed = true;
    }
    return failed ? "failed" : "finished";
  }

  /**
   * The error that argument `id` (core entry `entry`) was sealed with, or undefined when it holds a value or is not
   * sealed here yet. A task with a failed argument fails with that error without being dispatched, as in Ray: it
   * could do nothing else, and a worker lost while it held it must not turn the answer into a crash.
   */
  failedArgument(id: ObjectId, entry: number): Error | undefined {
    const ex = this.d.core.exports;
    if (ex.objState(entry) !== L.OBJ_SEALED || !(ex.objFlags(entry) & L.FLAG_ERROR)) return undefined;
    return this.d.store.read(id, entry, this.d.reader.hooks).error;
  }

  /** The driver seals a task's returns with an error (cancelled, crashed, actor died). */
  sealError(entry: TaskEntry, error: Error): void {
    // Kept on the row (a rebuild's cause): its stack is formatted first, even when no return takes it below.
    entry.failure = releaseCallSites(error);
    const ex = this.d.core.exports;
    let released = 0;
    for (let i = 0; i < entry.options.numReturns; i++) {
      const id = objectIdOf(entry.id, i);
      const o = this.d.objects.registerObject(id, false);
      if (ex.objState(o.entry) === L.OBJ_SEALED) continue;
      const where = this.d.store.writeError(id, error);
      released += this.d.objects.seal(o, where);
      // A segment its worker announced before this seal won (a cancelled task still finishing) is no object's.
      const announced = this.d.store.segments.get(id);
      if (announced && !(ex.objFlags(o.entry) & L.FLAG_SEGMENT)) this.d.objects.segmentLost(id, announced);
    }
    this.d.parkWake.notifyWorkers(released);
  }
}
