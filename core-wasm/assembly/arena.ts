// The arena allocator for object payloads in shared memory: power-of-two size classes, one lock-free
// free list per class (a Treiber stack whose head carries an ABA tag), fresh blocks from an atomic bump pointer,
// and, when both are empty, a free block of a larger class split down (blocks are never merged back).
// Any thread may allocate and free. It does not decide lifetimes: the engine's reference counting does.
// A thread may be terminated at any function entry or loop head (where V8 stops WebAssembly): an allocation for a
// worker names its block in the worker's record from the instant it leaves the free lists (arenaAllocNamed), so
// a block is always on a free list, named by a record, or owned by the engine.
import {
  CORE_BASE, CTL_ARENA_BUMP, CTL_ARENA_END, CTL_ARENA_USED, CTL_FREE_LISTS,
  ARENA_MIN_SHIFT, ARENA_CLASSES, BLOCK_HEADER,
} from "../shared/layout";
import { stopPoint } from "./stop-points";

@inline function freeListHead(cls: i32): u32 {
  return load<u32>(CORE_BASE + CTL_FREE_LISTS) + (<u32>cls << 3);
}

/** The size class that fits `bytes` of payload plus the block header, or -1 when it is too big for the arena. */
export function arenaClassOf(bytes: i32): i32 {
  const need = bytes + BLOCK_HEADER;
  let shift = 32 - clz<i32>(need - 1);
  if (shift < ARENA_MIN_SHIFT) shift = ARENA_MIN_SHIFT;
  const cls = shift - ARENA_MIN_SHIFT;
  return cls < ARENA_CLASSES ? cls : -1;
}

/** Pops a free block of class `cls`, or 0 when its list is empty. */
function popFree(cls: i32): u32 {
  stopPoint();
  const head = freeListHead(cls);
  while (true) {
    stopPoint();
    const old = atomic.load<i64>(head);
    const top = <u32>(old & 0xffffffff);
    if (top == 0) return 0;
    // The next pointer may be stale if another thread popped `top` meanwhile; the tag makes that CAS fail.
    const next = <i64>load<u32>(top);
    const tagged = (((old >>> 32) + 1) << 32) | next;
    if (atomic.cmpxchg<i64>(head, old, tagged) == old) return top;
  }
}

/** Pushes a block onto the free list of class `cls` (its first word becomes the next pointer). */
function pushFree(block: u32, cls: i32): void {
  stopPoint();
  const head = freeListHead(cls);
  while (true) {
    stopPoint();
    const old = atomic.load<i64>(head);
    store<u32>(block, <u32>(old & 0xffffffff));
    const tagged = (((old >>> 32) + 1) << 32) | <i64>block;
    // release: the next pointer written above is visible before the block is reachable from the head
    if (atomic.cmpxchg<i64>(head, old, tagged) == old) return;
  }
}

/**
 * A block of class `cls` carved from a free block of a larger class: its halves go back to the smaller lists,
 * one per class on the way down. Without this, an arena once filled with blocks of one size could never serve
 * another size again, however much of it was free. 0 when no larger block is free.
 * While it is carved the block is named at `owner` (when not 0) and counted as used, and its header says how much
 * of it is still the carver's: each half leaves it in the same step as its push lands (no call or loop between), so
 * a thread terminated anywhere here leaves exactly the unpushed rest to arenaFree from `owner`.
 */
function splitLarger(cls: i32, owner: u32): u32 {
  stopPoint();
  for (let c = cls + 1; c < ARENA_CLASSES; c++) {
    stopPoint();
    const block = popFree(c);
    if (block == 0) continue;
    store<i32>(block, c);
    atomic.add<i32>(CORE_BASE + CTL_ARENA_USED, 1 << (c + ARENA_MIN_SHIFT));
    if (owner != 0) atomic.store<u32>(owner, block + BLOCK_HEADER);
    for (let k = c - 1; k >= cls; k--) {
      stopPoint();
      pushFree(block + (<u32>1 << (k + ARENA_MIN_SHIFT)), k);
      store<i32>(block, k);
      atomic.sub<i32>(CORE_BASE + CTL_ARENA_USED, 1 << (k + ARENA_MIN_SHIFT));
    }
    return block;
  }
  return 0;
}

/** Returns the address of `bytes` writable bytes (8-byte aligned), or 0 when the arena cannot serve them. */
export function arenaAlloc(bytes: i32): u32 {
  return arenaAllocNamed(bytes, 0);
}

/**
 * arenaAlloc that names the block (its payload address, as arenaFree takes it) at address `owner` from the
 * moment it leaves the free lists or the bump pointer, before any point where the thread can be terminated; a
 * failed allocation leaves `owner` as it was. `owner` 0: named nowhere (the driver's allocations).
 */
export function arenaAllocNamed(bytes: i32, owner: u32): u32 {
  stopPoint();
  const cls = arenaClassOf(bytes);
  if (cls < 0) return 0;
  const blockSize = 1 << (cls + ARENA_MIN_SHIFT);
  let block = popFree(cls);
  if (block == 0) {
    const end = load<u32>(CORE_BASE + CTL_ARENA_END);
    // Check first so that repeated failures cannot push the bump pointer around the address space.
    if (<u32>atomic.load<i32>(CORE_BASE + CTL_ARENA_BUMP) + <u32>blockSize <= end) {
      const at = <u32>atomic.add<i32>(CORE_BASE + CTL_ARENA_BUMP, blockSize);
      // A racing overshoot is never undone: the tail past `end` is simply unusable.
      if (at + <u32>blockSize <= end) block = at;
    }
    if (block != 0) {
      store<i32>(block, cls);
      atomic.add<i32>(CORE_BASE + CTL_ARENA_USED, blockSize);
    } else {
      // Counted and named by the split itself, its header already says `cls`.
      block = splitLarger(cls, owner);
      if (block == 0) return 0;
    }
  } else {
    store<i32>(block, cls);
    atomic.add<i32>(CORE_BASE + CTL_ARENA_USED, blockSize);
  }
  // Straight after the block was taken (no call or loop since): the header and the count are written.
  if (owner != 0) atomic.store<u32>(owner, block + BLOCK_HEADER);
  store<i32>(block + 4, bytes);
  return block + BLOCK_HEADER;
}

/** Gives back a block returned by arenaAlloc. */
export function arenaFree(ptr: u32): void {
  const block = ptr - BLOCK_HEADER;
  const cls = load<i32>(block);
  pushFree(block, cls);
  atomic.sub<i32>(CORE_BASE + CTL_ARENA_USED, 1 << (cls + ARENA_MIN_SHIFT));
}

/** Bytes handed out right now (whole blocks, so it includes rounding). */
export function arenaUsed(): i32 {
  return atomic.load<i32>(CORE_BASE + CTL_ARENA_USED);
}

/** Bytes of the arena never handed out yet (the bump pointer's headroom). */
export function arenaFresh(): i32 {
  // Unsigned: racing allocations may push the bump pointer past `end`, and past 2^31 when the arena ends near it.
  const end = load<u32>(CORE_BASE + CTL_ARENA_END);
  const bump = <u32>atomic.load<i32>(CORE_BASE + CTL_ARENA_BUMP);
  return bump >= end ? 0 : <i32>(end - bump);
}

/** The payload size recorded for a block. */
export function arenaSizeOf(ptr: u32): i32 {
  return load<i32>(ptr - BLOCK_HEADER + 4);
}
