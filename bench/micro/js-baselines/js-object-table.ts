// The object table's algorithm (open addressing, linear probing, tombstones, a lock-free waiter list closed by
// the seal) in TypeScript over the same entries as core-wasm/assembly/object-table.ts.
// Same threading rules: only the driver inserts and removes; any thread finds and seals. Same bound: one entry
// always stays KEY_EMPTY, counted by CTL_OBJECT_OCCUPIED.
import {
  CORE_BASE, CTL_OBJECT_TABLE, CTL_OBJECT_MASK, CTL_OBJECT_OCCUPIED,
  OBJ_BYTES, OBJ_KEY, OBJ_ID_LO, OBJ_ID_HI, OBJ_STATE, OBJ_WAITERS, OBJ_LOCATION, OBJ_SIZE, OBJ_FLAGS,
  KEY_EMPTY, KEY_USED, KEY_TOMBSTONE, OBJ_PENDING, OBJ_SEALED, OBJ_SEALING, WAITERS_CLOSED,
} from "../../../core-wasm/shared/layout.js";
import { taskRelease } from "./js-task-table.js";

const TABLE = CORE_BASE + CTL_OBJECT_TABLE >> 2;
const MASK = CORE_BASE + CTL_OBJECT_MASK >> 2;
/** Entries that are not KEY_EMPTY (live and tombstones); only the driver reads and writes it. */
const OCCUPIED = CORE_BASE + CTL_OBJECT_OCCUPIED >> 2;

/** i32 index of a field of the entry at byte address `e`. */
const at = (e: number, field: number) => e + field >> 2;

/** The core's hash (object-table.ts says why it keeps consecutive task ids together). */
export function hashId(lo: number, hi: number): number {
  const task = (lo >>> 6 | hi << 26) >>> 0;
  return (task + Math.imul(lo & 63, 0x9e3779b1)) >>> 0;
}

/** The entry address of object (lo, hi), or 0 when it is not in the table. */
export function objFind(mem: Int32Array, lo: number, hi: number): number {
  const base = mem[TABLE]! >>> 0;
  const mask = mem[MASK]! >>> 0;
  let i = (hashId(lo, hi) & mask) >>> 0;
  for (let n = 0; n <= mask; n++) {
    const e = base + i * OBJ_BYTES;
    // acquire: the id fields are written before the key is published as used
    const key = Atomics.load(mem, at(e, OBJ_KEY));
    if (key === KEY_EMPTY) return 0;
    if (key === KEY_USED && mem[at(e, OBJ_ID_LO)] === lo && mem[at(e, OBJ_ID_HI)] === hi) return e;
    i = (i + 1) & mask;
  }
  return 0;
}

/**
 * Driver only: the entry of (lo, hi), inserted as pending if absent; 0 when the table is full. One probe to the
 * first empty slot; an absent id reuses the first tombstone on the way, or takes the empty slot unless it is the last.
 */
export function objInsert(mem: Int32Array, lo: number, hi: number): number {
  const base = mem[TABLE]! >>> 0;
  const mask = mem[MASK]! >>> 0;
  let i = (hashId(lo, hi) & mask) >>> 0;
  let tombstone = 0;
  for (let n = 0; n <= mask; n++) {
    const e = base + i * OBJ_BYTES;
    // the driver is the only writer of keys, so a plain read sees the latest one
    const key = mem[at(e, OBJ_KEY)]!;
    if (key === KEY_EMPTY) {
      if (tombstone !== 0) return fillEntry(mem, tombstone, lo, hi);
      const taken = mem[OCCUPIED]! >>> 0;
      if (taken >= mask) return 0; // the last empty slot ends every probe
      mem[OCCUPIED] = taken + 1;
      return fillEntry(mem, e, lo, hi);
    }
    if (key === KEY_USED) {
      if (mem[at(e, OBJ_ID_LO)] === lo && mem[at(e, OBJ_ID_HI)] === hi) return e;
    } else if (tombstone === 0) {
      tombstone = e;
    }
    i = (i + 1) & mask;
  }
  return tombstone !== 0 ? fillEntry(mem, tombstone, lo, hi) : 0;
}

function fillEntry(mem: Int32Array, e: number, lo: number, hi: number): number {
  mem[at(e, OBJ_ID_LO)] = lo;
  mem[at(e, OBJ_ID_HI)] = hi;
  mem[at(e, OBJ_STATE)] = OBJ_PENDING;
  mem[at(e, OBJ_WAITERS)] = 0;
  mem[at(e, OBJ_LOCATION)] = 0;
  mem[at(e, OBJ_SIZE)] = 0;
  mem[at(e, OBJ_FLAGS)] = 0;
  // release: readers that see KEY_USED see the fields above
  Atomics.store(mem, at(e, OBJ_KEY), KEY_USED);
  return e;
}

/** Driver only: removes an entry; trailing tombstones before an empty slot become empty. */
export function objRemove(mem: Int32Array, e: number): void {
  const base = mem[TABLE]! >>> 0;
  const mask = mem[MASK]! >>> 0;
  Atomics.store(mem, at(e, OBJ_KEY), KEY_TOMBSTONE);
  let i = (e - base) / OBJ_BYTES;
  if (Atomics.load(mem, at(base + ((i + 1) & mask) * OBJ_BYTES, OBJ_KEY)) !== KEY_EMPTY) return;
  let cleared = 0;
  for (let n = 0; n <= mask; n++) {
    const t = base + i * OBJ_BYTES;
    if (Atomics.load(mem, at(t, OBJ_KEY)) !== KEY_TOMBSTONE) break;
    Atomics.store(mem, at(t, OBJ_KEY), KEY_EMPTY);
    cleared++;
    i = (i - 1) & mask;
  }
  mem[OCCUPIED] = (mem[OCCUPIED]! >>> 0) - cleared;
}

/** Seals a pending object and releases its waiters; returns how many tasks went to the ready queue, -1 when not pending. */
export function objSeal(mem: Int32Array, e: number, location: number, size: number, flags: number): number {
  // First sealer wins: a later one (or one on a sealed or lost object) writes nothing.
  if (Atomics.compareExchange(mem, at(e, OBJ_STATE), OBJ_PENDING, OBJ_SEALING) !== OBJ_PENDING) return -1;
  mem[at(e, OBJ_LOCATION)] = location;
  mem[at(e, OBJ_SIZE)] = size;
  mem[at(e, OBJ_FLAGS)] = flags;
  // release: location, size and flags are visible to whoever sees OBJ_SEALED
  Atomics.store(mem, at(e, OBJ_STATE), OBJ_SEALED);
  // one exchange closes the list: a concurrent arm either got on it (released below) or sees it closed
  let edge = Atomics.exchange(mem, at(e, OBJ_WAITERS), WAITERS_CLOSED);
  let released = 0;
  while (edge > 0) {
    const next = mem[edge >> 2]!;
    const slot = mem[(edge >> 2) + 1]!;
    released += taskRelease(mem, slot);
    edge = next;
  }
  return released;
}

/** Driver only: reopens a lost object so that its rebuild can seal it again. */
export function objReopen(mem: Int32Array, e: number): void {
  mem[at(e, OBJ_LOCATION)] = 0;
  mem[at(e, OBJ_SIZE)] = 0;
  mem[at(e, OBJ_FLAGS)] = 0;
  // Only a closed list is reset: tasks already waiting on a still-open list must stay on it.
  Atomics.compareExchange(mem, at(e, OBJ_WAITERS), WAITERS_CLOSED, 0);
  Atomics.store(mem, at(e, OBJ_STATE), OBJ_PENDING);
}

export function objSetState(mem: Int32Array, e: number, state: number): void { Atomics.store(mem, at(e, OBJ_STATE), state); }
export function objState(mem: Int32Array, e: number): number { return Atomics.load(mem, at(e, OBJ_STATE)); }
export function objLocation(mem: Int32Array, e: number): number { return mem[at(e, OBJ_LOCATION)]!; }
export function objSize(mem: Int32Array, e: number): number { return mem[at(e, OBJ_SIZE)]!; }
export function objFlags(mem: Int32Array, e: number): number { return mem[at(e, OBJ_FLAGS)]!; }

/** Driver only: hangs `edge` (owned by task `slot`) on the waiter list; 1 when the task must wait, 0 when sealed. */
export function objAddWaiter(mem: Int32Array, e: number, edge: number, slot: number): number {
  mem[(edge >> 2) + 1] = slot;
  for (;;) {
    const head = Atomics.load(mem, at(e, OBJ_WAITERS));
    if (head === WAITERS_CLOSED) return 0;
    mem[edge >> 2] = head;
    // seq-cst CAS: the edge's fields are written before a sealer can reach it
    if (Atomics.compareExchange(mem, at(e, OBJ_WAITERS), head, edge) === head) return 1;
  }
}
