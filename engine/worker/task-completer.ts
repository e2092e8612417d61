// The end of a task or actor call on this thread: seals its results (or its error) in the shared store, then
// reports its slot's end to the driver, through the done queue or by message after the messages it sent.
// Does not run anything (see TaskExecutor, ActorHost) nor read arguments.
import * as L from "../../core-wasm/shared/layout.js";
import { Core } from "../wasm/core.js";
import { clockMs } from "../clock.js";
import type { ObjectStore } from "../object-store/object-store.js";
import { encodeValue, type EncodedValue } from "../serialization/value-codec.js";
import { taskErrorFrom, toWire, LoomError, type WireError } from "../errors.js";
import { objectIdOf, taskIdOfObject, idLo, idHi, formatTaskId, type ObjectId, type TaskId, type ActorId } from "../ids.js";
import type { SealRecord, WorkerToDriver } from "../transport/messages.js";
import type { DriverLink } from "../transport/driver-link.js";
import type { TaskPayload } from "./payload-reader.js";
import { crashPoint, CRASH_SEALING, CRASH_SEALED } from "./crash-points.js";
import { merged } from "../merged.js";

/** An actor's state after a call, encoded, as the driver keeps it for a restart. */
export interface ActorCheckpoint { actorId: ActorId; seq: number; state: Uint8Array }

export class TaskCompleter {
  private readonly i32: Int32Array;
  /**
   * One more than the message count when each running slot started (see finish), by slot; 0 when the slot is not
   * running here. Offset by one so the array starts as zeros: a 2^18-slot table's 2 MiB per worker stays
   * untouched (unpaid) until slots are used, where filling it with -1 wrote every page at start-up.
   */
  private readonly startedPosted: Float64Array;
  /** CTL_EPOCH, on a memory that never grows, so the view stays valid. */
  private readonly epoch: Float64Array;
  /** An actor's checkpoint that the next finish() reports with the call it follows (see ActorHost.runActorCall). */
  checkpointToReport: ActorCheckpoint | undefined;
  /**
   * Set while a checkpointing actor's call completes: its seals go through the driver, after the messages
   * before them, so no result becomes visible before the checkpoint that precedes it is known to the driver.
   */
  sealsViaDriver = false;
  private deferSeals: SealRecord[] | undefined;
  /** Returns of the completion whose seals are deferred: the room its held list is made with. */
  private deferCapacity = 0;
  /**
   * The held list (the core's WORKER_HELD) of the arena blocks written for the deferred seals, 0 when none. Set
   * only between beginSeals and the finish() whose "done" message names it; the driver frees it from there.
   */
  private held = 0;
  /** Whether this thread's index has a worker record (see CoreSizes.workers): without one, nothing is held. */
  private readonly recorded: boolean;

  /** `worker`: this thread's index, whose worker record names the blocks written and not handed over yet. */
  constructor(private readonly core: Core, private readonly store: ObjectStore, private readonly link: DriverLink, private readonly worker = -1) {
    this.i32 = core.i32;
    this.epoch = new Float64Array(core.memory.buffer, L.CORE_BASE + L.CTL_EPOCH, 1);
    this.startedPosted = new Float64Array(core.plan.taskSlots);
    this.recorded = worker >= 0 && worker < core.plan.workers;
  }

  /** Stamps the slot's start for the driver and remembers how many messages had been sent (see finish). */
  markStarted(slot: number): void {
    this.core.setTaskField(slot, L.TASK_STARTED, Math.round((clockMs() - this.epoch[0]!) * 100));
    this.startedPosted[slot] = this.link.posted + 1;
  }

  takeStarted(slot: number): number {
    const n = this.startedPosted[slot]! - 1;
    this.startedPosted[slot] = 0;
    return n;
  }

  /**
   * Reports a finished slot. Through the done queue when the task sent no message; otherwise by message, so
   * the driver has seen its puts, segments and submissions before it learns the task ended.
   */
  finish(slot: number, outcome: number, postedAtStart: number, seals?: SealRecord[]): void {
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
    const held = this.held;
    this.held = 0;
    const done: Extract<WorkerToDriver, { t: "done" }> = { t: "done", slot, seals };
    if (checkpoint) done.checkpoint = checkpoint;
    if (held !== 0) done.held = held;
    this.link.post(done);
    // After the post: a death before it leaves the held list to the driver's reclaim, a death after it to "done".
    if (held !== 0) this.core.exports.workerHeldPosted(this.worker, held);
  }

  completeTask(slot: number, taskId: TaskId, p: TaskPayload, value: unknown): void {
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
    const seals = this.beginSeals(slot, encoded.length);
    try {
      for (let i = 0; i < encoded.length; i++) released += this.sealEncoded(objectIdOf(taskId, i), encoded[i]!, 0);
    } catch (error) {
      this.deferSeals = undefined;
      this.dropHeld(); // the seals deferred so far are dropped with their records: their blocks go back
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
  private beginSeals(slot: number, returns: number): SealRecord[] | undefined {
    const startedAt = this.startedPosted[slot]! - 1;
    this.deferSeals = this.sealsViaDriver || startedAt !== -1 && startedAt !== this.link.posted ? [] : undefined;
    this.dropHeld(); // left by a completion that threw before its "done": nothing names its blocks any more
    this.deferCapacity = returns;
    return this.deferSeals;
  }

  /**
   * Gives the blocks held for deferred seals that will not be posted, and their list, to the driver to free. Not
   * freed here: the record names them until the driver has the message, so a death at any point leaks nothing.
   */
  private dropHeld(): void {
    if (this.held === 0) return;
    const held = this.held;
    this.held = 0;
    this.link.post({ t: "drop", held });
    this.core.exports.workerHeldPosted(this.worker, held);
  }

  /** A block this thread wrote and will not seal goes back through the driver, which frees it (see dropHeld). */
  private dropBlock(location: number): void {
    this.link.post({ t: "drop", location });
  }

  /** Writes and seals one object the driver registered; tells the driver about segments and refs first. */
  sealEncoded(id: ObjectId, e: EncodedValue, flags: number): number {
    const ex = this.core.exports;
    const found = ex.objFind(idLo(id), idHi(id));
    // Not registered: the driver freed it, as nobody holds it any more (a return of a task being rebuilt whose
    // last ref went meanwhile). Already sealed (the driver sealed a cancellation, or a replay re-made it): keep
    // the first value. Either way there is nothing to write.
    if (found === 0 || ex.objState(found) !== L.OBJ_PENDING) return 0;
    // A deferred seal's block must be held in this thread's record until its "done" is posted; with no room to hold
    // one (the arena is too full to make the list), the value goes to a segment, which the messages carry.
    let arena = true;
    if (this.deferSeals && this.recorded) {
      const list = ex.workerHeldRoom(this.worker, this.deferCapacity);
      if (list !== 0) this.held = list; // the record's list from now on: "done" (or a drop) hands it to the driver
      else arena = false;
    }
    const where = this.store.writeEncoded(id, e, flags, arena);
    crashPoint(this.i32, CRASH_SEALING, taskIdOfObject(id));
    if (where.segment) this.link.post({ t: "segment", id, segment: where.segment, sum: where.sum, refs: e.refs });
    else if (e.refs.length) this.link.post({ t: "contains", id, refs: e.refs });
    const inArena = !(where.flags & L.FLAG_SEGMENT);
    const entry = this.core.exports.objFind(idLo(id), idHi(id));
    if (entry === 0) {
      if (inArena) this.dropBlock(where.location);
      throw new Error(`Loom: object ${id} is not registered (driver dropped it?)`);
    }
    if (this.deferSeals) {
      // Held in this thread's record until the "done" message that carries the record is posted.
      if (inArena && this.recorded) {
        const held = ex.workerDefer(this.worker, where.location, this.deferCapacity);
        if (held === 0) { // workerHeldRoom made room just now, on this thread: not expected
          this.dropBlock(where.location);
          throw new LoomError(`object ${id}: worker ${this.worker} could not hold its arena block for a deferred seal`);
        }
        this.held = held;
      }
      this.deferSeals.push({ id, location: where.location, size: where.size, flags: where.flags });
      return 0;
    }
    // The seal hands the block over (the record lets go of it in the same step); a lost seal leaves it named in
    // the record, and the driver frees it.
    const released = ex.objSealBy(entry, where.location, where.size, where.flags, this.worker);
    if (released >= 0) return released;
    if (inArena) this.dropBlock(where.location);
    return 0;
  }

  failTask(slot: number, taskId: TaskId, p: TaskPayload, error: unknown, notUserCode = false): void {
    const attempt = this.core.taskField(slot, L.TASK_ATTEMPT);
    const isLoom = error instanceof LoomError;
    if (!notUserCode && !isLoom && p.x && (p.m === -1 || attempt < p.m)) {
      this.finish(slot, L.OUTCOME_RETRY, this.takeStarted(slot));
      return;
    }
    const wire = isLoom ? toWire(error) : taskErrorFrom(error, formatTaskId(taskId), p.n);
    this.finishWithError(slot, taskId, p.r, wire);
  }

  finishWithError(slot: number, taskId: TaskId, returns: number, wire: WireError): void {
    let released = 0;
    const e = encodeErrorValue(wire);
    const seals = this.beginSeals(slot, returns);
    try {
      for (let i = 0; i < returns; i++) released += this.sealEncoded(objectIdOf(taskId, i), e, L.FLAG_ERROR);
    } finally {
      this.deferSeals = undefined;
    }
    this.notifyWorkers(released);
    this.finish(slot, L.OUTCOME_FAILED, this.takeStarted(slot), seals);
  }

  /** Wakes parked workers for the tasks that seals here released into the ready queue. */
  notifyWorkers(released: number): void {
    if (released > 0 && Atomics.load(this.i32, Core.ctl(L.CTL_IDLE_WORKERS)) > 0) {
      Atomics.notify(this.i32, Core.ctl(L.CTL_READY_SEQ), released);
    }
  }

  /** Wakes the driver if it parked on the done queue. */
  notifyDriver(): void {
    if (Atomics.load(this.i32, Core.ctl(L.CTL_DRIVER_PARKED)) !== 0) Atomics.notify(this.i32, Core.ctl(L.CTL_DONE_SEQ));
  }
}

export function encodeErrorValue(wire: WireError): EncodedValue {
  try {
    return encodeValue(wire, "error");
  } catch {
    return encodeValue(merged(wire, { cause: String(wire.cause) }), "error");
  }
}
