// Objects as bytes, for the cluster's wire: a sealed object's encoded payload and flags read out of this
// process's store (to serve a pull), and such bytes written back in and sealed under a new id (a pulled copy).
// The bytes are the value codec's, so a copy decodes exactly as the original; refs inside them name objects of
// the process that wrote them, which is why `hasRefs` travels with them.
import * as L from "../../core-wasm/shared/layout.js";
import { LoomError } from "../errors.js";
import { childTaskId, objectIdOf, isActorHandleObject, DRIVER_TASK_ID, type ObjectId } from "../ids.js";
import { ObjectRef } from "../refs.js";
import { SEGMENT_HEADER, segmentSize, handles } from "./segment-pool.js";
import { ARENA_OBJECT_LIMIT } from "./object-store.js";
import type { DriverContext } from "../runtime/driver-context.js";
import type { RawObject } from "./raw-object.js";
import type { EncodedValue } from "../serialization/value-codec.js";

export type { RawObject };

type RawDeps = Pick<DriverContext, "core" | "objects" | "store" | "spill" | "waiters" | "parkWake">;

/** Stores an encoded value under `id` (registered by the caller, not yet sealed), holding the refs it names. */
export function importEncodedInto(d: RawDeps & Pick<DriverContext, "refs">, id: ObjectId, encoded: EncodedValue): void {
  const o = d.objects.get(id);
  if (!o || o.entry === 0) throw new LoomError(`object ${id} is not registered; cannot store a pulled copy`);
  const where = d.store.writeEncoded(id, encoded, 0);
  d.refs.holdContained(o, encoded.refs);
  d.parkWake.notifyWorkers(d.objects.seal(o, where));
  if (where.segment) d.objects.segmentStored(id);
  d.waiters.onSealed(id);
}

/**
 * The sealed object's bytes (a view: copy before the object can be freed), or undefined if it is not sealed
 * here. On a cluster, a value holding refs also says where each object it names can be pulled from.
 */
export function exportRaw(d: RawDeps & Pick<DriverContext, "cluster">, id: ObjectId): RawObject | undefined {
  const raw = exportBytes(d, id);
  const cluster = d.cluster;
  if (!raw?.hasRefs || !cluster) return raw;
  // The rows that count actor handles are no objects to pull (ids.ts: actorHandleObjectId).
  return { ...raw, contains: d.objects.get(id)!.contains.filter((c) => !isActorHandleObject(c)).map((c) => ({ id: c, ...cluster.objects.sourceNow(c) })) };
}

/** exportRaw for a pull of an object still being made here (a result a value names): once it is sealed. */
export function exportWhenSealed(d: RawDeps & Pick<DriverContext, "cluster" | "closed">, id: ObjectId): RawObject | undefined | Promise<RawObject | undefined> {
  const now = exportRaw(d, id);
  if (now) return now;
  const o = d.objects.get(id);
  if (!o || o.entry === 0 || d.closed) return undefined;
  return d.waiters.whenSealed(id).then(() => exportRaw(d, id));
}

function exportBytes(d: RawDeps, id: ObjectId): RawObject | undefined {
  d.objects.restoreIfSpilled(id);
  if (!d.objects.isReadable(id)) return undefined;
  const o = d.objects.get(id)!;
  const ex = d.core.exports;
  const flags = ex.objFlags(o.entry);
  const size = ex.objSize(o.entry);
  const hasRefs = o.contains.length > 0;
  if (flags & L.FLAG_SEGMENT) {
    const segment = d.store.segments.get(id)!;
    d.spill.touch(id);
    return { flags: flags & (L.FLAG_ERROR | L.FLAG_SEGMENT), bytes: new Uint8Array(segment, SEGMENT_HEADER, size), hasRefs };
  }
  const at = ex.objLocation(o.entry);
  return { flags: flags & L.FLAG_ERROR, bytes: d.core.u8.subarray(at, at + size), hasRefs };
}

/**
 * Memory for a pulled object of `size` bytes that is big enough for a segment of its own: a recycled segment
 * when the store has one (its pages are touched already; a fresh one costs a page fault per 4 KiB), with the
 * view to pull into. Undefined for a size the arena takes.
 */
export function pullTarget(d: Pick<DriverContext, "store">, size: number): { segment: SharedArrayBuffer; view: Uint8Array } | undefined {
  if (size <= ARENA_OBJECT_LIMIT) return undefined;
  const segment = d.store.pool?.takeRecycled(size) ?? new SharedArrayBuffer(segmentSize(size));
  return { segment, view: new Uint8Array(segment, SEGMENT_HEADER, size) };
}

/**
 * Writes a pulled object's bytes under `id` (registered by the caller, not yet sealed) and seals it. Bytes that
 * had a segment get one again (their buffers are laid out for it); small ones go to the arena when it has room.
 */
export function importRaw(d: RawDeps, id: ObjectId, flags: number, bytes: Uint8Array, pulledInto?: SharedArrayBuffer): void {
  const o = d.objects.get(id);
  if (!o || o.entry === 0) throw new LoomError(`object ${id} is not registered; cannot store a pulled copy`);
  const ex = d.core.exports;
  let where: { location: number; size: number; flags: number };
  const at = !pulledInto && !(flags & L.FLAG_SEGMENT) && bytes.length <= ARENA_OBJECT_LIMIT ? ex.arenaAlloc(Math.max(bytes.length, 1)) : 0;
  if (pulledInto) {
    // Pulled straight into its segment (pullTarget): nothing to copy.
    if (!d.store.pool) handles.pinHere(pulledInto);
    d.store.keepSegment(id, pulledInto);
    where = { location: 0, size: bytes.length, flags: (flags & L.FLAG_ERROR) | L.FLAG_SEGMENT };
  } else if (at !== 0) {
    d.core.u8.set(bytes, at);
    where = { location: at, size: bytes.length, flags: flags & L.FLAG_ERROR };
  } else {
    const segment = d.store.pool?.takeRecycled(bytes.length) ?? new SharedArrayBuffer(segmentSize(bytes.length));
    new Uint8Array(segment, SEGMENT_HEADER, bytes.length).set(bytes);
    if (!d.store.pool) handles.pinHere(segment);
    d.store.keepSegment(id, segment);
    where = { location: 0, size: bytes.length, flags: (flags & L.FLAG_ERROR) | L.FLAG_SEGMENT };
  }
  d.parkWake.notifyWorkers(d.objects.seal(o, where));
  if (where.flags & L.FLAG_SEGMENT) d.objects.segmentStored(id);
  d.waiters.onSealed(id);
}

/** Stores pulled bytes as a new object of the driver, as put() does, and returns its ref (see Runtime.importObject). */
export function importAsNewObject(
  d: RawDeps & Pick<DriverContext, "tasks" | "graph" | "runtime">, flags: number, bytes: Uint8Array, pulledInto?: SharedArrayBuffer,
): ObjectRef {
  const taskId = childTaskId(DRIVER_TASK_ID, d.tasks.driverChildren++);
  const id = objectIdOf(taskId, 0);
  d.objects.registerObject(id, true);
  importRaw(d, id, flags, bytes, pulledInto);
  d.graph.recordNode(taskId, "put", "put", "finished");
  return new ObjectRef(id, d.runtime);
}
