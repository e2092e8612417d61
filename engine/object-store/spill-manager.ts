// Spilling: keeps the bytes of segment objects in shared memory within objectStoreBytes by writing the least
// recently used ones to files in the spill directory, and reading them back on demand. It owns the spill files
// and the LRU order; it does not decide liveness (the runtime frees objects) nor touch the core's table.
import { mkdirSync, writeFileSync, readFileSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ObjectId } from "../ids.js";
import { SEGMENT_HEADER, type SegmentPool } from "./segment-pool.js";

const PREFIX = "loom-spill";

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class SpillManager {
  readonly dir: string;
  private readonly ownsDir: boolean;
  /** Segment objects in memory, least recently used first, with their sizes. */
  private readonly resident = new Map<ObjectId, number>();
  private residentBytes = 0;
  /** Spilled objects: their file and its size. */
  private readonly spilled = new Map<ObjectId, { file: string; bytes: number }>();
  /** Bytes of the spill files that exist now. */
  bytesSpilled = 0;

  constructor(private readonly capacityBytes: number, spillDir?: string) {
    this.ownsDir = spillDir === undefined;
    this.dir = spillDir ?? join(tmpdir(), `${PREFIX}-${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(this.dir, { recursive: true });
    SpillManager.removeOrphans(spillDir ?? tmpdir());
  }

  /** Files and folders left by runs that exited without shutdown (their process is gone). */
  static removeOrphans(where: string): void {
    let names: string[] = [];
    try { names = readdirSync(where); } catch { return; }
    for (const name of names) {
      const m = new RegExp(`^${PREFIX}-(\\d+)-`).exec(name);
      if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) {
        rmSync(join(where, name), { recursive: true, force: true });
      }
    }
  }

  get bytesInMemory(): number {
    return this.residentBytes;
  }

  /** A segment object now lives in memory (stored, or read back). */
  stored(id: ObjectId, bytes: number): void {
    if (this.resident.has(id)) return;
    this.resident.set(id, bytes);
    this.residentBytes += bytes;
  }

  /** Marks a use, so it is spilled last. */
  touch(id: ObjectId): void {
    const bytes = this.resident.get(id);
    if (bytes === undefined) return;
    this.resident.delete(id);
    this.resident.set(id, bytes);
  }

  /** Objects to spill, oldest first, until memory fits (never `keep`). */
  victims(keep?: ObjectId): ObjectId[] {
    const out: ObjectId[] = [];
    let over = this.residentBytes - this.capacityBytes;
    for (const [id, bytes] of this.resident) {
      if (over <= 0) break;
      if (id === keep) continue;
      out.push(id);
      over -= bytes;
    }
    return out;
  }

  /** Writes a segment's bytes to its file; the caller drops the segment from memory. */
  spill(id: ObjectId, segment: SharedArrayBuffer): void {
    const file = join(this.dir, `${PREFIX}-${process.pid}-${id}.bin`);
    writeFileSync(file, new Uint8Array(segment));
    this.spilled.set(id, { file, bytes: segment.byteLength });
    this.bytesSpilled += segment.byteLength;
    this.forget(id);
  }

  isSpilled(id: ObjectId): boolean {
    return this.spilled.has(id);
  }

  /** Reads a spilled object back into a segment from `pool` and deletes its file. */
  restore(id: ObjectId, pool: SegmentPool): SharedArrayBuffer {
    const spilled = this.spilled.get(id);
    if (!spilled) throw new Error(`Loom store: object ${id} has no spill file`);
    const { file } = spilled;
    const bytes = readFileSync(file);
    const segment = pool.take(bytes.byteLength - SEGMENT_HEADER);
    new Uint8Array(segment).set(bytes.subarray(SEGMENT_HEADER), SEGMENT_HEADER); // the header's handle count starts clear
    rmSync(file, { force: true });
    this.spilled.delete(id);
    this.bytesSpilled -= spilled.bytes;
    this.stored(id, segment.byteLength);
    return segment;
  }

  /** The object left memory (spilled, freed or evicted): drop it from the accounting. */
  forget(id: ObjectId): void {
    const bytes = this.resident.get(id);
    if (bytes === undefined) return;
    this.resident.delete(id);
    this.residentBytes -= bytes;
  }

  /** Drops a spilled object's file (the object was freed). */
  discard(id: ObjectId): void {
    const spilled = this.spilled.get(id);
    if (spilled) {
      rmSync(spilled.file, { force: true });
      this.bytesSpilled -= spilled.bytes;
    }
    this.spilled.delete(id);
    this.forget(id);
  }

  /** Removes every spill file (shutdown). */
  close(): void {
    for (const { file } of this.spilled.values()) rmSync(file, { force: true });
    this.spilled.clear();
    this.bytesSpilled = 0;
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
