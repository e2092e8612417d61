// The arena's algorithm (power-of-two size classes, Treiber free lists with an ABA tag, atomic bump pointer) in
// TypeScript over the core's control block and arena, so TS and wasm threads can share one arena.
// The 64-bit tagged head needs a BigInt64Array CAS: that cost is part of what the baseline measures.
import {
  CORE_BASE, CTL_ARENA_BUMP, CTL_ARENA_END, CTL_ARENA_USED, CTL_FREE_LISTS,
  ARENA_MIN_SHIFT, ARENA_CLASSES, BLOCK_HEADER,
} from "../../../core-wasm/shared/layout.js";

/** Word views on the one shared memory; both alias the same bytes. */
export interface ArenaViews {
  i32: Int32Array;
  i64: BigInt64Array;
}

const BUMP = CORE_BASE + CTL_ARENA_BUMP >> 2;
const USED = CORE_BASE + CTL_ARENA_USED >> 2;
const END = CORE_BASE + CTL_ARENA_END >> 2;
const FREE_LISTS = CORE_BASE + CTL_FREE_LISTS >> 2;
const LOW32 = 0xffffffffn;

/** BigInt64Array index of the tagged head of class `cls`: [top block address u32][tag u32]. */
function freeListHead(m: ArenaViews, cls: number): number {
  return (m.i32[FREE_LISTS]! >>> 0) + cls * 8 >> 3;
}

/** The size class that fits `bytes` of payload plus the header, or -1 when it is too big for the arena. */
export function arenaClassOf(bytes: number): number {
  const need = (bytes + BLOCK_HEADER) | 0;
  let shift = 32 - Math.clz32(need - 1);
  if (shift < ARENA_MIN_SHIFT) shift = ARENA_MIN_SHIFT;
  const cls = shift - ARENA_MIN_SHIFT;
  return cls < ARENA_CLASSES ? cls : -1;
}

/** The address of `bytes` writable bytes (8-byte aligned), or 0 when the arena cannot serve them. */
/** Pops a free block of class `cls`, or 0. */
function popFree(m: ArenaViews, cls: number): number {
  const head = freeListHead(m, cls);
  for (;;) {
    const old = Atomics.load(m.i64, head);
    const top = Number(old & LOW32);
    if (top === 0) return 0;
    // A stale next pointer (another thread popped `top` meanwhile) is caught by the tag: the CAS fails.
    const next = BigInt(m.i32[top >> 2]! >>> 0);
    const tagged = ((BigInt.asUintN(64, old) >> 32n) + 1n) << 32n | next;
    if (Atomics.compareExchange(m.i64, head, old, BigInt.asIntN(64, tagged)) === old) return top;
  }
}

/** Pushes a block onto the free list of class `cls`. */
function pushFree(m: ArenaViews, block: number, cls: number): void {
  const head = freeListHead(m, cls);
  for (;;) {
    const old = Atomics.load(m.i64, head);
    m.i32[block >> 2] = Number(old & LOW32) | 0;
    const tagged = ((BigInt.asUintN(64, old) >> 32n) + 1n) << 32n | BigInt(block);
    // seq-cst CAS: the next pointer written above is visible before the block is reachable from the head
    if (Atomics.compareExchange(m.i64, head, old, BigInt.asIntN(64, tagged)) === old) return;
  }
}

/** A block of class `cls` split from a free larger one, its other halves freed one per class on the way down. */
function splitLarger(m: ArenaViews, cls: number): number {
  for (let c = cls + 1; c < ARENA_CLASSES; c++) {
    const block = popFree(m, c);
    if (block === 0) continue;
    for (let k = c - 1; k >= cls; k--) pushFree(m, block + (1 << (k + ARENA_MIN_SHIFT)), k);
    return block;
  }
  return 0;
}

export function arenaAlloc(m: ArenaViews, bytes: number): number {
  const cls = arenaClassOf(bytes);
  if (cls < 0) return 0;
  const blockSize = 1 << (cls + ARENA_MIN_SHIFT);
  let block = popFree(m, cls);
  if (block === 0) {
    const end = m.i32[END]! >>> 0;
    // Check first so that repeated failures cannot push the bump pointer around the address space.
    if ((Atomics.load(m.i32, BUMP) >>> 0) + blockSize <= end) {
      const at = Atomics.add(m.i32, BUMP, blockSize) >>> 0;
      if (at + blockSize <= end) block = at;
    }
  }
  if (block === 0) block = splitLarger(m, cls);
  if (block === 0) return 0;
  m.i32[block >> 2] = cls;
  m.i32[(block >> 2) + 1] = bytes;
  Atomics.add(m.i32, USED, blockSize);
  return block + BLOCK_HEADER;
}

/** Gives back a block returned by arenaAlloc. */
export function arenaFree(m: ArenaViews, ptr: number): void {
  const block = ptr - BLOCK_HEADER;
  const cls = m.i32[block >> 2]!;
  pushFree(m, block, cls);
  Atomics.sub(m.i32, USED, 1 << (cls + ARENA_MIN_SHIFT));
}

/** Bytes handed out right now (whole blocks). */
export function arenaUsed(m: ArenaViews): number {
  return Atomics.load(m.i32, USED);
}

/** The payload size recorded for a block. */
export function arenaSizeOf(m: ArenaViews, ptr: number): number {
  return m.i32[(ptr - BLOCK_HEADER >> 2) + 1]!;
}
