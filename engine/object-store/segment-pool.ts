// Recycling of big-object segments. A fresh SharedArrayBuffer costs a page fault per 4 KiB page on first
// write (an 8 MiB put ran at a sixth of memcpy speed), so the driver keeps the segments of freed objects and
// hands them to later puts of about the same size. Memory a live view still sees is never handed out: every
// thread-side handle (a SharedArrayBuffer object that views are made from) is counted in the segment's first
// word while it lives, and a freed segment is reused only once that count is back to zero. A handle whose
// count never comes back (its thread died) keeps its segment out of the pool until the quarantine lets go.
// A cluster node does the same with the segments it pulls objects into (raw-objects.ts pullTarget).

/** Bytes before an object's encoding in its segment: the live-handle count, padded to keep buffers 64-aligned. */
export const SEGMENT_HEADER = 64;
/** Segments smaller than this are not recycled (their page faults cost little). */
export const POOL_MIN_BYTES = 1 << 20;
/**
 * The most idle memory the pool keeps, whatever the store's size. The runtime offers a quarter of the store
 * (up to 1 GiB with a big machine's default store), and dead 8 MiB segments piled up to ~300 MiB before
 * reuse (issue 27). Reuse pays where puts of one size repeat: a few segments per size cover that, and 64 MiB
 * is eight 8 MiB segments or 64 of 1 MiB, while a fresh segment's page faults (an 8 MiB put at a sixth of
 * memcpy speed) are only paid again past that. Segments bigger than this have a budget of their own (below).
 */
export const MAX_IDLE_BYTES = 64 * 2 ** 20;
/**
 * Segments bigger than MAX_IDLE_BYTES are kept apart, at most this many at a time (and within the pool's limit):
 * a node that pulls a 256 MiB object writes 65,536 fresh pages, a second at this VM's ~15 µs per first touch,
 * where raw TCP of the same bytes takes a tenth of that. Big objects come few at a time, and the one arriving
 * usually overlaps the one being freed, so two cover a run of same-sized pulls or puts.
 */
export const MAX_IDLE_BIG_SEGMENTS = 2;
/** A big segment nobody took for this long is let go, so that a process done with big objects gives the memory back. */
export const BIG_IDLE_MS = 30_000;
/** How long a freed segment waits for the handles on it to be collected before the pool gives up on it. */
const QUARANTINE_MS = 10_000;

/**
 * Counts the handles on segments that are alive in this thread. A handle is pinned by whoever makes it reachable
 * here (this thread for its own, the sender for one it posts) and unpinned when it is collected.
 */
class HandleWatch {
  /** The held value is a second handle on the same memory, so that it does not keep the watched one alive. */
  private readonly registry = new FinalizationRegistry<Int32Array>((count) => { Atomics.sub(count, 0, 1); });

  /** Pins a handle that this thread made or took over, and unpins it when it is collected. */
  pinHere(handle: SharedArrayBuffer): void {
    Atomics.add(new Int32Array(handle, 0, 1), 0, 1);
    this.adopt(handle);
  }

  /** A handle that arrived already pinned by its sender: unpins it when it is collected. */
  adopt(handle: SharedArrayBuffer): void {
    this.registry.register(handle, new Int32Array(structuredClone(handle), 0, 1));
  }

  /** Pins on behalf of the thread a handle is about to be posted to (it adopts it on arrival). */
  pinForSend(handle: SharedArrayBuffer): void {
    Atomics.add(new Int32Array(handle, 0, 1), 0, 1);
  }
}

export const handles = new HandleWatch();

function liveHandles(segment: SharedArrayBuffer): number {
  return Atomics.load(new Int32Array(segment, 0, 1), 0);
}

/**
 * The segment size for `bytes` of payload: big ones round up to one of 32 sizes per power of two (at most 3%
 * more), so that puts of about one size can share segments.
 */
export function segmentSize(bytes: number): number {
  const n = bytes + SEGMENT_HEADER;
  if (n < POOL_MIN_BYTES) return n;
  const step = Math.max(1 << 16, 2 ** Math.floor(Math.log2(n)) / 32);
  return Math.ceil(n / step) * step;
}

/** A freed segment, since when it was freed (in quarantine) or free (a big one). */
interface Idle { segment: SharedArrayBuffer; since: number }

/** Whether a segment of `size` bytes is big: kept apart from the others, by count (MAX_IDLE_BIG_SEGMENTS). */
const isBig = (size: number) => size > MAX_IDLE_BYTES;

/**
 * The driver's free segments and the freed ones still seen by some handle. Never given to user code. Two budgets:
 * segments up to MAX_IDLE_BYTES share MAX_IDLE_BYTES of idle memory (many puts of a few sizes); bigger ones are
 * kept up to MAX_IDLE_BIG_SEGMENTS at a time, each let go after `bigIdleMs` unused. Both give way first when the
 * store needs the memory (trim).
 */
export class SegmentPool {
  /** Free segments up to MAX_IDLE_BYTES, by size. */
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  /** Free big segments, oldest first. */
  private big: Idle[] = [];
  private quarantine: Idle[] = [];
  private freeBytes = 0;
  private bigBytes = 0;
  private quarantinedBytes = 0;
  /** Of the quarantined segments, the big ones' count and bytes. */
  private bigQuarantined = { count: 0, bytes: 0 };
  private bigTimer: ReturnType<typeof setTimeout> | undefined;

  /** Idle segments up to MAX_IDLE_BYTES stay within min(`limitBytes`, MAX_IDLE_BYTES). */
  private readonly limitBytes: number;
  /** Idle big segments stay within `limitBytes` as given (the runtime offers a quarter of its store). */
  private readonly bigLimitBytes: number;
  /** @param bigIdleMs how long a big segment waits for a taker (BIG_IDLE_MS; tests shorten it). */
  constructor(limitBytes: number, private readonly bigIdleMs = BIG_IDLE_MS) {
    this.limitBytes = Math.min(limitBytes, MAX_IDLE_BYTES);
    this.bigLimitBytes = limitBytes;
  }

  get idleBytes(): number {
    return this.freeBytes + this.bigBytes + this.quarantinedBytes;
  }

  /** A segment for `bytes` of payload, with its header clear: a recycled one when one of that size is free. */
  take(bytes: number): SharedArrayBuffer {
    return this.takeRecycled(bytes) ?? new SharedArrayBuffer(segmentSize(bytes));
  }

  /** A free segment for `bytes` of payload, or undefined when none of that size is free (or it is too small). */
  takeRecycled(bytes: number): SharedArrayBuffer | undefined {
    const size = segmentSize(bytes);
    if (size < POOL_MIN_BYTES) return undefined;
    this.reclaim();
    if (isBig(size)) {
      // The most recently freed of that size: the likeliest to be still in the CPU's caches and the OS's pages.
      for (let i = this.big.length - 1; i >= 0; i--) {
        if (this.big[i]!.segment.byteLength !== size) continue;
        const [{ segment }] = this.big.splice(i, 1) as [Idle];
        this.bigBytes -= size;
        return segment;
      }
      return undefined;
    }
    const list = this.free.get(size);
    const segment = list?.pop();
    if (!segment) return undefined;
    this.freeBytes -= size;
    if (list!.length === 0) this.free.delete(size);
    return segment;
  }

  /** Takes back the segment of a freed (or spilled, or evicted) object; the caller keeps no handle on it. */
  retire(segment: SharedArrayBuffer): void {
    const size = segment.byteLength;
    if (size < POOL_MIN_BYTES || size > (isBig(size) ? this.bigLimitBytes : this.limitBytes)) return;
    this.quarantine.push({ segment, since: performance.now() });
    this.quarantinedBytes += size;
    if (isBig(size)) { this.bigQuarantined.count++; this.bigQuarantined.bytes += size; }
    this.reclaim();
  }

  /** Frees idle segments until at most `keepBytes` remain idle: quarantined ones first, then big ones, oldest first. */
  trim(keepBytes: number): void {
    while (this.quarantinedBytes > 0 && this.idleBytes > keepBytes) this.dropQuarantined(0);
    while (this.big.length && this.idleBytes > keepBytes) this.dropBig(0);
    for (const [size, list] of this.free) {
      while (list.length && this.idleBytes > keepBytes) { list.pop(); this.freeBytes -= size; }
      if (list.length === 0) this.free.delete(size);
    }
  }

  clear(): void {
    this.free.clear();
    this.big = [];
    this.quarantine = [];
    this.freeBytes = this.bigBytes = this.quarantinedBytes = 0;
    this.bigQuarantined = { count: 0, bytes: 0 };
    clearTimeout(this.bigTimer);
    this.bigTimer = undefined;
  }

  /** Moves segments nothing sees any more from quarantine to the free lists; gives up on stale ones. */
  private reclaim(): void {
    const now = performance.now();
    if (this.quarantine.length > 0) {
      const waiting: Idle[] = [];
      for (const q of this.quarantine) {
        const size = q.segment.byteLength;
        if (liveHandles(q.segment) === 0) {
          this.forgetQuarantined(q);
          if (isBig(size)) {
            this.big.push({ segment: q.segment, since: now });
            this.bigBytes += size;
          } else {
            const list = this.free.get(size);
            if (list) list.push(q.segment); else this.free.set(size, [q.segment]);
            this.freeBytes += size;
          }
        } else if (now - q.since > QUARANTINE_MS) {
          this.forgetQuarantined(q);
        } else {
          waiting.push(q);
        }
      }
      this.quarantine = waiting;
    }
    this.withinBudgets(now);
  }

  /** Drops what is over either budget and big segments idle too long. */
  private withinBudgets(now: number): void {
    const smallIdle = () => this.freeBytes + this.quarantinedBytes - this.bigQuarantined.bytes;
    for (let i = 0; smallIdle() > this.limitBytes && i < this.quarantine.length;) {
      if (isBig(this.quarantine[i]!.segment.byteLength)) i++; else this.dropQuarantined(i);
    }
    for (const [size, list] of this.free) {
      while (list.length && smallIdle() > this.limitBytes) { list.pop(); this.freeBytes -= size; }
      if (list.length === 0) this.free.delete(size);
    }
    while (this.big.length && now - this.big[0]!.since > this.bigIdleMs) this.dropBig(0);
    // Over the big budget, the segments freed longest ago go first, free ones before quarantined ones: the newest
    // are likeliest to match the next big object (a job that moves from 64 MiB objects to 256 MiB ones swaps).
    const overBig = () => this.big.length + this.bigQuarantined.count > MAX_IDLE_BIG_SEGMENTS || this.bigBytes + this.bigQuarantined.bytes > this.bigLimitBytes;
    while (this.big.length && overBig()) this.dropBig(0);
    for (let i = 0; overBig() && i < this.quarantine.length;) {
      if (isBig(this.quarantine[i]!.segment.byteLength)) this.dropQuarantined(i); else i++;
    }
    this.scheduleBigExpiry();
  }

  /** An idle process lets its big segments go too: a timer (that keeps no process alive) checks when the oldest expires. */
  private scheduleBigExpiry(): void {
    if (this.bigTimer !== undefined || this.big.length === 0) return;
    const wait = Math.max(0, this.big[0]!.since + this.bigIdleMs - performance.now()) + 1;
    this.bigTimer = setTimeout(() => { this.bigTimer = undefined; this.withinBudgets(performance.now()); }, wait);
    this.bigTimer.unref?.();
  }

  private forgetQuarantined(q: Idle): void {
    const size = q.segment.byteLength;
    this.quarantinedBytes -= size;
    if (isBig(size)) { this.bigQuarantined.count--; this.bigQuarantined.bytes -= size; }
  }

  private dropQuarantined(i: number): void {
    const [q] = this.quarantine.splice(i, 1);
    if (q) this.forgetQuarantined(q);
  }

  private dropBig(i: number): void {
    const [b] = this.big.splice(i, 1);
    if (b) this.bigBytes -= b.segment.byteLength;
  }
}
