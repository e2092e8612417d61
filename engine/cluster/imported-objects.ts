// The objects a node pulled to run tasks on them: secondary copies, stored in the local runtime and kept by
// key so that many tasks on one argument pull it once. A copy lives until its key is released or the copies
// together pass a byte budget (oldest use first). It does not decide where to pull from: the message says.
import { LoomError } from "../errors.js";
import { localizeRefs } from "./ref-translation.js";
import type { ObjectRef } from "../refs.js";
import type { Runtime } from "../runtime/runtime.js";
import type { ObjectSource } from "./messages.js";
import type { ObjectPuller } from "./object-transfer.js";

/** Bytes of pulled copies kept for later tasks, at most. */
export const IMPORT_CACHE_BYTES = 256 * 2 ** 20;

interface CopyEntry {
  /** Holds the local copy; dropping the entry lets the local runtime free it once no task needs it. */
  ref: ObjectRef;
  bytes: number;
}

export class ImportedObjects {
  /** key → local copy, in order of last use (a Map keeps insertion order; a use re-inserts). */
  private readonly copies = new Map<string, CopyEntry>();
  /** key → the pull under way; a release while it runs keeps its copy out of the cache. */
  private readonly pulling = new Map<string, { promise?: Promise<ObjectRef> }>();
  private bytes = 0;

  constructor(
    private readonly runtime: Runtime,
    private readonly puller: ObjectPuller,
    /** An object this node already holds under the key (a result of a task it ran): used as it is. */
    private readonly heldHere: (key: string) => ObjectRef | undefined,
    private readonly budget = IMPORT_CACHE_BYTES,
  ) {}

  /** A local ref for every source, by the submitter's id (the keys of `sources`). */
  async localRefs(sources: Record<string, ObjectSource>): Promise<Map<string, ObjectRef>> {
    const ids = Object.keys(sources);
    const refs = await Promise.all(ids.map((id) => this.localRef(sources[id]!)));
    return new Map(ids.map((id, i) => [id, refs[i]!]));
  }

  /** The copy kept under `key`, if any (to serve pulls of it from other nodes). */
  get(key: string): ObjectRef | undefined {
    return this.copies.get(key)?.ref;
  }

  release(key: string): void {
    this.pulling.delete(key);
    const entry = this.copies.get(key);
    if (!entry) return;
    this.copies.delete(key);
    this.bytes -= entry.bytes;
  }

  clear(): void {
    this.copies.clear();
    this.pulling.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.copies.size;
  }

  private localRef(source: ObjectSource): Promise<ObjectRef> {
    const held = this.heldHere(source.key);
    if (held) return Promise.resolve(held);
    const entry = this.copies.get(source.key);
    if (entry) {
      this.copies.delete(source.key);
      this.copies.set(source.key, entry);
      return Promise.resolve(entry.ref);
    }
    const under = this.pulling.get(source.key);
    if (under) return under.promise!;
    const slot: { promise?: Promise<ObjectRef> } = {};
    this.pulling.set(source.key, slot);
    const done = () => { if (this.pulling.get(source.key) === slot) this.pulling.delete(source.key); };
    slot.promise = this.pull(source, slot);
    slot.promise.then(done, done);
    return slot.promise;
  }

  private async pull(source: ObjectSource, slot: object): Promise<ObjectRef> {
    let target: { segment: SharedArrayBuffer; view: Uint8Array } | undefined;
    const raw = await this.puller.pull(source.from, source.key, (size) => (target = this.runtime.pullTarget(size))?.view ?? new Uint8Array(size));
    // Its refs name objects of the process that wrote it: those are pulled (or found here) first, and the value
    // is stored again holding refs of this node's runtime.
    const ref = raw.hasRefs
      ? this.runtime.importEncoded(await localizeRefs(raw, this.runtime, (c) => this.localRef({ key: c.key, from: c.from })))
      : this.runtime.importObject(raw.flags, raw.bytes, target?.view === raw.bytes ? target.segment : undefined);
    // Released while it was pulled: the task that asked still gets it, the cache does not keep it.
    if (this.pulling.get(source.key) === slot) {
      this.copies.set(source.key, { ref, bytes: raw.bytes.length });
      this.bytes += raw.bytes.length;
      this.evict();
    }
    return ref;
  }

  /** Drops the least recently used copies until the rest fit the budget (a task that holds one keeps it). */
  private evict(): void {
    for (const [key, entry] of this.copies) {
      if (this.bytes <= this.budget) break;
      this.copies.delete(key);
      this.bytes -= entry.bytes;
    }
  }
}
