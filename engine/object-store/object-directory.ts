// Where each object is: its core entry (arena block or segment), spilled or in memory, and the node that holds
// it (always this one for now). Registers, seals, frees, spills, restores and evicts objects; reference counts
// are the reference counter's, waiters the seal waiters'.
import * as L from "../../core-wasm/shared/layout.js";
import { writeEncoded, type EncodedValue } from "../serialization/value-codec.js";
import { LoomError } from "../errors.js";
import { childTaskId, objectIdOf, taskIdOfObject, idLo, idHi, formatTaskId, DRIVER_TASK_ID, RETURN_SLOTS, type ObjectId, type TaskId } from "../ids.js";
import { ObjectRef, checkOwnedBy } from "../refs.js";
import { IdTable } from "../runtime/id-table.js";
import type { DriverContext } from "../runtime/driver-context.js";
import { NONE } from "../tasks/task-entry.js";

/** The node that holds an object: always this one until the cluster issue adds others. */
export const LOCAL_NODE = 0;
/** How long an evicted object's arena block stays unused before it is freed (see evict). */
const EVICTED_BLOCK_QUARANTINE_MS = 1_000;

/** A row of the object table: where the object is (this file), and who holds it (reference-counter.ts). */
export interface ObjectEntry {
  id: ObjectId;
  /** Address of the core's entry; 0 once freed. */
  entry: number;
  /** The node whose store holds it (LOCAL_NODE for now). */
  node: number;
  refs: number;
  isPut: boolean;
  sealedHere: boolean;
  freeWhenSealed: boolean;
  contains: ObjectId[];
  /** Counted in its creating task's lineageRefs. */
  lineageCounted: boolean;
}

/** What ObjectDirectory reaches in the driver: its arrows in engine/README.md. */
export type ObjectDirectoryDeps = Pick<DriverContext, "streams" | "closed" | "core" | "dispatcher" | "events" | "immutability" | "objectStoreBytes" | "refs" | "runtime" | "spill" | "store" | "tasks" | "transport" | "cluster">;

export class ObjectDirectory {
  /** A task's first return (taskId * RETURN_SLOTS) is dense; other returns go to the table's Map. */
  readonly objects = new IdTable<ObjectEntry>(RETURN_SLOTS);

  constructor(private readonly d: ObjectDirectoryDeps) {}

  get(id: ObjectId): ObjectEntry | undefined { return this.objects.get(id); }
  set(id: ObjectId, o: ObjectEntry): void { this.objects.set(id, o); }
  get size(): number { return this.objects.size; }

  private readonly droppedSegments: ObjectId[] = [];
  private readonly isKept = (task: TaskId): boolean => this.d.tasks.get(task) !== undefined;

  putEncodedFor(parent: TaskId, encoded: EncodedValue): ObjectRef {
    const taskId = parent === DRIVER_TASK_ID ? childTaskId(DRIVER_TASK_ID, this.d.tasks.driverChildren++) : childTaskId(parent, 1e9 + this.d.tasks.driverChildren++);
    const id = objectIdOf(taskId, 0);
    const where = this.d.store.writeEncoded(id, encoded, 0);
    const o = this.registerObject(id, true);
    this.d.refs.holdContained(o, encoded.refs);
    this.seal(o, where);
    if (where.segment) this.segmentStored(id);
    return new ObjectRef(id, this.d.runtime);
  }

  registerObject(id: ObjectId, isPut: boolean): ObjectEntry {
    let o = this.objects.get(id);
    if (!o) {
      const entry = this.d.core.exports.objInsert(idLo(id), idHi(id));
      if (entry === 0) throw new LoomError("the object table is full; release ObjectRefs you no longer need");
      o = { id, entry, node: LOCAL_NODE, refs: 0, isPut, sealedHere: false, freeWhenSealed: false, contains: NONE, lineageCounted: false };
      this.objects.set(id, o);
    } else if (o.entry === 0) {
      o.entry = this.d.core.exports.objInsert(idLo(id), idHi(id));
      if (o.entry === 0) throw new LoomError("the object table is full; release ObjectRefs you no longer need");
    }
    if (!isPut && !o.lineageCounted) {
      const task = this.d.tasks.get(this.d.streams.producerOf(id));
      if (task) { task.lineageRefs++; o.lineageCounted = true; }
    }
    return o;
  }

  /** Seals an object the driver wrote; if someone sealed it first, frees this copy. Returns tasks released. */
  seal(o: ObjectEntry, where: { location: number; size: number; flags: number }): number {
    const released = this.d.core.exports.objSeal(o.entry, where.location, where.size, where.flags);
    if (released >= 0) return released;
    this.d.store.release(o.id, where.location, where.flags & ~L.FLAG_SEGMENT);
    return 0;
  }

  freeObject(o: ObjectEntry): void {
    if (this.d.closed) return;
    const ex = this.d.core.exports;
    if (o.entry !== 0) {
      const flags = ex.objFlags(o.entry);
      const location = ex.objLocation(o.entry);
      if (this.d.immutability && flags & L.FLAG_SEGMENT) this.d.immutability.released(o.id, this.d.store.segments.get(o.id));
      if (ex.objState(o.entry) === L.OBJ_SEALED) this.d.store.release(o.id, location, flags);
      if (flags & L.FLAG_SEGMENT) this.d.spill.discard(o.id);
      if (flags & L.FLAG_SEGMENT) this.droppedSegments.push(o.id);
      ex.objRemove(o.entry);
    }
    this.objects.delete(o.id);
    this.d.cluster?.objects.objectFreed(o.id);
    // Freed arena space may let a waiting task's payload in (see drainBacklog): try once this turn is over.
    if (this.d.dispatcher.backlog.length) this.d.dispatcher.scheduleBacklogDrain();
    for (const r of o.contains) this.d.refs.decRef(r);
    if (o.lineageCounted) this.d.tasks.releaseLineage(this.d.tasks.get(this.d.streams.producerOf(o.id)));
    this.d.streams.forgetItem(o.id, this.isKept);
  }

  /**
   * Whether the segment a worker announced for `id` (its "segment" message, sent before its seal) may be the
   * object's: it is still pending or being sealed, or the worker's seal won and no segment is known for it yet.
   * Otherwise (the driver sealed the task's cancellation or failure first, an earlier run's value stands, or the
   * object was freed) the worker's seal fails, and that segment is no object's (see segmentLost).
   */
  takesSegment(id: ObjectId): boolean {
    const o = this.objects.get(id);
    if (!o || o.entry === 0) return false;
    const ex = this.d.core.exports;
    const state = ex.objState(o.entry);
    if (state === L.OBJ_PENDING || state === L.OBJ_SEALING) return true;
    return state === L.OBJ_SEALED && (ex.objFlags(o.entry) & L.FLAG_SEGMENT) !== 0 && !this.d.store.segments.has(id);
  }

  /**
   * A segment a worker wrote for `id` lost to another seal: dropped here if it was kept (it was announced
   * before the driver sealed otherwise), and in every thread, the writer included.
   */
  segmentLost(id: ObjectId, segment: SharedArrayBuffer | undefined): void {
    if (segment && this.d.store.segments.get(id) === segment) {
      this.d.immutability?.released(id, undefined);
      this.d.spill.forget(id);
      this.d.store.dropSegment(id);
    }
    this.droppedSegments.push(id);
  }

  flushDroppedSegments(): void {
    if (this.droppedSegments.length === 0) return;
    this.d.transport.broadcast({ t: "drop-segments", ids: this.droppedSegments.splice(0) });
  }

  /** A segment object entered memory: spill the least recently used others if the store is over capacity. */
  /** @param sum the checksum its writer took before sealing it (checkImmutable), else taken here. */
  segmentStored(id: ObjectId, sum?: number): void {
    const segment = this.d.store.segments.get(id);
    if (!segment) return;
    this.d.immutability?.stored(id, segment, sum);
    this.d.spill.stored(id, segment.byteLength);
    // Recycled segments waiting for reuse count against the store's bound too; they go before any object spills.
    this.d.store.pool?.trim(Math.max(0, this.d.objectStoreBytes - this.d.spill.bytesInMemory));
    for (const victim of this.d.spill.victims(id)) this.spillObject(victim);
  }

  /**
   * Moves one sealed segment object to its spill file. Views already handed out keep their memory (a view
   * pins it until collected); every thread drops its handle, and the next read restores the object.
   */
  private spillObject(id: ObjectId): void {
    const o = this.objects.get(id);
    const ex = this.d.core.exports;
    const segment = this.d.store.segments.get(id);
    if (!o || o.entry === 0 || !segment || ex.objState(o.entry) !== L.OBJ_SEALED || !(ex.objFlags(o.entry) & L.FLAG_SEGMENT)) {
      this.d.spill.forget(id);
      return;
    }
    this.d.spill.spill(id, segment);
    this.d.store.dropSegment(id);
    this.droppedSegments.push(id);
    ex.objSetState(o.entry, L.OBJ_SPILLED);
    this.d.events.emit("object:spilled", { objectId: id, bytes: segment.byteLength });
  }

  /** Reads a spilled object back into memory (and spills others if that goes over capacity). */
  restoreIfSpilled(id: ObjectId): void {
    const o = this.objects.get(id);
    if (!o || o.entry === 0 || this.d.core.exports.objState(o.entry) !== L.OBJ_SPILLED || !this.d.spill.isSpilled(id)) return;
    this.d.store.keepSegment(id, this.d.spill.restore(id, this.d.store.pool!));
    this.d.core.exports.objSetState(o.entry, L.OBJ_SEALED);
    for (const victim of this.d.spill.victims(id)) this.spillObject(victim);
  }

  isReadable(id: ObjectId): boolean {
    const o = this.objects.get(id);
    if (!o || o.entry === 0) return false;
    const ex = this.d.core.exports;
    if (ex.objState(o.entry) !== L.OBJ_SEALED) return false;
    return !(ex.objFlags(o.entry) & L.FLAG_SEGMENT) || this.d.store.segments.has(id);
  }

  isErrorValue(id: ObjectId): boolean {
    const o = this.objects.get(id);
    return o !== undefined && o.entry !== 0 && (this.d.core.exports.objFlags(o.entry) & L.FLAG_ERROR) !== 0;
  }

  private putIds = new Set<ObjectId>();

  isPutId(id: ObjectId): boolean { return this.putIds.has(id); }

  /** Drops a stored object as a lost node would (fault injection). */
  evict(ref: ObjectRef): boolean {
    checkOwnedBy(this.d.runtime, ref, "faults.evict(): the ref");
    const o = this.objects.get(ref.id);
    if (!o || o.entry === 0) return false;
    const ex = this.d.core.exports;
    if (ex.objState(o.entry) !== L.OBJ_SEALED) return false;
    const flags = ex.objFlags(o.entry);
    const location = ex.objLocation(o.entry);
    ex.objSetState(o.entry, L.OBJ_LOST);
    if (flags & L.FLAG_SEGMENT) {
      this.d.store.release(o.id, location, flags);
      this.d.spill.forget(o.id);
      this.droppedSegments.push(o.id);
      this.flushDroppedSegments();
    } else if (location !== 0) {
      // A worker may be reading it right now (it saw it sealed an instant ago, with a ref it holds): a block
      // freed at once could be reused by the next seal and decoded as this object's value. Unlike a free (no
      // ref left, so no reader), an eviction waits until any such read is long over.
      setTimeout(() => { if (!this.d.closed) this.d.core.exports.arenaFree(location); }, EVICTED_BLOCK_QUARANTINE_MS).unref();
    }
    if (o.isPut) this.putIds.add(o.id);
    this.d.events.emit("object:lost", { objectId: o.id, taskId: formatTaskId(this.d.streams.producerOf(o.id)), reason: "evicted" });
    return true;
  }

  /**
   * The segments of an actor task's arguments that are readable here, sent with the task to its thread: asked
   * for when the call starts instead, each cost a round trip through this thread's event loop, and a driver
   * busy submitting (say, encoding the next big arguments) left the actor idle until it was done.
   */
  segmentsFor(deps: ObjectId[]): Array<[ObjectId, SharedArrayBuffer]> | undefined {
    let out: Array<[ObjectId, SharedArrayBuffer]> | undefined;
    for (const d of deps) {
      if (!this.isReadable(d) || !this.d.store.segments.has(d)) continue;
      this.d.spill.touch(d);
      (out ??= []).push([d, this.d.store.segmentToSend(d)!]); // pinned for the thread, which adopts it
    }
    return out;
  }
}
