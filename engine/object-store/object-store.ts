// Where object payloads live, as one thread sees them: small values in the core's arena, values with big
// buffers in their own SharedArrayBuffer segment (which a view keeps alive, so memory a live view sees is
// never reused). It writes and reads payloads; it does not decide lifetimes (the reference counter does).
import * as L from "../../core-wasm/shared/layout.js";
import type { Core } from "../wasm/core.js";
import { encodeValue, writeEncoded, decodeValue, type EncodedValue, type DecodeHooks } from "../serialization/value-codec.js";
import { toWire, fromWire, type WireError, ObjectStoreFullError } from "../errors.js";
import type { ObjectId } from "../ids.js";
import { handles, POOL_MIN_BYTES, SEGMENT_HEADER, segmentSize, type SegmentPool } from "./segment-pool.js";
import { CollectionPacer } from "./collection-pacer.js";
import { checksum } from "./immutability-checker.js";
import { merged } from "../merged.js";

/** Values up to this size go to the arena when they have no out-of-band buffers. */
export const ARENA_OBJECT_LIMIT = 256 * 1024;

export interface StoredLocation {
  location: number;
  size: number;
  flags: number;
  /** Set when the payload went to a segment the other threads must be told about. */
  segment?: SharedArrayBuffer;
  /** checkImmutable: the segment's checksum, taken before anyone else can see it (see ImmutabilityChecker). */
  sum?: number;
}

export class ObjectStore {
  /**
   * Segments this thread can see, by object id. A segment outlives its entry while a view holds it. In a worker
   * these are the handles its views are made from; in the driver (which has a pool) they are anchors that
   * never reach user code, and the driver's views come from a second handle per object (`views`), so that the
   * pool can tell when no view is left. That handle is held weakly: the collection that finds an object's refs
   * dead then finds its handle dead too, and the segment can be reused after one collection instead of two.
   */
  readonly segments = new Map<ObjectId, SharedArrayBuffer>();
  private readonly views = new Map<ObjectId, WeakRef<SharedArrayBuffer>>();
  private readonly pacer: CollectionPacer;

  /**
   * @param checksums checkImmutable is on: a worker sums each segment it writes before sealing it.
   * @param worker in a worker thread, its index: the arena blocks it writes are recorded in its worker record
   * until handed over, so that the driver frees them if the thread dies first (core-wasm worker-table.ts). -1: the driver.
   */
  constructor(
    private readonly core: Core, private readonly capacityBytes: number, readonly pool?: SegmentPool,
    private readonly checksums = false, private readonly worker = -1,
  ) {
    this.pacer = new CollectionPacer(capacityBytes);
  }

  /** Encodes and writes a value; the caller seals the entry with the returned location. */
  writeValue(id: ObjectId, value: unknown, path: string): StoredLocation {
    return this.writeEncoded(id, encodeValue(value, path), 0);
  }

  /** Writes an error as the object's value (a failed task's returns hold its error). */
  writeError(id: ObjectId, error: unknown): StoredLocation {
    const wire = toWire(error);
    let encoded: EncodedValue;
    try {
      encoded = encodeValue(wire, "error");
    } catch {
      encoded = encodeValue(merged(wire, { cause: String(wire.cause) }), "error");
    }
    return this.writeEncoded(id, encoded, L.FLAG_ERROR);
  }

  /** `arena` false: into a segment even when the arena could hold it. */
  writeEncoded(id: ObjectId, encoded: EncodedValue, flags: number, arena = true): StoredLocation {
    if (encoded.size > this.capacityBytes) {
      throw new ObjectStoreFullError(
        `object ${id} needs ${encoded.size} bytes but the whole store holds ${this.capacityBytes} (objectStoreBytes); ` +
        `split the value or raise objectStoreBytes`);
    }
    if (arena && encoded.buffers.length === 0 && encoded.size <= ARENA_OBJECT_LIMIT) {
      const at = this.worker < 0 ? this.core.exports.arenaAlloc(encoded.size) : this.core.exports.arenaAllocFor(encoded.size, this.worker);
      if (at !== 0) {
        writeEncoded(encoded, this.core.u8, at);
        return { location: at, size: encoded.size, flags };
      }
    }
    const segment = this.pool ? this.driverSegment(encoded.size) : new SharedArrayBuffer(segmentSize(encoded.size));
    writeEncoded(encoded, new Uint8Array(segment), SEGMENT_HEADER);
    if (!this.pool) handles.pinHere(segment);
    this.keepSegment(id, segment);
    return { location: 0, size: encoded.size, flags: flags | L.FLAG_SEGMENT, segment, sum: this.checksums ? checksum(segment) : undefined };
  }

  /** A recycled segment when the pool has one; else a fresh one, and maybe a collection to refill the pool. */
  private driverSegment(bytes: number): SharedArrayBuffer {
    const recycled = this.pool!.takeRecycled(bytes);
    if (recycled) return recycled;
    const size = segmentSize(bytes);
    if (size >= POOL_MIN_BYTES) this.pacer.poolMissed(size);
    return new SharedArrayBuffer(size);
  }

  /** A segment that arrived from another thread, pinned by its sender (a worker's view handle). */
  adoptSegment(id: ObjectId, segment: SharedArrayBuffer): void {
    handles.adopt(segment);
    this.keepSegment(id, segment);
  }

  /** Records the segment that holds an object's payload in this thread (written here, arrived or restored). */
  keepSegment(id: ObjectId, segment: SharedArrayBuffer): void {
    this.segments.set(id, segment);
    if (this.pool) this.pacer.note(segment.byteLength); // the driver: see CollectionPacer
  }

  /** Segments that came with a task (see Runtime.segmentsFor), each pinned by the driver. */
  adoptSegments(list: Array<[ObjectId, SharedArrayBuffer]> | undefined): void {
    if (list) for (const [id, segment] of list) this.adoptSegment(id, segment);
  }

  /** The segment to post to another thread, pinned for it (it adopts it on arrival). */
  segmentToSend(id: ObjectId): SharedArrayBuffer | undefined {
    const segment = this.segments.get(id);
    if (segment) handles.pinForSend(segment);
    return segment;
  }

  /** The object's segment leaves this thread's memory (freed, spilled or evicted); the pool may reuse it. */
  dropSegment(id: ObjectId): void {
    const segment = this.segments.get(id);
    if (!segment) return;
    this.segments.delete(id);
    this.views.delete(id);
    if (this.pool) this.pool.retire(segment);
    else this.pacer.note(segment.byteLength); // a worker's handle is garbage from here on: see CollectionPacer
  }

  /** The handle this thread's views of an object are made from. */
  private viewHandle(id: ObjectId): SharedArrayBuffer | undefined {
    if (!this.pool) return this.segments.get(id);
    let view = this.views.get(id)?.deref();
    if (view) return view;
    const anchor = this.segments.get(id);
    if (!anchor) return undefined;
    view = structuredClone(anchor);
    handles.pinHere(view);
    this.views.set(id, new WeakRef(view));
    return view;
  }

  /**
   * Reads a sealed object. Returns { error } when the object holds a failure.
   * Arena values are copied out (the arena may reuse the block once the object is freed); segment values are
   * views on the segment.
   */
  read(id: ObjectId, entry: number, hooks: DecodeHooks): { value?: unknown; error?: Error } {
    const ex = this.core.exports;
    const flags = ex.objFlags(entry);
    let value: unknown;
    if (flags & L.FLAG_SEGMENT) {
      const segment = this.viewHandle(id);
      if (!segment) throw new Error(`Loom store: segment of object ${id} is not known in this thread`);
      value = decodeValue(new Uint8Array(segment), SEGMENT_HEADER, hooks, true);
    } else {
      value = decodeValue(this.core.u8, ex.objLocation(entry), hooks, false);
    }
    if (flags & L.FLAG_ERROR) return { error: fromWire(value as WireError) };
    return { value };
  }

  /** Frees the memory of a stored object (driver, when nothing references it). */
  release(id: ObjectId, location: number, flags: number): void {
    if (flags & L.FLAG_SEGMENT) this.dropSegment(id);
    else if (location !== 0) this.core.exports.arenaFree(location);
  }
}
