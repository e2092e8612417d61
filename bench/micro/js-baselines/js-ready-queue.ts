// The ready queue's algorithm (Vyukov's bounded MPMC ring) in TypeScript: Atomics over an Int32Array, on the
// byte layout of core-wasm/assembly/ready-queue.ts, so a TS thread and a wasm thread can share one ring.
// A benchmark baseline and a test oracle only; the engine never calls it.
import { QUEUE_ENQ, QUEUE_DEQ, QUEUE_MASK, QUEUE_HEADER_BYTES, QUEUE_CELL_BYTES } from "../../../core-wasm/shared/layout.js";

const CELL_WORDS = QUEUE_CELL_BYTES >> 2;

/** i32 index of the cell that position `pos` maps to (the mask is re-read each time, as the wasm does). */
function cellAt(mem: Int32Array, q: number, pos: number): number {
  return (q + QUEUE_HEADER_BYTES >> 2) + (pos & mem[q + QUEUE_MASK >> 2]!) * CELL_WORDS;
}

/** Sets up an empty ring of `capacity` cells (a power of two) at byte address `q`. Not thread-safe. */
export function queueInit(mem: Int32Array, q: number, capacity: number): void {
  mem[q + QUEUE_MASK >> 2] = capacity - 1;
  mem[q + QUEUE_ENQ >> 2] = 0;
  mem[q + QUEUE_DEQ >> 2] = 0;
  const cells = q + QUEUE_HEADER_BYTES >> 2;
  for (let i = 0; i < capacity; i++) mem[cells + i * CELL_WORDS] = i;
}

/** Appends `value`; false when the ring is full. */
export function queuePush(mem: Int32Array, q: number, value: number): boolean {
  const enq = q + QUEUE_ENQ >> 2;
  let pos = Atomics.load(mem, enq);
  for (;;) {
    const cell = cellAt(mem, q, pos);
    // acquire: the sequence says whether the previous lap's consumer is done with the cell
    const dif = (Atomics.load(mem, cell) - pos) | 0;
    if (dif === 0) {
      if (Atomics.compareExchange(mem, enq, pos, (pos + 1) | 0) === pos) {
        mem[cell + 1] = value;
        // release: the value is visible before consumers see the cell as full
        Atomics.store(mem, cell, (pos + 1) | 0);
        return true;
      }
      pos = Atomics.load(mem, enq);
    } else if (dif < 0) {
      return false;
    } else {
      pos = Atomics.load(mem, enq);
    }
  }
}

/** Removes the oldest value; -1 when the ring is empty. */
export function queuePop(mem: Int32Array, q: number): number {
  const deq = q + QUEUE_DEQ >> 2;
  let pos = Atomics.load(mem, deq);
  for (;;) {
    const cell = cellAt(mem, q, pos);
    // acquire: pairs with the producer's release of the sequence
    const dif = (Atomics.load(mem, cell) - ((pos + 1) | 0)) | 0;
    if (dif === 0) {
      if (Atomics.compareExchange(mem, deq, pos, (pos + 1) | 0) === pos) {
        const value = mem[cell + 1]!;
        // release: hands the cell back to producers one lap later
        Atomics.store(mem, cell, (pos + mem[q + QUEUE_MASK >> 2]! + 1) | 0);
        return value;
      }
      pos = Atomics.load(mem, deq);
    } else if (dif < 0) {
      return -1;
    } else {
      pos = Atomics.load(mem, deq);
    }
  }
}

/** Approximate number of queued values (exact when no push or pop is in flight). */
export function queueLength(mem: Int32Array, q: number): number {
  return (Atomics.load(mem, q + QUEUE_ENQ >> 2) - Atomics.load(mem, q + QUEUE_DEQ >> 2)) | 0;
}
