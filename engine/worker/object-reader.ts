// Reads objects from the shared store for this thread, asking the driver for those not readable here yet and
// waking their waiters when it answers. Does not write objects (see TaskCompleter) nor own the CPU slot.
import * as L from "../../core-wasm/shared/layout.js";
import type { Core } from "../wasm/core.js";
import type { ObjectStore } from "../object-store/object-store.js";
import type { DecodeHooks } from "../serialization/value-codec.js";
import { fromWire, LoomError } from "../errors.js";
import { idLo, idHi, type ObjectId } from "../ids.js";
import type { DriverLink } from "../transport/driver-link.js";
import type { DriverToWorker } from "../transport/messages.js";

/** Runs a wait without holding this thread's CPU slot (see TaskPump.blocked). */
export interface CpuReleaser {
  blocked<T>(wait: Promise<T>): Promise<T>;
}

export class ObjectReader {
  /** Waiters per object asked of the driver ("want"), until its "object" answer. */
  private readonly objectWaiters = new Map<ObjectId, Array<{ resolve: () => void; reject: (e: Error) => void }>>();

  constructor(
    private readonly core: Core, private readonly store: ObjectStore, private readonly hooks: DecodeHooks,
    private readonly link: DriverLink, private readonly cpu: CpuReleaser,
  ) {}

  /** The value of an object, waiting for it (and releasing the CPU slot) if it is not sealed yet. */
  getOne(id: ObjectId, releaseCpu: boolean): Promise<unknown> {
    const now = this.tryRead(id);
    if (now) return now.error ? Promise.reject(now.error) : Promise.resolve(now.value);
    const wait = this.wantReadable(id, 0);
    return releaseCpu ? this.cpu.blocked(wait) : wait;
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
  sealedHere(id: ObjectId): boolean {
    const ex = this.core.exports;
    const entry = ex.objFind(idLo(id), idHi(id));
    return entry !== 0 && ex.objState(entry) === L.OBJ_SEALED;
  }

  tryRead(id: ObjectId): { value?: unknown; error?: Error } | undefined {
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
      this.link.post({ t: "want", id });
    });
  }

  /** The driver's answer to "want": the object is sealed (with its segment, if any), or lost for good. */
  onObject(m: Extract<DriverToWorker, { t: "object" }>): void {
    if (m.segment) this.store.adoptSegment(m.id, m.segment);
    const list = this.objectWaiters.get(m.id);
    this.objectWaiters.delete(m.id);
    for (const w of list ?? []) m.error ? w.reject(fromWire(m.error)) : w.resolve();
  }
}
