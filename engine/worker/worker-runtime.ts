// A worker's side of Loom: takes tasks from the core's ready queue, resolves their arguments from the shared
// store, runs them, seals their results (which releases dependents right here, without the driver), and
// reports to the driver through the done queue. Also the API that current() returns inside tasks, and the
// host of the actors placed on this thread.
import { encodeArgs, type EncodedArgs } from "../serialization/arg-codec.js";
import type { MessagePort } from "node:worker_threads";
import * as L from "../../core-wasm/shared/layout.js";
import { Core, type CoreHandle } from "../wasm/core.js";
import { ObjectStore } from "../object-store/object-store.js";
import { encodeValue, decodeValue, writeEncoded, type DecodeHooks, type EncodedValue } from "../serialization/value-codec.js";
import { fromWire, taskErrorFrom, toWire, LoomError, TaskTimeoutError, type WireError, ActorDiedError } from "../errors.js";
import {
  childTaskId, objectIdOf, taskIdOfObject, idLo, idHi, formatTaskId, type ObjectId, type TaskId, type ActorId,
} from "../ids.js";
import { ObjectRef, isObjectRef, type ActorHandleDescriptor, type RefOwner } from "../refs.js";
import {
  RemoteFunction, makeActorHandle, wrapModule, type Backend, type FunctionDescriptor, type ActorHandle,
} from "../remote.js";
import { checkTaskOptions, type TaskOptions, type ActorOptions } from "../options.js";
import type { DriverToWorker, WorkerToDriver, WireSubmission, SealRecord } from "../transport/messages.js";
import { PortDriverLink, type DriverLink } from "../transport/driver-link.js";
import { FunctionCache, ensureTypeScriptLoader } from "./function-cache.js";
import { taskContext, type TaskContext } from "./task-context.js";
import {
  crashPoint, CRASH_TAKEN, CRASH_RUNNING, CRASH_SEALING, CRASH_SEALED, CRASH_PUTTING, CRASH_CHECKPOINTING,
} from "./crash-points.js";
import { setCurrent } from "../current.js";
import { checkWaitArgs, checkTimeout, checkGetOptions, describeArgument } from "../api-checks.js";
import { withTimeout, waitForReady } from "../wait.js";

/** The spec part of a task payload (the fixed part is in the task slot). */
export interface TaskPayload {
  f: number;          // function id
  a: unknown[];       // arguments; top-level refs are resolved before the call
  n: string;          // function name, for errors
  r: number;          // number of returns
  x: boolean;         // retry on exceptions
  m: number;          // max retries (-1: unlimited)
  am?: string;        // actor method name (actor calls)
}

/** The JSON header of a payload: the same for every call of one function with one set of options. */
type PayloadHeader = Pick<TaskPayload, "f" | "n" | "x" | "m" | "am">;

interface ActorHost {
  actorId: ActorId;
  instance?: Record<string, (...args: unknown[]) => unknown>;
  createError?: WireError;
  mailbox: Array<{ job: () => Promise<void>; exclusive: boolean }>;
  /** Jobs running now (at most maxConcurrency; an exclusive one runs alone). */
  running: number;
  maxConcurrency: number;
  /** An exclusive job (the constructor, a replayed call) runs: nothing starts beside it. */
  exclusive: boolean;
  calls: number;
  checkpointEvery: number;
  dropped: boolean;
}

const BATCH = 64;
/** Longest park of an idle worker before it looks at the queue again (a safety net, not the wake-up path). */
const PARK_TIMEOUT_MS = 50;
/** Longest a fresh thread waits for its module imports before taking tasks: a hung import must not idle it. */
const WARM_LIMIT_MS = 5_000;
/** Finalized refs are gathered this long before one report goes to the driver. */
const DROP_REPORT_MS = 20;

export class WorkerRuntime implements Backend, RefOwner {
  readonly core: Core;
  readonly store: ObjectStore;
  private readonly functions = new FunctionCache();
  private readonly objectWaiters = new Map<ObjectId, Array<{ resolve: () => void; reject: (e: Error) => void }>>();
  private readonly actors = new Map<ActorId, ActorHost>();
  /** Live named actors, as the driver announced them (see current().getActor). */
  private readonly namedActors = new Map<string, ActorHandleDescriptor>();
  private readonly running = new Map<TaskId, TaskContext>();
  private readonly hooks: DecodeHooks;
  /** Tasks holding this thread's CPU slot: a task waiting in get/wait does not hold it. */
  private cpuHeld = 0;
  private parked = false;
  private pumping = false;
  private stopped = false;
  private readonly i32: Int32Array;
  private rootChildren = 0;
  /** Message count when each running slot started (see finish), by slot; -1 when the slot is not running here. */
  private readonly startedPosted: Float64Array;
  private takeStarted(slot: number): number {
    const n = this.startedPosted[slot]!;
    this.startedPosted[slot] = -1;
    return n;
  }

  /** The channel to the driver: control messages both ways (tasks come through the core's queues). */
  readonly link: DriverLink;

  constructor(handle: CoreHandle, readonly index: number, port: MessagePort, capacityBytes: number) {
    this.link = new PortDriverLink(port);
    this.core = Core.attach(handle);
    this.i32 = this.core.i32;
    this.epoch = new Float64Array(this.core.memory.buffer, L.CORE_BASE + L.CTL_EPOCH, 1);
    this.startedPosted = new Float64Array(this.core.plan.taskSlots).fill(-1);
    this.store = new ObjectStore(this.core, capacityBytes);
    this.hooks = {
      ref: (id) => new ObjectRef(id, this),
      actor: (d) => makeActorHandle(this, d),
      shared: (key, index) => this.sharedBuffer(key, index),
    };
    this.link.onMessage((m) => this.onMessage(m));
    setCurrent(this.api);
    thisWorkerIndex = index;
  }

  /**
   * Counts this thread's ObjectRefs to the objects it put and to the results of tasks it submitted: the driver
   * holds each such object for this thread until told that none is left here (or, for a plain task's
   * children, for the parent's lineage). Other refs are held by the driver through task arguments and stored
   * values, so they are not counted (a map miss per decoded ref).
   */
  trackRef(ref: ObjectRef): void {
    const n = this.putRefs.get(ref.id);
    if (n === undefined) {
      // A ref decoded inside an actor call may stay in the actor's state after the call: borrowed, as in Ray.
      if (taskContext.getStore()?.actor !== true) return;
      this.borrow(ref);
      return;
    }
    this.putRefs.set(ref.id, n + 1);
    this.putRefFinalizer.register(ref, ref.id);
  }

  /**
   * Asks the driver to hold `ref`'s object for this thread until no ref to it is left here (the "refs" report).
   * Posted before the call ends, so it reaches the driver before the call's end releases the call's own holds.
   */
  private borrow(ref: ObjectRef): void {
    if (!this.putRefs.has(ref.id)) {
      this.putRefs.set(ref.id, 0);
      this.post({ t: "borrow", id: ref.id });
    }
    this.putRefs.set(ref.id, this.putRefs.get(ref.id)! + 1);
    this.putRefFinalizer.register(ref, ref.id);
  }
  /** Live ObjectRefs in this thread per object it put; an id stays at 0 until the next drop report. */
  private readonly putRefs = new Map<ObjectId, number>();
  private readonly putRefFinalizer = new FinalizationRegistry<ObjectId>((id) => {
    const n = this.putRefs.get(id)! - 1;
    this.putRefs.set(id, n);
    if (n > 0) return;
    this.droppedPuts.push(id);
    if (this.droppedPuts.length === 1) setTimeout(this.reportDroppedPuts, DROP_REPORT_MS);
  });
  private droppedPuts: ObjectId[] = [];
  /**
   * One message per batch. An id that gained a ref again since (a value read back here decoded one) is kept.
   * Sent uncounted: it is not a task's message (see finish), and it follows every message that made another
   * hold on the object (a put containing the ref, a submission passing it), the link being FIFO.
   */
  private readonly reportDroppedPuts = (): void => {
    const drop = this.droppedPuts.filter((id) => this.putRefs.get(id) === 0);
    this.droppedPuts = [];
    for (const id of drop) this.putRefs.delete(id);
    if (drop.length) this.link.send({ t: "refs", drop });
  };

  /**
   * Starts taking tasks once warm. A replacement thread has been sent every known function before it runs
   * (the definitions wait in its port): it reads them now and imports their modules first, so that a retried
   * task does not sit out an import (through tsx: 0.1 to over 1 s) holding this thread's slot, when a warm
   * thread could run it. A failed import is left in the cache, to fail the tasks that use it.
   */
  start(): void {
    this.post({ t: "ready" });
    this.link.drain();
    const warm = this.functions.warmModules();
    if (!warm) { this.pump(); return; }
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => { timer = setTimeout(resolve, WARM_LIMIT_MS); });
    void Promise.race([warm, limit]).then(() => { clearTimeout(timer); this.pump(); });
  }

  /** Counted by the link, so a task that sent any message reports its end by message too, after them. */
  private post(message: WorkerToDriver): void {
    this.link.post(message);
  }

  /**
   * Reports a finished slot. Through the done queue when the task sent no message; otherwise by message, so
   * the driver has seen its puts, segments and submissions before it learns the task ended.
   */
  private finish(slot: number, outcome: number, postedAtStart: number, seals?: SealRecord[]): void {
    const checkpoint = this.checkpointToReport;
    this.checkpointToReport = undefined;
    if (this.link.posted === postedAtStart && !seals?.length && !checkpoint) {
      this.core.exports.taskFinish(slot, outcome);
      this.notifyDriver();
      return;
    }
    // The slot stays RUNNING until the driver reads the message. A thread's messages all reach the driver
    // before its exit event, so a slot still RUNNING on a dead thread is one whose end was never reported and
    // must be retried; marked DONE here, a death between the store and the post left it stuck for good.
    this.core.setTaskField(slot, L.TASK_OUTCOME, outcome);
    this.post(checkpoint ? { t: "done", slot, seals, checkpoint } : { t: "done", slot, seals });
  }
  /** An actor's checkpoint that the next finish() reports with the call it follows (see runActorCall). */
  private checkpointToReport: { actorId: ActorId; seq: number; state: Uint8Array } | undefined;
  /**
   * Set while a checkpointing actor's call completes: its seals go through the driver, after the messages
   * before them, so no result becomes visible before the checkpoint that precedes it is known to the driver.
   */
  private sealsViaDriver = false;

  /** CTL_EPOCH, on a memory that never grows, so the view stays valid. */
  private readonly epoch: Float64Array;
  private markStarted(slot: number): number {
    this.core.setTaskField(slot, L.TASK_STARTED, Math.round((Date.now() - this.epoch[0]!) * 100));
    return this.link.posted;
  }

  // ---- the loop: take ready tasks while this thread's CPU slot is free ----

  private pump = (): void => {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    try {
      let n = 0;
      while (this.cpuHeld === 0 && n < BATCH) {
        const slot = this.core.exports.readyTake(this.index);
        if (slot === -1) break;
        n++;
        if (slot === -2) {
          this.notifyDriver(); // a cancelled task was reported skipped
          continue;
        }
        crashPoint(this.i32, CRASH_TAKEN, this.taskIdOf(slot));
        this.startedPosted[slot] = this.markStarted(slot);
        this.runTask(slot);
      }
      if (this.cpuHeld > 0) return;             // resumes when the slot frees
      if (n === BATCH) { setImmediate(this.pump); return; } // let messages in between batches
      this.park();
    } finally {
      this.pumping = false;
    }
  };

  /** Waits (without blocking the event loop, so actor calls and replies get in) until a task is pushed. */
  private park(): void {
    if (this.parked || this.stopped) return;
    const seqIndex = Core.ctl(L.CTL_READY_SEQ);
    const seq = Atomics.load(this.i32, seqIndex);
    // Re-check after reading the sequence: a push after this point changes it, so the wait returns at once.
    if (this.core.exports.queueLength(this.core.plan.readyQueue) > 0) { setImmediate(this.pump); return; }
    this.parked = true;
    // Counted before waiting so that a pusher that sees zero knows no one needs a notify.
    Atomics.add(this.i32, Core.ctl(L.CTL_IDLE_WORKERS), 1);
    // Bounded, so that a wake-up lost to a race costs a short delay rather than a stalled worker.
    const result = Atomics.waitAsync(this.i32, seqIndex, seq, PARK_TIMEOUT_MS);
    const resume = () => {
      Atomics.sub(this.i32, Core.ctl(L.CTL_IDLE_WORKERS), 1);
      this.parked = false;
      this.pump();
    };
    // park() runs inside pump(): resuming synchronously would find pump() still running and do nothing,
    // leaving the worker neither parked nor pumping. Resume after it returns.
    if (result.async) result.value.then(resume); else queueMicrotask(resume);
  }

  notifyWorkers(released: number): void {
    if (released > 0 && Atomics.load(this.i32, Core.ctl(L.CTL_IDLE_WORKERS)) > 0) {
      Atomics.notify(this.i32, Core.ctl(L.CTL_READY_SEQ), released);
    }
  }

  private notifyDriver(): void {
    if (Atomics.load(this.i32, Core.ctl(L.CTL_DRIVER_PARKED)) !== 0) Atomics.notify(this.i32, Core.ctl(L.CTL_DONE_SEQ));
  }

  // ---- running one task ----

  /** Reads a slot's payload: [header length u32][pad], the JSON header, the encoded arguments (8-aligned). */
  private readPayload(slot: number, borrowNested = false): TaskPayload {
    const at = this.core.taskField(slot, L.TASK_PAYLOAD);
    const u8 = this.core.u8;
    const headerLength = u8[at] | u8[at + 1] << 8 | u8[at + 2] << 16 | u8[at + 3] << 24;
    const h = this.headerAt(at + 8, headerLength);
    const argsAt = at + 8 + Math.ceil(headerLength / 8) * 8;
    let args: unknown[];
    if (!borrowNested) {
      args = decodeValue(u8, argsAt, this.hooks, false) as unknown[];
    } else {
      // An actor call's nested refs may outlive the call in the actor's state: borrowed. Top-level refs become
      // their values before the call, so they are not.
      this.decodedRefs = [];
      args = decodeValue(u8, argsAt, this.collectingHooks, false) as unknown[];
      const decoded = this.decodedRefs;
      this.decodedRefs = [];
      for (const r of decoded) if (!args.includes(r)) this.borrow(r);
    }
    return { f: h.f, a: args, n: h.n, r: this.core.taskField(slot, L.TASK_RETURNS), x: h.x, m: h.m, am: h.am };
  }

  /** Decode hooks that collect the refs they make, untracked (see readPayload); one object for every call. */
  private readonly collectingHooks: DecodeHooks = {
    ref: (id) => { const r = new ObjectRef(id, this, false); this.decodedRefs.push(r); return r; },
    actor: (d) => this.hooks.actor(d),
    shared: (key, index) => this.sharedBuffer(key, index),
  };

  /** SharedArrayBuffers shared with task arguments, by key (see Runtime.encodeArgs). */
  private readonly sharedBuffers = new Map<number, SharedArrayBuffer[]>();
  private sharedBuffer(key: number, index: number): SharedArrayBuffer {
    // Posted before the task was submitted, but tasks come through shared memory: the message may still wait.
    if (!this.sharedBuffers.has(key)) this.link.drainInTask();
    const sab = this.sharedBuffers.get(key)?.[index];
    if (!sab) throw new LoomError(`a task argument names shared buffer ${key}.${index}, which this worker never received`);
    return sab;
  }
  private decodedRefs: ObjectRef[] = [];

  /**
   * The JSON header at `at`, parsed only when its bytes differ from the last header seen for its function:
   * the driver writes the same bytes for every call of one function with one set of options.
   */
  private headerAt(at: number, length: number): PayloadHeader {
    const u8 = this.core.u8;
    // The key is the digits after `{"f":`; a hit is still compared byte for byte, so a wrong key only misses.
    let key = 0;
    for (let i = at + 5, end = at + Math.min(length, 20); i < end; i++) {
      const c = u8[i]!;
      if (c < 0x30 || c > 0x39) break;
      key = key * 10 + c - 0x30;
    }
    const cached = this.headers.get(key);
    if (cached !== undefined && cached.bytes.length === length && sameBytes(u8, at, cached.bytes)) return cached.header;
    const bytes = u8.slice(at, at + length);
    const header = JSON.parse(Buffer.from(bytes.buffer, 0, length).toString("utf8")) as PayloadHeader;
    this.headers.set(key, { bytes, header });
    return header;
  }
  /** The last header decoded per function id (at most one entry per function), never mutated after decoding. */
  private readonly headers = new Map<number, { bytes: Uint8Array; header: PayloadHeader }>();

  private taskIdOf(slot: number): TaskId {
    return (this.core.taskField(slot, L.TASK_ID_HI) * 2 ** 32 + (this.core.taskField(slot, L.TASK_ID_LO) >>> 0)) as TaskId;
  }

  private runTask(slot: number): void {
    const taskId = this.taskIdOf(slot);
    let payload: TaskPayload;
    try {
      payload = this.readPayload(slot);
    } catch (error) {
      this.finishWithError(slot, taskId, 1, toWire(error));
      return;
    }
    const ctx: TaskContext = { taskId, run: this.core.taskField(slot, L.TASK_RUN), nextChild: 0, controller: undefined, functionName: payload.n, cpu: true };
    this.running.set(taskId, ctx);
    this.cpuHeld++;
    const outcome = this.execute(slot, taskId, payload, ctx);
    // No closure on the synchronous path: it is most tasks, and each closure here cost a keepNames wrapper.
    if (outcome instanceof Promise) outcome.then(() => this.taskEnded(ctx), () => this.taskEnded(ctx));
    else this.taskEnded(ctx);
  }

  /** Called once per runTask, when its outcome is reported. */
  private taskEnded(ctx: TaskContext): void {
    this.running.delete(ctx.taskId);
    if (!ctx.cpu) return;
    ctx.cpu = false;
    this.cpuHeld--;
    if (this.cpuHeld === 0) this.pump();
  }

  /** The task gives this thread's CPU slot up (it waits, or it was cancelled): another task may start here. */
  private releaseCpu(ctx: TaskContext): void {
    if (!ctx.cpu) return;
    ctx.cpu = false;
    this.cpuHeld--;
    if (this.cpuHeld === 0) setImmediate(this.pump);
  }

  /** The task runs on after a wait; a cancelled one never takes the slot back (its code may never settle). */
  private retakeCpu(ctx: TaskContext): void {
    if (ctx.cpu || ctx.cancelled || !this.running.has(ctx.taskId)) return;
    ctx.cpu = true;
    this.cpuHeld++;
  }

  /** Resolves arguments and calls the function; returns a promise only when something had to be awaited. */
  private execute(slot: number, taskId: TaskId, p: TaskPayload, ctx: TaskContext): void | Promise<void> {
    // Fast path: a loaded function and no ref arguments run now, without a trip through the microtask queue.
    const loaded = this.functions.peek(p.f);
    if (loaded !== undefined && !p.a.some(isObjectRef)) return this.call(slot, taskId, p, ctx, loaded, p.a);
    const fnPromise = this.functions.get(p.f);
    const argsReady = this.resolveTopLevel(p.a, ctx);
    return Promise.all([fnPromise, argsReady]).then(
      ([fn, args]) => this.call(slot, taskId, p, ctx, fn, args),
      (error) => this.failTask(slot, taskId, p, error, true),
    );
  }

  /** Calls the function in the task's context and seals what it returns (or throws). */
  private call(slot: number, taskId: TaskId, p: TaskPayload, ctx: TaskContext, fn: unknown, args: unknown[]): void | Promise<void> {
    let result: unknown;
    crashPoint(this.i32, CRASH_RUNNING, taskId);
    try {
      result = taskContext.run(ctx, () => (fn as (...a: unknown[]) => unknown)(...args));
    } catch (error) {
      return this.failTask(slot, taskId, p, error);
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => this.completeTask(slot, taskId, p, value),
        (error) => this.failTask(slot, taskId, p, error),
      );
    }
    return this.completeTask(slot, taskId, p, result);
  }

  /** Top-level refs become their values; a failed argument fails the task with the same error. */
  private resolveTopLevel(args: unknown[], holder?: TaskContext): Promise<unknown[]> {
    const pending: Promise<void>[] = [];
    const out = args.slice();
    let mustWait = false;
    for (let i = 0; i < out.length; i++) {
      const a = out[i];
      if (!isObjectRef(a)) continue;
      const now = this.tryRead(a.id);
      if (now && !now.error) { out[i] = now.value; continue; }
      // Sealed but its segment not yet here: the driver sends it at once, so keep the slot (releasing it
      // would let this thread take the next task too, and both would then run here one after the other).
      if (!now && !this.sealedHere(a.id)) mustWait = true;
      pending.push(this.getOne(a.id, false).then((v) => { out[i] = v; }));
    }
    if (!pending.length) return Promise.resolve(out);
    const all = Promise.all(pending).then(() => out);
    // An argument lost after the task was armed is being rebuilt: wait without holding this thread's slot.
    return holder && mustWait ? this.withoutCpu(holder, all) : all;
  }

  private async withoutCpu<T>(ctx: TaskContext, wait: Promise<T>): Promise<T> {
    this.releaseCpu(ctx);
    try {
      return await wait;
    } finally {
      this.retakeCpu(ctx);
    }
  }

  private completeTask(slot: number, taskId: TaskId, p: TaskPayload, value: unknown): void {
    if (p.r !== 1 && (!Array.isArray(value) || value.length !== p.r)) {
      return this.failTask(slot, taskId, p, new LoomError(
        `task ${p.n} has numReturns=${p.r} but returned ${Array.isArray(value) ? `an array of ${value.length}` : typeof value}`), true);
    }
    const encoded: EncodedValue[] = [];
    try {
      if (p.r === 1) encoded.push(encodeValue(value, "return value"));
      else (value as unknown[]).forEach((v, i) => encoded.push(encodeValue(v, `return value[${i}]`)));
    } catch (error) {
      return this.failTask(slot, taskId, p, error, true);
    }
    let released = 0;
    const seals = this.beginSeals(slot);
    try {
      for (let i = 0; i < encoded.length; i++) released += this.sealEncoded(objectIdOf(taskId, i), encoded[i]!, 0);
    } catch (error) {
      this.deferSeals = undefined;
      return this.failTask(slot, taskId, p, error, true);
    }
    this.deferSeals = undefined;
    this.notifyWorkers(released);
    crashPoint(this.i32, CRASH_SEALED, taskId);
    this.finish(slot, L.OUTCOME_OK, this.takeStarted(slot), seals);
  }

  /**
   * A task that sent messages (puts, submissions) must not have its results seen before the driver has read
   * them: a reader could meet a ref the driver does not know yet. Its seals then travel with its "done"
   * message, and the driver seals, after the messages before it. Returns the list to fill, or undefined.
   */
  private beginSeals(slot: number): SealRecord[] | undefined {
    const startedAt = this.startedPosted[slot]!;
    this.deferSeals = this.sealsViaDriver || startedAt !== -1 && startedAt !== this.link.posted ? [] : undefined;
    return this.deferSeals;
  }
  private deferSeals: SealRecord[] | undefined;

  /** Writes and seals one object the driver registered; tells the driver about segments and refs first. */
  sealEncoded(id: ObjectId, e: EncodedValue, flags: number): number {
    const ex = this.core.exports;
    const found = ex.objFind(idLo(id), idHi(id));
    // Already sealed (the driver sealed a cancellation, or a replay re-made it): keep the first value.
    if (found !== 0 && ex.objState(found) !== L.OBJ_PENDING) return 0;
    const where = this.store.writeEncoded(id, e, flags);
    crashPoint(this.i32, CRASH_SEALING, taskIdOfObject(id));
    if (where.segment) this.post({ t: "segment", id, segment: where.segment, refs: e.refs });
    else if (e.refs.length) this.post({ t: "contains", id, refs: e.refs });
    const entry = this.core.exports.objFind(idLo(id), idHi(id));
    if (entry === 0) throw new Error(`Loom: object ${id} is not registered (driver dropped it?)`);
    if (this.deferSeals) {
      this.deferSeals.push({ id, location: where.location, size: where.size, flags: where.flags });
      return 0;
    }
    const released = ex.objSeal(entry, where.location, where.size, where.flags);
    if (released >= 0) return released;
    if (!(where.flags & L.FLAG_SEGMENT)) ex.arenaFree(where.location);
    return 0;
  }

  private failTask(slot: number, taskId: TaskId, p: TaskPayload, error: unknown, notUserCode = false): void {
    const attempt = this.core.taskField(slot, L.TASK_ATTEMPT);
    const isLoom = error instanceof LoomError;
    if (!notUserCode && !isLoom && p.x && (p.m === -1 || attempt < p.m)) {
      this.finish(slot, L.OUTCOME_RETRY, this.takeStarted(slot));
      return;
    }
    const wire = isLoom ? toWire(error) : taskErrorFrom(error, formatTaskId(taskId), p.n);
    this.finishWithError(slot, taskId, p.r, wire);
  }

  private finishWithError(slot: number, taskId: TaskId, returns: number, wire: WireError): void {
    let released = 0;
    const e = encodeErrorValue(wire);
    const seals = this.beginSeals(slot);
    try {
      for (let i = 0; i < returns; i++) released += this.sealEncoded(objectIdOf(taskId, i), e, L.FLAG_ERROR);
    } finally {
      this.deferSeals = undefined;
    }
    this.notifyWorkers(released);
    this.finish(slot, L.OUTCOME_FAILED, this.takeStarted(slot), seals);
  }

  // ---- objects ----

  /** The value of an object, waiting for it (and releasing the CPU slot) if it is not sealed yet. */
  getOne(id: ObjectId, releaseCpu: boolean): Promise<unknown> {
    const now = this.tryRead(id);
    if (now) return now.error ? Promise.reject(now.error) : Promise.resolve(now.value);
    const wait = this.wantReadable(id, 0);
    return releaseCpu ? this.blocked(wait) : wait;
  }

  /** Wants an object until it is readable here: it may be lost again between the driver's answer and the read. */
  private wantReadable(id: ObjectId, tries: number): Promise<unknown> {
    return this.want(id).then(() => {
      const r = this.tryRead(id);
      if (!r) {
        if (tries < 20) return this.wantReadable(id, tries + 1);
        throw new LoomError(`object ${id} was reported ready ${tries + 1} times but was lost again each time`);
      }
      if (r.error) throw r.error;
      return r.value;
    });
  }

  /** Sealed in the shared table (readable here once its segment, if any, has arrived). */
  private sealedHere(id: ObjectId): boolean {
    const ex = this.core.exports;
    const entry = ex.objFind(idLo(id), idHi(id));
    return entry !== 0 && ex.objState(entry) === L.OBJ_SEALED;
  }

  private tryRead(id: ObjectId): { value?: unknown; error?: Error } | undefined {
    const ex = this.core.exports;
    const entry = ex.objFind(idLo(id), idHi(id));
    if (entry === 0) return undefined;
    const state = ex.objState(entry);
    const segmentHere = (ex.objFlags(entry) & L.FLAG_SEGMENT) !== 0 && this.store.segments.has(id);
    // A spilled object is still readable here while this thread holds its segment (the driver sent it).
    if (state !== L.OBJ_SEALED && !(state === L.OBJ_SPILLED && segmentHere)) return undefined;
    if ((ex.objFlags(entry) & L.FLAG_SEGMENT) && !segmentHere) return undefined;
    return this.store.read(id, entry, this.hooks);
  }

  /** Asks the driver for an object; resolves when it is sealed here and its segment (if any) is known. */
  private want(id: ObjectId): Promise<void> {
    return new Promise((resolve, reject) => {
      const list = this.objectWaiters.get(id);
      if (list) { list.push({ resolve, reject }); return; }
      this.objectWaiters.set(id, [{ resolve, reject }]);
      this.post({ t: "want", id });
    });
  }

  /** Runs `wait` without holding the CPU slot, so other tasks can run here meanwhile. */
  private blocked<T>(wait: Promise<T>): Promise<T> {
    const ctx = taskContext.getStore();
    // Actor calls never hold the CPU slot (they come by message, one at a time per actor): nothing to give up.
    return ctx?.cpu ? this.withoutCpu(ctx, wait) : wait;
  }

  // ---- messages from the driver ----

  private onMessage(m: DriverToWorker): void {
    switch (m.t) {
      case "fn": this.functions.define(m.id, m.fn); break;
      case "object": {
        if (m.segment) this.store.adoptSegment(m.id, m.segment);
        const list = this.objectWaiters.get(m.id);
        this.objectWaiters.delete(m.id);
        for (const w of list ?? []) m.error ? w.reject(fromWire(m.error)) : w.resolve();
        break;
      }
      case "abort": {
        const ctx = this.running.get(m.taskId);
        // Made here if the task has not read its signal yet, so that a later read finds it aborted.
        const why = m.timeoutMs === undefined
          ? new LoomError(`task ${formatTaskId(m.taskId)} was cancelled`)
          : new TaskTimeoutError(`task ${ctx?.functionName ?? ""} (${formatTaskId(m.taskId)}) ran longer than its timeoutMs (${m.timeoutMs} ms)`,
            { taskId: formatTaskId(m.taskId), functionName: ctx?.functionName ?? "", timeoutMs: m.timeoutMs });
        if (ctx) (ctx.controller ??= new AbortController()).abort(why);
        // Its caller already has its TaskCancelledError: the slot is free at once, even if its code never settles.
        if (ctx) { ctx.cancelled = true; this.releaseCpu(ctx); }
        break;
      }
      // The segments of sealed arguments come with the task (see Runtime.segmentsFor): no "want" round trip.
      case "actor-create":
        this.store.adoptSegments(m.segments);
        this.hostActor(m.actorId, m.slot, m.fnId, m.checkpointEvery, m.maxConcurrency ?? 1, m.checkpoint, m.checkpointSeq);
        break;
      case "actor-call":
        this.store.adoptSegments(m.segments);
        this.enqueueActorCall(m.actorId, m.slot, m.replay);
        break;
      case "actor-drop": {
        const a = this.actors.get(m.actorId);
        if (a) { a.dropped = true; this.actors.delete(m.actorId); }
        break;
      }
      case "drop-segments": for (const id of m.ids) this.store.dropSegment(id); break;
      case "shared": this.sharedBuffers.set(m.key, m.buffers); break;
      case "shared-drop": this.sharedBuffers.delete(m.key); break;
      case "actor-name":
        if (m.actor) this.namedActors.set(m.name, m.actor); else this.namedActors.delete(m.name);
        break;
    }
  }

  // ---- actors hosted here ----

  private hostActor(actorId: ActorId, slot: number, fnId: number, checkpointEvery: number, maxConcurrency: number, checkpoint?: Uint8Array, checkpointSeq = 0): void {
    const host: ActorHost = {
      actorId, mailbox: [], running: 0, maxConcurrency, exclusive: false, calls: checkpoint ? checkpointSeq : 0, checkpointEvery, dropped: false,
    };
    this.actors.set(actorId, host);
    this.actorEnqueue(host, true, async () => {
      if (host.dropped) return this.skipSlot(slot);
      const taskId = this.taskIdOf(slot);
      if (!this.core.exports.taskStart(slot, this.index)) { this.notifyDriver(); return; }
      const p = this.readPayload(slot);
      const ctx: TaskContext = { taskId, run: this.core.taskField(slot, L.TASK_RUN), nextChild: 0, controller: undefined, functionName: p.n };
      try {
        const Cls = (await this.functions.get(fnId)) as new (...args: unknown[]) => Record<string, (...a: unknown[]) => unknown>;
        const args = await this.resolveTopLevel(p.a);
        host.instance = await taskContext.run(ctx, async () => {
          const instance = new Cls(...args);
          if (checkpoint && typeof instance.restore === "function") {
            const state = decodeValue(checkpoint, 0, this.hooks, false);
            await instance.restore(state);
          }
          return instance;
        });
        if (host.dropped) { this.core.exports.taskFinish(slot, L.OUTCOME_SKIPPED); this.notifyDriver(); return; }
        this.sealEncoded(objectIdOf(taskId, 0), encodeValue(null), 0);
        this.core.exports.taskFinish(slot, L.OUTCOME_OK);
      } catch (error) {
        host.createError = error instanceof LoomError ? toWire(error) : taskErrorFrom(error, formatTaskId(taskId), `${p.n}.constructor`);
        this.sealEncoded(objectIdOf(taskId, 0), encodeErrorValue(host.createError), L.FLAG_ERROR);
        this.core.exports.taskFinish(slot, L.OUTCOME_FAILED);
      }
      this.notifyDriver();
    });
  }

  private enqueueActorCall(actorId: ActorId, slot: number, replay: boolean): void {
    const host = this.actors.get(actorId);
    if (!host) {
      // The actor is gone from this thread (dropped): report the call failed.
      const taskId = this.taskIdOf(slot);
      const p = this.readPayload(slot);
      this.core.exports.taskStart(slot, this.index);
      this.finishWithError(slot, taskId, p.r, toWire(new ActorDiedError(`actor ${actorId} is not alive on worker ${this.index}`)));
      return;
    }
    // A replayed call rebuilds state: one at a time, in order, like the constructor.
    this.actorEnqueue(host, replay, () => this.runActorCall(host, slot, replay));
  }

  private actorEnqueue(host: ActorHost, exclusive: boolean, job: () => Promise<void>): void {
    host.mailbox.push({ job, exclusive });
    // Messages drained from inside a task (current().getActor) must not run another actor's method in the middle
    // of that task's synchronous code: start after it yields.
    if (this.link.drainingInTask) queueMicrotask(() => this.actorDrain(host));
    else this.actorDrain(host);
  }

  /**
   * Starts calls in arrival order (the driver sends each caller's calls in submission order), up to
   * maxConcurrency at once (1 by default: one at a time). An exclusive job waits for the running ones to end and
   * runs alone. A dropped host still drains: each job then only reports its slot skipped.
   */
  private actorDrain(host: ActorHost): void {
    while (host.mailbox.length && !host.exclusive && host.running < host.maxConcurrency) {
      const next = host.mailbox[0]!;
      if (next.exclusive && host.running > 0) return;
      host.mailbox.shift();
      host.running++;
      host.exclusive = next.exclusive;
      void next.job().finally(() => {
        host.running--;
        host.exclusive = false;
        this.actorDrain(host);
      });
    }
  }

  /** A job of a dropped host: the slot is only reported back, untouched (the driver holds it until then). */
  private skipSlot(slot: number): void {
    if (this.core.exports.taskStart(slot, this.index)) this.core.exports.taskFinish(slot, L.OUTCOME_SKIPPED);
    this.notifyDriver();
  }

  private async runActorCall(host: ActorHost, slot: number, replay: boolean): Promise<void> {
    if (host.dropped) return this.skipSlot(slot);
    if (!this.core.exports.taskStart(slot, this.index)) { this.notifyDriver(); return; }
    this.startedPosted[slot] = this.markStarted(slot);
    const taskId = this.taskIdOf(slot);
    let p: TaskPayload;
    try {
      p = this.readPayload(slot, true);
    } catch (error) {
      this.finishWithError(slot, taskId, 1, toWire(error));
      return;
    }
    if (host.createError || !host.instance) {
      this.finishWithError(slot, taskId, p.r, host.createError ?? toWire(new ActorDiedError(`actor ${host.actorId} has no instance`)));
      return;
    }
    const ctx: TaskContext = { taskId, run: this.core.taskField(slot, L.TASK_RUN), nextChild: 0, controller: undefined, functionName: `${p.n}.${p.am}`, actor: true };
    this.running.set(taskId, ctx);
    try {
      const args = await this.resolveTopLevel(p.a);
      const method = host.instance[p.am!];
      if (typeof method !== "function") throw new LoomError(`actor ${p.n} has no method ${JSON.stringify(p.am)}`);
      crashPoint(this.i32, CRASH_RUNNING, taskId);
      const value = await taskContext.run(ctx, () => method.apply(host.instance, args));
      host.calls++;
      if (host.dropped) { this.finish(slot, L.OUTCOME_SKIPPED, this.takeStarted(slot)); return; } // the restarted instance answers
      // Taken before the result is sealed and reported with it: a caller that has seen this result (or a later
      // one) sees an actor whose restart restores this checkpoint.
      if (host.checkpointEvery > 0) this.checkpointToReport = await this.checkpointIfDue(host, taskId);
      this.sealsViaDriver = host.checkpointEvery > 0;
      try {
        if (replay) this.finish(slot, L.OUTCOME_OK, this.takeStarted(slot));
        else this.completeTask(slot, taskId, { ...p, x: false }, value);
      } finally {
        this.sealsViaDriver = false;
        this.checkpointToReport = undefined;
      }
    } catch (error) {
      host.calls++;
      if (host.dropped) { this.finish(slot, L.OUTCOME_SKIPPED, this.takeStarted(slot)); return; }
      this.sealsViaDriver = host.checkpointEvery > 0;
      try {
        if (replay) this.finish(slot, L.OUTCOME_FAILED, this.takeStarted(slot));
        else this.failTask(slot, taskId, { ...p, n: `${p.n}.${p.am}`, x: p.x }, error, error instanceof LoomError);
      } finally {
        this.sealsViaDriver = false;
      }
    } finally {
      this.running.delete(taskId);
    }
  }

  /**
   * The actor's checkpoint when one is due after this call, encoded; undefined otherwise. A checkpoint() that
   * throws is skipped with a warning: the calls since the last checkpoint stay in the driver's log, so a
   * restart replays them and nothing is lost.
   */
  private async checkpointIfDue(host: ActorHost, taskId: TaskId): Promise<{ actorId: ActorId; seq: number; state: Uint8Array } | undefined> {
    if (host.checkpointEvery <= 0 || host.calls % host.checkpointEvery !== 0) return undefined;
    const instance = host.instance!;
    if (typeof instance.checkpoint !== "function") return undefined;
    try {
      const e = encodeValue(await instance.checkpoint(), "checkpoint()");
      crashPoint(this.i32, CRASH_CHECKPOINTING, taskId);
      const state = new Uint8Array(e.size);
      writeEncoded(e, state, 0);
      return { actorId: host.actorId, seq: host.calls, state };
    } catch (error) {
      process.emitWarning(`Loom: actor ${host.actorId}'s checkpoint() after call ${host.calls} failed, so the calls since ` +
        `its last checkpoint stay in its log: ${String(error)}`, { code: "LOOM_CHECKPOINT_FAILED" });
      return undefined;
    }
  }

  // ---- the API inside tasks: current() ----

  private context(): TaskContext | undefined {
    return taskContext.getStore();
  }

  private nextChildId(): TaskId {
    const ctx = this.context();
    if (ctx) return childTaskId(ctx.taskId, ctx.nextChild++, ctx.run);
    // Outside any task (module top level in a worker): a root private to this worker.
    return childTaskId((2 ** 44 + this.index) as TaskId, this.rootChildren++);
  }

  /** Encodes an argument list; big or buffer-carrying arguments are put as objects and passed by ref. */
  private encodeArgs(args: unknown[]): EncodedArgs {
    return encodeArgs(args, (e) => this.putEncoded(e));
  }


  private putEncoded(e: EncodedValue): ObjectRef {
    const id = objectIdOf(this.nextChildId(), 0);
    const where = this.store.writeEncoded(id, e, 0);
    crashPoint(this.i32, CRASH_PUTTING, this.context()?.taskId ?? (0 as TaskId));
    this.post({ t: "put", id, parentId: this.context()?.taskId ?? (0 as TaskId), location: where.location, size: where.size, flags: where.flags, segment: where.segment, refs: e.refs });
    if (!this.putRefs.has(id)) this.putRefs.set(id, 0);
    return new ObjectRef(id, this);
  }

  /**
   * Refs to the results of a task this thread submitted: counted like refs to its puts, since the driver holds
   * those results for this thread (see "submit" there) until told that no ref to them is left here.
   */
  private childRefs(taskId: TaskId, n: number): ObjectRef | ObjectRef[] {
    for (let i = 0; i < n; i++) {
      const id = objectIdOf(taskId, i);
      if (!this.putRefs.has(id)) this.putRefs.set(id, 0);
    }
    return returnRefs(taskId, n, this);
  }

  /**
   * rt.module inside a task: a .ts module waits for this thread's tsx registration, like the function cache's
   * imports. Imported during the registration (say, while a replacement thread warms up), a task's rt.module
   * was seen to fail in CI with "Cannot read properties of undefined (reading 'status')".
   */
  async importModule(href: string): Promise<Record<string, unknown>> {
    await ensureTypeScriptLoader(href);
    return (await import(href)) as Record<string, unknown>;
  }

  submitTask(fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[] {
    const taskId = this.nextChildId();
    const { payload, deps, nested } = this.encodeArgs(args);
    this.post({ t: "submit", spec: { taskId, parentId: this.context()?.taskId ?? (0 as TaskId), fn, payload, deps, nested, options } });
    return this.childRefs(taskId, options.numReturns ?? 1);
  }

  createActor(cls: FunctionDescriptor, methods: string[], args: unknown[], options: ActorOptions & TaskOptions): ActorHandle {
    const taskId = this.nextChildId();
    const actorId = taskId as unknown as ActorId;
    const { payload, deps, nested } = this.encodeArgs(args);
    const spec: WireSubmission = { taskId, parentId: this.context()?.taskId ?? (0 as TaskId), fn: cls, payload, deps, nested, options: {}, actorCreate: { actorId, methods, options } };
    this.post({ t: "submit", spec });
    return makeActorHandle(this, { actorId, className: cls.name, methods });
  }

  submitActorCall(actor: ActorHandleDescriptor, method: string, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[] {
    const taskId = this.nextChildId();
    const { payload, deps, nested } = this.encodeArgs(args);
    this.post({ t: "submit", spec: { taskId, parentId: this.context()?.taskId ?? (0 as TaskId), fn: { kind: "inline", source: "", name: actor.className }, payload, deps, nested, options, actorCall: { actorId: actor.actorId, method } } });
    return this.childRefs(taskId, options.numReturns ?? 1);
  }

  readonly api = {
    remote: <F extends (...args: any[]) => any>(fn: F): RemoteFunction<F> => {
      if (typeof fn !== "function") throw new LoomError(`remote(): expected a function, got ${typeof fn}`);
      return new RemoteFunction<F>(this, { kind: "inline", source: fn.toString(), name: fn.name || "anonymous" });
    },
    module: (url: URL | string) => wrapModule(this, url),
    put: <T>(value: T): ObjectRef<T> => this.putEncoded(encodeValue(value, "value")) as ObjectRef<T>,
    get: (refs: unknown, options: { timeoutMs?: number } = {}): Promise<unknown> => {
      checkGetOptions(options);
      const one = (r: unknown) => {
        if (!isObjectRef(r)) throw new LoomError(`get(): expected an ObjectRef, got ${describeArgument(r)}`);
        return this.getOne(r.id, false);
      };
      // One CPU release for the whole get, however many refs it waits on.
      checkTimeout("get()", options.timeoutMs);
      const all = Array.isArray(refs) ? Promise.all(refs.map(one)) : one(refs);
      return withTimeout(this.blocked(all), options.timeoutMs);
    },
    wait: async (refs: ObjectRef[], options: { numReturns?: number; timeoutMs?: number } = {}) => {
      const want = checkWaitArgs(refs, options);
      if (want === 0) return { ready: [], pending: [] };
      return this.blocked(waitForReady(refs, want, options.timeoutMs, (r) => this.getOne(r.id, false)));
    },
    cancel: (ref: ObjectRef, options: { force?: boolean } = {}) => {
      this.post({ t: "cancel", id: ref.id, force: options.force ?? false });
    },
    getActor: <T = any>(name: string): ActorHandle<T> => {
      if (typeof name !== "string") throw new LoomError(`getActor(): expected a name (string), got ${describeArgument(name)}`);
      // The driver announces a name (and its actor's death) before it submits any task that could look it up,
      // but tasks come through shared memory and those messages through the port: they may still be queued
      // behind the task that runs now. Read them first, or a killed actor's stale name is found.
      this.link.drainInTask();
      const actor = this.namedActors.get(name);
      if (!actor) throw new LoomError(`getActor(): no live actor named ${JSON.stringify(name)}`);
      return makeActorHandle<T>(this, actor);
    },
    kill: (handle: ActorHandle, options: { noRestart?: boolean } = {}) => {
      this.post({ t: "kill-actor", actorId: handle.actorId, noRestart: options.noRestart ?? true });
    },
    get signal(): AbortSignal {
      const ctx = taskContext.getStore();
      if (!ctx) throw new LoomError("current().signal is only defined inside a task");
      return (ctx.controller ??= new AbortController()).signal;
    },
    get workerIndex(): number {
      return workerIndexOf();
    },
    get taskId(): string | undefined {
      const ctx = taskContext.getStore();
      return ctx ? formatTaskId(ctx.taskId) : undefined;
    },
    options: checkTaskOptions,
  };
}


let thisWorkerIndex = -1;
function workerIndexOf(): number {
  return thisWorkerIndex;
}

function encodeErrorValue(wire: WireError): EncodedValue {
  try {
    return encodeValue(wire, "error");
  } catch {
    return encodeValue({ ...wire, cause: String(wire.cause) }, "error");
  }
}

function returnRefs(taskId: TaskId, n: number, owner: RefOwner): ObjectRef | ObjectRef[] {
  if (n === 1) return new ObjectRef(objectIdOf(taskId, 0), owner);
  return Array.from({ length: n }, (_, i) => new ObjectRef(objectIdOf(taskId, i), owner));
}

function sameBytes(u8: Uint8Array, at: number, bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (u8[at + i] !== bytes[i]) return false;
  return true;
}

