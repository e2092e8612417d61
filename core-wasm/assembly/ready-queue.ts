// Bounded lock-free multi-producer/multi-consumer ring (Vyukov's per-cell sequence numbers).
// Used for the ready queue (workers take tasks), the admission queue and the done queue (the driver takes reports).
// Never blocks: waiting happens in JavaScript (Atomics.waitAsync), because on Node 20 a wait inside a wasm loop is miscompiled.
import {
  QUEUE_ENQ, QUEUE_DEQ, QUEUE_MASK, QUEUE_HEADER_BYTES, QUEUE_CELL_BYTES,
} from "../shared/layout";

@inline function cellAt(q: u32, pos: i32): u32 {
  return q + QUEUE_HEADER_BYTES + (<u32>(pos & load<i32>(q + QUEUE_MASK)) * QUEUE_CELL_BYTES);
}

/** Sets up an empty ring of `capacity` cells (a power of two) at `q`. Not thread-safe: call before sharing. */
export function queueInit(q: u32, capacity: i32): void {
  store<i32>(q + QUEUE_MASK, capacity - 1);
  store<i32>(q + QUEUE_ENQ, 0);
  store<i32>(q + QUEUE_DEQ, 0);
  for (let i = 0; i < capacity; i++) {
    store<i32>(q + QUEUE_HEADER_BYTES + <u32>i * QUEUE_CELL_BYTES, i);
  }
}

/** Appends `value`; returns false when the ring is full. */
export function queuePush(q: u32, value: i32): bool {
  let pos = atomic.load<i32>(q + QUEUE_ENQ);
  while (true) {
    const cell = cellAt(q, pos);
    // acquire: the cell's sequence says whether the previous consumer has finished with it
    const seq = atomic.load<i32>(cell);
    const dif = seq - pos;
    if (dif == 0) {
      if (atomic.cmpxchg<i32>(q + QUEUE_ENQ, pos, pos + 1) == pos) {
        store<i32>(cell + 4, value);
        // release: publishes the value before consumers can see the cell as full
        atomic.store<i32>(cell, pos + 1);
        return true;
      }
      pos = atomic.load<i32>(q + QUEUE_ENQ);
    } else if (dif < 0) {
      return false;
    } else {
      pos = atomic.load<i32>(q + QUEUE_ENQ);
    }
  }
}

/** Removes the oldest value; returns -1 when the ring is empty. Values must be >= 0. */
export function queuePop(q: u32): i32 {
  let pos = atomic.load<i32>(q + QUEUE_DEQ);
  while (true) {
    const cell = cellAt(q, pos);
    // acquire: pairs with the producer's release store of the sequence
    const seq = atomic.load<i32>(cell);
    const dif = seq - (pos + 1);
    if (dif == 0) {
      if (atomic.cmpxchg<i32>(q + QUEUE_DEQ, pos, pos + 1) == pos) {
        const value = load<i32>(cell + 4);
        // release: hands the cell back to producers one lap later
        atomic.store<i32>(cell, pos + load<i32>(q + QUEUE_MASK) + 1);
        return value;
      }
      pos = atomic.load<i32>(q + QUEUE_DEQ);
    } else if (dif < 0) {
      return -1;
    } else {
      pos = atomic.load<i32>(q + QUEUE_DEQ);
    }
  }
}

/** Approximate number of queued values (exact when no push or pop is in flight). */
export function queueLength(q: u32): i32 {
  return atomic.load<i32>(q + QUEUE_ENQ) - atomic.load<i32>(q + QUEUE_DEQ);
}
