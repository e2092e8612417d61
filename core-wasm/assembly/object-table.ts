// The object table: object id -> entry (state, location, size, flags, waiter list), open addressing with
// linear probing. Only the driver inserts and removes (single writer); any thread looks up and seals.
// Sealing releases every task waiting on the object, from whichever thread sealed it.
// At least one entry is always KEY_EMPTY, so every probe ends at one: objInsert never takes the last.
import {
  CORE_BASE, CTL_OBJECT_TABLE, CTL_OBJECT_MASK, CTL_OBJECT_OCCUPIED,
  OBJ_BYTES, OBJ_KEY, OBJ_ID_LO, OBJ_ID_HI, OBJ_STATE, OBJ_WAITERS, OBJ_LOCATION, OBJ_SIZE, OBJ_FLAGS,
  KEY_EMPTY, KEY_USED, KEY_TOMBSTONE, OBJ_PENDING, OBJ_SEALED, OBJ_SEALING, WAITERS_CLOSED, WORKER_BLOCK, WORKER_WALK,
} from "../shared/layout";
import { taskRelease, taskReleaseBy } from "./task-table";
import { stopPoint } from "./stop-points";

@inline function tableBase(): u32 { return load<u32>(CORE_BASE + CTL_OBJECT_TABLE); }
@inline function tableMask(): u32 { return load<u32>(CORE_BASE + CTL_OBJECT_MASK); }

/**
 * An object id is its task id * 64 + its return index, and the driver numbers its own tasks in order, so the
 * first returns of consecutive tasks go to consecutive entries: one cache line and one page serve many inserts,
 * finds and removes, where a mixing hash paid a miss on each in a table of tens of MiB. Nested tasks' ids are
 * already hashed; other return indexes spread by a multiplicative step. Mirrored in js-object-table.ts.
 */
@inline function hashId(lo: i32, hi: i32): u32 {
  const task = <u32>lo >>> 6 | <u32>hi << 26;
  return task + (<u32>lo & 63) * 0x9e3779b1;
}

/** The entry address of object (lo, hi), or 0 when it is not in the table. */
export function objFind(lo: i32, hi: i32): u32 {
  const base = tableBase();
  const mask = tableMask();
  let i = hashId(lo, hi) & mask;
  for (let n: u32 = 0; n <= mask; n++) {
    const e = base + i * OBJ_BYTES;
    // acquire: the id fields are written before the key is published as used
    const key = atomic.load<i32>(e + OBJ_KEY);
    if (key == KEY_EMPTY) return 0;
    if (key == KEY_USED && load<i32>(e + OBJ_ID_LO) == lo && load<i32>(e + OBJ_ID_HI) == hi) return e;
    i = (i + 1) & mask;
  }
  return 0;
}

// Entries that are not KEY_EMPTY (live and tombstones). Only the driver reads and writes it, so plain accesses.
@inline function occupied(): u32 { return load<u32>(CORE_BASE + CTL_OBJECT_OCCUPIED); }
@inline function setOccupied(n: u32): void { store<u32>(CORE_BASE + CTL_OBJECT_OCCUPIED, n); }

/**
 * Driver only: the entry of (lo, hi), inserted as pending if absent. Returns 0 when the table is full.
 * 1. Probe from the home slot to the first KEY_EMPTY: the id is there, or absent. Remember the first tombstone.
 * 2. Absent: reuse that tombstone, or else take the empty slot, unless it is the last one. Keeping one slot
 *    empty bounds every probe, and lets objRemove's clean-up reach every tombstone again. So the table holds at
 *    most objectCapacity - 1 objects, and fewer when the id's probe meets the last empty before any tombstone.
 */
export function objInsert(lo: i32, hi: i32): u32 {
  const base = tableBase();
  const mask = tableMask();
  let i = hashId(lo, hi) & mask;
  let tombstone: u32 = 0;
  for (let n: u32 = 0; n <= mask; n++) {
    const e = base + i * OBJ_BYTES;
    // The driver is the only writer of keys, so a plain load sees the latest one.
    const key = load<i32>(e + OBJ_KEY);
    if (key == KEY_EMPTY) {
      if (tombstone != 0) return fillEntry(tombstone, lo, hi);
      const taken = occupied();
      if (taken >= mask) return 0;
      setOccupied(taken + 1);
      return fillEntry(e, lo, hi);
    }
    if (key == KEY_USED) {
      if (load<i32>(e + OBJ_ID_LO) == lo && load<i32>(e + OBJ_ID_HI) == hi) return e;
    } else if (tombstone == 0) {
      tombstone = e;
    }
    i = (i + 1) & mask;
  }
  // Unreachable while one slot stays empty; were there none, the whole table was searched and the id is absent.
  return tombstone != 0 ? fillEntry(tombstone, lo, hi) : 0;
}

@inline function fillEntry(e: u32, lo: i32, hi: i32): u32 {
  store<i32>(e + OBJ_ID_LO, lo);
  store<i32>(e + OBJ_ID_HI, hi);
  store<i32>(e + OBJ_STATE, OBJ_PENDING);
  store<i32>(e + OBJ_WAITERS, 0);
  store<i32>(e + OBJ_LOCATION, 0);
  store<i32>(e + OBJ_SIZE, 0);
  store<i32>(e + OBJ_FLAGS, 0);
  // release: readers that see KEY_USED see the fields above
  atomic.store<i32>(e + OBJ_KEY, KEY_USED);
  return e;
}

/**
 * Driver only: removes an entry. Trailing tombstones before an empty slot become empty, so probes stay short:
 * no probe continues past an empty slot, so they carry no information. There is always an empty slot.
 */
export function objRemove(e: u32): void {
  const base = tableBase();
  const mask = tableMask();
  atomic.store<i32>(e + OBJ_KEY, KEY_TOMBSTONE);
  let i = (e - base) / OBJ_BYTES;
  if (atomic.load<i32>(base + ((i + 1) & mask) * OBJ_BYTES + OBJ_KEY) != KEY_EMPTY) return;
  let cleared: u32 = 0;
  for (let n: u32 = 0; n <= mask; n++) {
    const t = base + i * OBJ_BYTES;
    if (atomic.load<i32>(t + OBJ_KEY) != KEY_TOMBSTONE) break;
    atomic.store<i32>(t + OBJ_KEY, KEY_EMPTY);
    cleared++;
    i = (i - 1) & mask;
  }
  setOccupied(occupied() - cleared);
}

/**
 * Seals an object and releases its waiters; returns how many tasks became ready, or -1 when it was
 * already sealed (nothing is written).
 * 1. Write the location, size and flags. 2. Publish the state. 3. Close the waiter list in one exchange,
 * so a task arming concurrently either got onto the list (and is released here) or sees it closed.
 */
export function objSeal(e: u32, location: i32, size: i32, flags: i32): i32 {
  return sealEntry(e, location, size, flags, 0);
}

/**
 * objSeal by the worker whose record is at `rec` (0: the driver, which never dies), so that a thread terminated
 * anywhere in it (V8 stops wasm only at function entries and loop heads) leaves its record saying what is left:
 * - its open block (WORKER_BLOCK), if it is `location`, is cleared right after a winning CAS (the block is the
 *   object's from then on); a lost seal leaves it named, until the driver frees it (the worker posts it: freeing it
 *   here or in the worker, a death between the free and the record's clearing would leak it or free it twice);
 * - the waiters still to release (WORKER_WALK) are named from the exchange that closes the list until the last
 *   is released, and a task whose release is mid-push is named by the push (see pushSlot).
 */
@inline export function sealEntry(e: u32, location: i32, size: i32, flags: i32, rec: u32): i32 {
  // First sealer wins (a cancelled task's error, or a late result): later ones get -1 and give their copy back
  // (a worker's stays named in its record until the driver frees it).
  if (atomic.cmpxchg<i32>(e + OBJ_STATE, OBJ_PENDING, OBJ_SEALING) != OBJ_PENDING) return -1;
  if (rec != 0 && location != 0 && atomic.load<i32>(rec + WORKER_BLOCK) == location) atomic.store<i32>(rec + WORKER_BLOCK, 0);
  store<i32>(e + OBJ_LOCATION, location);
  store<i32>(e + OBJ_SIZE, size);
  store<i32>(e + OBJ_FLAGS, flags);
  // release: location, size and flags are visible to whoever sees OBJ_SEALED
  atomic.store<i32>(e + OBJ_STATE, OBJ_SEALED);
  let edge = atomic.xchg<i32>(e + OBJ_WAITERS, WAITERS_CLOSED);
  if (rec != 0) atomic.store<i32>(rec + WORKER_WALK, edge);
  let released = 0;
  while (edge > 0) {
    stopPoint();
    // Read the link before releasing: once released, the task may finish and its edges be freed.
    const next = load<i32>(<u32>edge);
    const slot = load<i32>(<u32>edge + 4);
    released += rec != 0 ? taskReleaseBy(slot, rec, next) : taskRelease(slot);
    edge = next;
  }
  return released;
}

/** Driver only: reopens a lost or spilled-and-dropped object so that its rebuild can seal it again. */
export function objReopen(e: u32): void {
  store<i32>(e + OBJ_LOCATION, 0);
  store<i32>(e + OBJ_SIZE, 0);
  store<i32>(e + OBJ_FLAGS, 0);
  // Only a closed list is reset: tasks already waiting on a still-open list must stay on it.
  atomic.cmpxchg<i32>(e + OBJ_WAITERS, WAITERS_CLOSED, 0);
  atomic.store<i32>(e + OBJ_STATE, OBJ_PENDING);
}

/** Sets the state without touching the waiters (spilled, lost). */
export function objSetState(e: u32, state: i32): void { atomic.store<i32>(e + OBJ_STATE, state); }
export function objState(e: u32): i32 { return atomic.load<i32>(e + OBJ_STATE); }
export function objLocation(e: u32): i32 { return load<i32>(e + OBJ_LOCATION); }
export function objSize(e: u32): i32 { return load<i32>(e + OBJ_SIZE); }
export function objFlags(e: u32): i32 { return load<i32>(e + OBJ_FLAGS); }

/**
 * Driver only: hangs `edge` (an 8-byte edge owned by task `slot`) on the object's waiter list.
 * Returns 1 when the task must wait, 0 when the object is already sealed (the list is closed).
 */
export function objAddWaiter(e: u32, edge: u32, slot: i32): i32 {
  store<i32>(edge + 4, slot);
  while (true) {
    const head = atomic.load<i32>(e + OBJ_WAITERS);
    if (head == WAITERS_CLOSED) return 0;
    store<i32>(edge, head);
    // release: the edge's fields are written before a sealer can reach it
    if (atomic.cmpxchg<i32>(e + OBJ_WAITERS, head, <i32>edge) == head) return 1;
  }
}
