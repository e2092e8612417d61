// Worker records: one cache line per worker index saying what that thread is in the middle of: whether it is
// parked (counted in CTL_IDLE_WORKERS), which arena blocks it wrote and has not handed over yet, a push it has
// begun and the waiters of an object it sealed that it has not released yet. A thread can die anywhere; the
// driver then finishes or undoes what its record names (workerReclaim). Does not decide when a thread is dead
// (the driver learns that from its transport) nor what its tasks become (the driver retries them).
import {
  CORE_BASE, CTL_WORKER_TABLE, CTL_WORKER_SLOTS, CTL_IDLE_WORKERS, CTL_DONE_QUEUE, CTL_DONE_SEQ, CTL_READY_SEQ,
  WORKER_BYTES, WORKER_PARKED, WORKER_BLOCK, WORKER_HELD, WORKER_MOVE_SLOT, WORKER_MOVE_QUEUE, WORKER_WALK,
  WORKER_CARVE, HELD_COUNT, HELD_BLOCKS,
} from "../shared/layout";
import { arenaAllocNamed, arenaFree, arenaSizeOf } from "./arena";
import { sealEntry } from "./object-table";
import { queuePush } from "./ready-queue";
import { taskRelease } from "./task-table";
import { stopPoint } from "./stop-points";

/** The record of worker `worker`, or 0 for an index without one (then nothing is recorded for it). */
@inline export function recordOf(worker: i32): u32 {
  if (<u32>worker >= load<u32>(CORE_BASE + CTL_WORKER_SLOTS)) return 0;
  return load<u32>(CORE_BASE + CTL_WORKER_TABLE) + <u32>worker * WORKER_BYTES;
}

/** Sets up `count` empty records at `table`. Not thread-safe: coreInit calls it before sharing. */
export function workerTableInit(table: u32, count: i32): void {
  for (let i = 0; i < count; i++) {
    const r = table + <u32>i * WORKER_BYTES;
    store<i32>(r + WORKER_PARKED, 0);
    store<i32>(r + WORKER_BLOCK, 0);
    store<i32>(r + WORKER_HELD, 0);
    store<i32>(r + WORKER_MOVE_SLOT, 0);
    store<i32>(r + WORKER_MOVE_QUEUE, 0);
    store<i32>(r + WORKER_WALK, 0);
    store<i32>(r + WORKER_CARVE, 0);
  }
}

// ---- a task slot on its way into a queue ----

/** The worker is about to push `slot` onto `q`; the slot's state already says it is there (see pushSlot). */
@inline export function noteMove(r: u32, q: u32, slot: i32): void {
  store<u32>(r + WORKER_MOVE_QUEUE, q);
  atomic.store<i32>(r + WORKER_MOVE_SLOT, slot + 1);
}

/** The push landed (no call or loop after the push's own publishing store). */
@inline export function moveLanded(r: u32): void {
  atomic.store<i32>(r + WORKER_MOVE_SLOT, 0);
}

// ---- parking: CTL_IDLE_WORKERS counts the set flags ----

/**
 * A worker is about to wait on CTL_READY_SEQ. Flag and count change together: no call or loop between them, so a
 * thread terminated around here either is counted and flagged, or neither (the driver uncounts a flagged one).
 */
export function workerPark(worker: i32): void {
  const r = recordOf(worker);
  if (r != 0) atomic.store<i32>(r + WORKER_PARKED, 1);
  // seq_cst: a pusher that reads the count after the sequence sees this worker, or its push changed the sequence
  atomic.add<i32>(CORE_BASE + CTL_IDLE_WORKERS, 1);
}

/** The worker woke (or its wait timed out). */
export function workerUnpark(worker: i32): void {
  const r = recordOf(worker);
  if (r != 0) atomic.store<i32>(r + WORKER_PARKED, 0);
  atomic.sub<i32>(CORE_BASE + CTL_IDLE_WORKERS, 1);
}

// ---- blocks written and not yet handed over ----

/**
 * arenaAlloc for a worker: the block is recorded as the worker's (WORKER_BLOCK) from the moment it leaves the
 * arena's lists (arenaAllocNamed), so no thread can die holding a block its record does not name, even mid-split.
 * A failed allocation records 0. The worker hands the block over by sealing it (objSealBy), posting it (the driver
 * then calls workerBlockTaken) or holding it for a deferred seal (workerDefer); until then at most one block is open.
 */
export function arenaAllocFor(bytes: i32, worker: i32): u32 {
  stopPoint();
  const r = recordOf(worker);
  const at = arenaAllocNamed(bytes, r != 0 ? r + WORKER_BLOCK : 0);
  if (r != 0 && at == 0) atomic.store<u32>(r + WORKER_BLOCK, 0);
  return at;
}

/**
 * objSeal by a worker: its open block, if `location` is that block, is handed over with a winning seal (see
 * sealEntry). A lost seal leaves it open: the worker posts it to the driver to free (see workerBlockTaken).
 */
export function objSealBy(e: u32, location: i32, size: i32, flags: i32, worker: i32): i32 {
  stopPoint();
  return sealEntry(e, location, size, flags, recordOf(worker));
}

/**
 * Driver: a message from `worker` named arena block `location` (a put, a yield, or a block it gives back), so the
 * block is the driver's. Clears the worker's record only if it still names that block: the worker may have opened
 * another since. The block cannot have been freed and handed out again meanwhile, since only the driver frees it,
 * after this.
 */
export function workerBlockTaken(worker: i32, location: i32): void {
  const r = recordOf(worker);
  if (r != 0 && location != 0) atomic.cmpxchg<i32>(r + WORKER_BLOCK, location, 0);
}

/**
 * A worker will hold a block for a seal deferred to its "done" message: makes sure its held list has room for one
 * more, making the list (room for `capacity`) if it has none. Returns the list, or 0 when it has no room and none
 * can be made (the arena is full): the caller then writes the value elsewhere than in the arena.
 * The list is named in the record (WORKER_CARVE) while it is allocated, then moves to WORKER_HELD in one step.
 */
export function workerHeldRoom(worker: i32, capacity: i32): u32 {
  stopPoint();
  const r = recordOf(worker);
  if (r == 0) return 0;
  let list = atomic.load<u32>(r + WORKER_HELD);
  if (list == 0) {
    list = arenaAllocNamed(HELD_BLOCKS + ((capacity < 1 ? 1 : capacity) << 2), r + WORKER_CARVE);
    if (list == 0) return 0;
    store<i32>(list + HELD_COUNT, 0);
    // release: the empty count is visible before the list is reachable from the record; no call or loop since
    // the allocation, nor between these two stores, so the list is named by exactly one field at every stop
    atomic.store<u32>(r + WORKER_HELD, list);
    atomic.store<u32>(r + WORKER_CARVE, 0);
  }
  return HELD_BLOCKS + ((load<i32>(list + HELD_COUNT) + 1) << 2) <= arenaSizeOf(list) ? list : 0;
}

/**
 * A worker holds its open block `location` for a seal deferred to its "done" message: moves it from WORKER_BLOCK
 * to the held list (made as workerHeldRoom makes it). Returns the held list, which the "done" message names (see
 * workerHeldPosted, workerHeldTaken), or 0 when the block could not be held: it then stays the worker's open
 * block, and the worker gives it back to the driver (a "drop" message) rather than leave it unnamed.
 * The count is published before the block leaves WORKER_BLOCK: a death in between leaves it named twice, and
 * workerReclaim frees it once.
 */
export function workerDefer(worker: i32, location: i32, capacity: i32): u32 {
  stopPoint();
  const r = recordOf(worker);
  if (r == 0 || location == 0 || atomic.load<i32>(r + WORKER_BLOCK) != location) return 0;
  const list = workerHeldRoom(worker, capacity);
  if (list == 0) return 0;
  const n = load<i32>(list + HELD_COUNT);
  store<i32>(list + HELD_BLOCKS + (<u32>n << 2), location);
  atomic.store<i32>(list + HELD_COUNT, n + 1);
  atomic.store<i32>(r + WORKER_BLOCK, 0);
  return list;
}

/**
 * A worker posted its "done" message, or a "drop" message giving up its deferred seals, naming held list `list`:
 * the list is the driver's now (workerHeldTaken, workerHeldDropped), and the record lets go of it so that the
 * next deferred seal starts a list of its own. After the post, not before: a death in between leaves the list
 * named by both, and the driver's handling of the message clears the record.
 */
export function workerHeldPosted(worker: i32, list: u32): void {
  stopPoint();
  const r = recordOf(worker);
  if (r != 0) atomic.cmpxchg<u32>(r + WORKER_HELD, list, 0);
}

/**
 * Driver: `worker`'s "done" message named held list `list`; its blocks are now the sealed objects' (or freed by a
 * lost seal). Frees the list itself and clears the record if it still names it (the worker may have begun another).
 */
export function workerHeldTaken(worker: i32, list: u32): void {
  const r = recordOf(worker);
  if (r != 0) atomic.cmpxchg<u32>(r + WORKER_HELD, list, 0);
  arenaFree(list);
}

/**
 * Driver: `worker` gave up the seals it deferred on held list `list` (its completion failed part-way, and an
 * error is sealed instead, or its thread is going): frees the held blocks and the list, and clears the record if
 * it still names the list.
 */
export function workerHeldDropped(worker: i32, list: u32): void {
  const r = recordOf(worker);
  if (r != 0) atomic.cmpxchg<u32>(r + WORKER_HELD, list, 0);
  freeHeld(list, 0);
}

/** Frees every block on a held list but `skip`, then the list. */
function freeHeld(list: u32, skip: u32): void {
  const n = load<i32>(list + HELD_COUNT);
  for (let i = 0; i < n; i++) {
    const b = load<u32>(list + HELD_BLOCKS + (<u32>i << 2));
    if (b != skip) arenaFree(b);
  }
  arenaFree(list);
}

/**
 * Driver, after worker `worker` died and every message it sent was handled: finishes what the thread was in the
 * middle of and undoes what it held, from its record, and leaves the record empty for the thread that replaces it.
 * 1. A push it had begun (a task made ready, or a report): done here, so the task is not lost.
 * 2. The waiters of an object it sealed that it had not released yet: released here.
 * 3. The blocks it wrote and never handed over (its open block, its held list and a list being made): freed.
 * 4. If it died parked, it is uncounted from CTL_IDLE_WORKERS.
 * Returns the number of tasks this made ready on the ready queue (the caller wakes parked workers for them); a
 * report pushed onto the done queue is taken by the driver's next drain.
 */
export function workerReclaim(worker: i32): i32 {
  const r = recordOf(worker);
  if (r == 0) return 0;
  let readied = 0;
  const move = atomic.xchg<i32>(r + WORKER_MOVE_SLOT, 0);
  if (move != 0) {
    const q = load<u32>(r + WORKER_MOVE_QUEUE);
    while (!queuePush(q, move - 1)) { /* a consumer is finishing its pop of that cell */ }
    if (q == load<u32>(CORE_BASE + CTL_DONE_QUEUE)) {
      atomic.add<i32>(CORE_BASE + CTL_DONE_SEQ, 1);
    } else {
      atomic.add<i32>(CORE_BASE + CTL_READY_SEQ, 1);
      readied++; // an admission push counts too: a spare wake-up costs nothing
    }
  }
  let edge = atomic.xchg<i32>(r + WORKER_WALK, 0);
  while (edge > 0) {
    const next = load<i32>(<u32>edge);
    readied += taskRelease(load<i32>(<u32>edge + 4));
    edge = next;
  }
  const block = atomic.xchg<u32>(r + WORKER_BLOCK, 0);
  const list = atomic.xchg<u32>(r + WORKER_HELD, 0);
  // A block both open and listed (a death between workerDefer's two stores) is skipped by the list, freed once here.
  if (list != 0) freeHeld(list, block);
  if (block != 0) arenaFree(block);
  const carve = atomic.xchg<u32>(r + WORKER_CARVE, 0);
  if (carve != 0) arenaFree(carve);
  if (atomic.xchg<i32>(r + WORKER_PARKED, 0) != 0) atomic.sub<i32>(CORE_BASE + CTL_IDLE_WORKERS, 1);
  return readied;
}
