// The driver's tables of tasks and objects by id. The driver's own tasks count up from 1 and most work is
// theirs, so those ids live in small chunks of arrays (an insert or lookup touches memory next to the last
// one); a hashed nested-task id, or an object id that is not a task's first return, falls back to a Map.
// A profile of 100k trivial tasks spent about a third of the driver's own time in Map lookups and inserts.

const CHUNK_BITS = 8;
const CHUNK_SIZE = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_SIZE - 1;
/** Dense keys stay below this (chunk numbers stay small integers). */
const DENSE_LIMIT = 2 ** 31;

interface Chunk<V> {
  items: (V | undefined)[];
  live: number;
}

export class IdTable<V extends object> {
  private readonly chunks = new Map<number, Chunk<V>>();
  private readonly sparse = new Map<number, V>();
  private lastNumber = -1;
  private lastChunk: Chunk<V> | undefined = undefined;
  private count = 0;

  /** `stride`: ids that are a multiple of it are dense (object ids: a task's first return is taskId * 64). */
  constructor(private readonly stride = 1) {}

  get size(): number {
    return this.count;
  }

  get(id: number): V | undefined {
    const key = this.denseKey(id);
    if (key < 0) return this.sparse.get(id);
    const chunk = this.chunk(key >>> CHUNK_BITS);
    return chunk === undefined ? undefined : chunk.items[key & CHUNK_MASK];
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, value: V): void {
    const key = this.denseKey(id);
    if (key < 0) {
      if (!this.sparse.has(id)) this.count++;
      this.sparse.set(id, value);
      return;
    }
    const number = key >>> CHUNK_BITS;
    let chunk = this.chunk(number);
    if (chunk === undefined) {
      chunk = { items: new Array<V | undefined>(CHUNK_SIZE).fill(undefined), live: 0 };
      this.chunks.set(number, chunk);
      this.lastNumber = number;
      this.lastChunk = chunk;
    }
    const i = key & CHUNK_MASK;
    if (chunk.items[i] === undefined) { chunk.live++; this.count++; }
    chunk.items[i] = value;
  }

  delete(id: number): boolean {
    const key = this.denseKey(id);
    if (key < 0) {
      const had = this.sparse.delete(id);
      if (had) this.count--;
      return had;
    }
    const number = key >>> CHUNK_BITS;
    const chunk = this.chunk(number);
    const i = key & CHUNK_MASK;
    if (chunk === undefined || chunk.items[i] === undefined) return false;
    chunk.items[i] = undefined;
    this.count--;
    if (--chunk.live === 0) {
      // An empty chunk goes, so a long run keeps memory for live entries only (plus partly used chunks).
      this.chunks.delete(number);
      if (this.lastNumber === number) { this.lastNumber = -1; this.lastChunk = undefined; }
    }
    return true;
  }

  *values(): IterableIterator<V> {
    for (const chunk of this.chunks.values()) for (const v of chunk.items) if (v !== undefined) yield v;
    yield* this.sparse.values();
  }

  clear(): void {
    this.chunks.clear();
    this.sparse.clear();
    this.lastNumber = -1;
    this.lastChunk = undefined;
    this.count = 0;
  }

  /** The dense key of an id, or -1 when it belongs in the Map. */
  private denseKey(id: number): number {
    const key = id / this.stride;
    return key >= 0 && key < DENSE_LIMIT && key === Math.floor(key) ? key : -1;
  }

  private chunk(number: number): Chunk<V> | undefined {
    if (number === this.lastNumber) return this.lastChunk;
    const chunk = this.chunks.get(number);
    if (chunk !== undefined) { this.lastNumber = number; this.lastChunk = chunk; }
    return chunk;
  }
}
