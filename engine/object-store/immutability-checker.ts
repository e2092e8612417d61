// checkImmutable: catches writes into stored objects through the views `get` returns. Only objects held in a
// segment can be written that way (arena values are copied out on every read), so only those get a checksum:
// taken by the thread that wrote it before sealing it (a task that reads it may start on another thread before
// the driver hears of it), else when the driver stores it; compared when a task that took it as an argument ends,
// when the driver's `get` reads it, when it is freed, and at shutdown. It owns the checksums and the read
// sites; the runtime decides when to call it, and makes none unless asked (the default path pays nothing).
import { ObjectMutatedError } from "../errors.js";
import { formatTaskId, taskIdOfObject, type ObjectId } from "../ids.js";
import { SEGMENT_HEADER } from "./segment-pool.js";

interface Checked {
  sum: number;
  /** Which task (or put) made the object, for the error. */
  madeBy: string;
  /** Where it was read, newest last: the driver's get call sites and the tasks that took it as an argument. */
  readAt: string[];
}

/** Read sites kept per object: enough to point at the culprit without growing with every read. */
const READ_SITES = 4;

/** FNV-1a over 32-bit words, then the tail bytes: cheap, and any single changed word changes it. */
export function checksum(segment: SharedArrayBuffer): number {
  const bytes = segment.byteLength - SEGMENT_HEADER;
  const words = new Int32Array(segment, SEGMENT_HEADER, bytes >>> 2);
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  const tail = new Uint8Array(segment, SEGMENT_HEADER + (words.length << 2));
  for (let i = 0; i < tail.length; i++) h = Math.imul(h ^ tail[i]!, 0x01000193);
  return h;
}

export class ImmutabilityChecker {
  private readonly checked = new Map<ObjectId, Checked>();
  /** The first mismatch found where no caller could be told (a task's argument): shutdown reports it. */
  private unreported: ObjectMutatedError | undefined;

  /** @param madeBy names the task that made an object, or undefined for a put. */
  constructor(private readonly madeBy: (id: ObjectId) => string | undefined) {}

  /**
   * The object was written into `segment`: remember its checksum. A rebuilt object (lineage) is written again
   * and gets a new one, since a task need not give the same bytes twice; a spilled one read back does not.
   */
  stored(id: ObjectId, segment: SharedArrayBuffer, sum?: number): void {
    const maker = this.madeBy(id);
    this.checked.set(id, {
      sum: sum ?? checksum(segment),
      madeBy: maker ?? `put (${formatTaskId(taskIdOfObject(id))})`,
      readAt: [],
    });
  }

  /** Records a read, then compares: the error to give the reader when the object changed since it was stored. */
  read(id: ObjectId, segment: SharedArrayBuffer | undefined, where: () => string): ObjectMutatedError | undefined {
    const entry = this.checked.get(id);
    if (!entry || !segment) return undefined;
    entry.readAt.push(where()); // a stack trace per read: only for objects that have a checksum
    if (entry.readAt.length > READ_SITES) entry.readAt.shift();
    return this.compare(id, entry, segment);
  }

  /** After a task that took these objects as arguments ended: a write it made is kept for shutdown. */
  readByTask(ids: readonly ObjectId[], task: string, segmentOf: (id: ObjectId) => SharedArrayBuffer | undefined): void {
    for (const id of ids) {
      const error = this.read(id, segmentOf(id), () => `task ${task}`);
      if (error) this.unreported ??= error;
    }
  }

  /** The object is freed (its segment may be reused): a last comparison, kept for shutdown if it fails. */
  released(id: ObjectId, segment: SharedArrayBuffer | undefined): void {
    const entry = this.checked.get(id);
    if (!entry) return;
    this.checked.delete(id);
    const error = segment ? this.compare(id, entry, segment) : undefined;
    if (error) this.unreported ??= error;
  }

  /** At shutdown: every object still stored is compared; the first mismatch found (now or before) is returned. */
  checkAll(segmentOf: (id: ObjectId) => SharedArrayBuffer | undefined): ObjectMutatedError | undefined {
    for (const [id, entry] of this.checked) {
      const segment = segmentOf(id);
      const error = segment ? this.compare(id, entry, segment) : undefined;
      if (error) this.unreported ??= error;
    }
    return this.unreported;
  }

  private compare(id: ObjectId, entry: Checked, segment: SharedArrayBuffer): ObjectMutatedError | undefined {
    if (checksum(segment) === entry.sum) return undefined;
    const reads = entry.readAt.length > 0 ? entry.readAt.map((r) => `\n  - ${r}`).join("") : " (no read recorded)";
    return new ObjectMutatedError(
      `object ${id}, made by ${entry.madeBy}, changed after it was stored; stored objects are immutable (copy a ` +
      `value from get with .slice() before writing to it). It was read at:${reads}`,
      { objectId: id, madeBy: entry.madeBy, readAt: [...entry.readAt] },
    );
  }
}
