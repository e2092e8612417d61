// Recycling of big-object segments. A fresh SharedArrayBuffer costs a page fault per 4 KiB page on first
// write (an 8 MiB put ran at a sixth of memcpy speed), so the driver keeps the segments of freed objects and
// hands them to later puts of about the same size. Memory a live view still sees is never handed out: every
// thread-side handle (a SharedArrayBuffer object that views are made from) is counted in the segment's first
// word while it lives, and a freed segment is reused only once that count is back to zero. A handle whose
// count never comes back (its thread died) keeps its segment out of the pool until the quarantine lets go.

/** Bytes before an object's encoding in its segment: the live-handle count, padded to keep buffers 64-aligned. */
export const SEGMENT_HEADER = 64;
/** Segments smaller than this are not recycled (their page faults cost little). */
export const POOL_MIN_BYTES = 1 << 20;
/**
 * The most idle memory the pool keeps, whatever the store's size. The runtime offers a quarter of the store
 * (up to 1 GiB with a big machine's default store), and dead 8 MiB segments piled up to ~300 MiB before
 * reuse (issue 27). Reuse pays where puts of one size repeat: a few segments per size cover that, and 64 MiB
 * is eight 8 MiB segments or 64 of 1 MiB, while a fresh segment's page faults (an 8 MiB put at a sixth of
 * memcpy speed) are only paid again past that. A segment bigger than the budget is not kept at all.
 */
export const MAX_IDLE_BYTES = 64 * 2 ** 20;
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

/** The driver's free segments and the freed ones still seen by some handle. Never given to user code. */
export class SegmentPool {
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  private quarantine: { segment: SharedArrayBuffer; since: number }[] = [];
  private freeBytes = 0;
  private quarantinedBytes = 0;

  /** Free plus quarantined memory stays within `limitBytes`, and within MAX_IDLE_BYTES whatever it says. */
  private readonly limitBytes: number;
  constructor(limitBytes: number) {
    this.limitBytes = Math.min(limitBytes, MAX_IDLE_BYTES);
  }

  get idleBytes(): number {
    return this.freeBytes + this.quarantinedBytes;
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
    const list = this.free.get(size);
    const segment = list?.pop();
    if (!segment) return undefined;
    this.freeBytes -= size;
    if (list!.length === 0) this.free.delete(size);
    return segment;
  }

  /** Takes back the segment of a freed (or spilled, or evicted) object; the caller keeps no handle on it. */
  retire(segment: SharedArrayBuffer): void {
    if (segment.byteLength < POOL_MIN_BYTES || segment.byteLength > this.limitBytes) return;
    this.quarantine.push({ segment, since: performance.now() });
    this.quarantinedBytes += segment.byteLength;
    this.reclaim();
  }

  /** Frees idle segments (oldest first) until at most `keepBytes` remain idle. */
  trim(keepBytes: number): void {
    while (this.quarantinedBytes > 0 && this.idleBytes > keepBytes) this.dropOldestQuarantined();
    for (const [size, list] of this.free) {
      while (list.length && this.idleBytes > keepBytes) { list.pop(); this.freeBytes -= size; }
      if (list.length === 0) this.free.delete(size);
    }
  }

  clear(): void {
    this.free.clear();
    this.quarantine = [];
    this.freeBytes = this.quarantinedBytes = 0;
  }

  /** Moves segments nothing sees any more from quarantine to the free lists; gives up on stale ones. */
  private reclaim(): void {
    if (this.quarantine.length === 0) return;
    const now = performance.now();
    const waiting: typeof this.quarantine = [];
    for (const q of this.quarantine) {
      const size = q.segment.byteLength;
      if (liveHandles(q.segment) === 0) {
        this.quarantinedBytes -= size;
        const list = this.free.get(size);
        if (list) list.push(q.segment); else this.free.set(size, [q.segment]);
        this.freeBytes += size;
      } else if (now - q.since > QUARANTINE_MS) {
        this.quarantinedBytes -= size;
      } else {
        waiting.push(q);
      }
    }
    this.quarantine = waiting;
    this.trim(this.limitBytes);
  }

  private dropOldestQuarantined(): void {
    const q = this.quarantine.shift();
    if (q) this.quarantinedBytes -= q.segment.byteLength;
  }
}
