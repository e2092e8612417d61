// The task table's dependency counting and state moves (core-wasm/assembly/task-table.ts) in TypeScript over
// the same task slots and queues. The driver arms and requeues; any thread releases, starts and finishes.
import {
  CORE_BASE, CTL_TASK_TABLE, CTL_READY_QUEUE, CTL_ADMIT_QUEUE, CTL_DONE_QUEUE, CTL_READY_SEQ, CTL_DONE_SEQ,
  TASK_BYTES, TASK_STATE, TASK_DEPS, TASK_WORKER, TASK_TARGET, TASK_EDGES, TASK_OUTCOME,
  TASK_PENDING, TASK_READY, TASK_RUNNING, TASK_DONE, TARGET_ADMIT, OUTCOME_SKIPPED,
} from "../../../core-wasm/shared/layout.js";
import { queuePush } from "./js-ready-queue.js";
import { objAddWaiter } from "./js-object-table.js";

const ctl = (field: number) => CORE_BASE + field >> 2;

/** i32 index of a field of task `slot`. */
function taskField(mem: Int32Array, slot: number, field: number): number {
  return (mem[ctl(CTL_TASK_TABLE)]! >>> 0) + slot * TASK_BYTES + field >> 2;
}

/** As in the core: a queue with a cell per slot is never really full; a push waits out a pop in progress. */
function pushSlot(mem: Int32Array, q: number, slot: number): void {
  while (!queuePush(mem, q, slot)) { /* the consumer of that cell is finishing its pop */ }
}

function reportDone(mem: Int32Array, slot: number): void {
  pushSlot(mem, mem[ctl(CTL_DONE_QUEUE)]! >>> 0, slot);
  Atomics.add(mem, ctl(CTL_DONE_SEQ), 1);
}

function makeReady(mem: Int32Array, slot: number): number {
  if (Atomics.compareExchange(mem, taskField(mem, slot, TASK_STATE), TASK_PENDING, TASK_READY) !== TASK_PENDING) {
    mem[taskField(mem, slot, TASK_OUTCOME)] = OUTCOME_SKIPPED;
    reportDone(mem, slot);
    return 0;
  }
  const admit = mem[taskField(mem, slot, TASK_TARGET)] === TARGET_ADMIT;
  pushSlot(mem, mem[ctl(admit ? CTL_ADMIT_QUEUE : CTL_READY_QUEUE)]! >>> 0, slot);
  Atomics.add(mem, ctl(CTL_READY_SEQ), 1);
  return admit ? 0 : 1;
}

/** One argument of `slot` arrived; 1 when that made it ready. */
export function taskRelease(mem: Int32Array, slot: number): number {
  // seq-cst sub: the last decrement sees every earlier one, so exactly one thread moves the task on
  if (Atomics.sub(mem, taskField(mem, slot, TASK_DEPS), 1) === 1) return makeReady(mem, slot);
  return 0;
}

/** Driver only: arms a filled slot on the `n` entry addresses at byte address `deps` (see taskArm in wasm). */
export function taskArm(mem: Int32Array, slot: number, deps: number, n: number): number {
  mem[taskField(mem, slot, TASK_STATE)] = TASK_PENDING;
  mem[taskField(mem, slot, TASK_WORKER)] = -1;
  Atomics.store(mem, taskField(mem, slot, TASK_DEPS), n + 1);
  const edges = mem[taskField(mem, slot, TASK_EDGES)]! >>> 0;
  let sealed = 0;
  for (let i = 0; i < n; i++) {
    const e = mem[(deps >> 2) + i]! >>> 0;
    if (objAddWaiter(mem, e, edges + i * 8, slot) === 0) sealed++;
  }
  if (Atomics.sub(mem, taskField(mem, slot, TASK_DEPS), sealed + 1) === sealed + 1) return makeReady(mem, slot);
  return 0;
}

/** Driver only: puts a slot straight back on its queue (a retry). */
export function taskRequeue(mem: Int32Array, slot: number): void {
  mem[taskField(mem, slot, TASK_WORKER)] = -1;
  Atomics.store(mem, taskField(mem, slot, TASK_DEPS), 0);
  Atomics.store(mem, taskField(mem, slot, TASK_STATE), TASK_PENDING);
  makeReady(mem, slot);
}

/** A worker claims a slot it popped; false when it was cancelled meanwhile (then it reports it skipped). */
export function taskStart(mem: Int32Array, slot: number, worker: number): boolean {
  mem[taskField(mem, slot, TASK_WORKER)] = worker;
  if (Atomics.compareExchange(mem, taskField(mem, slot, TASK_STATE), TASK_READY, TASK_RUNNING) === TASK_READY) return true;
  mem[taskField(mem, slot, TASK_OUTCOME)] = OUTCOME_SKIPPED;
  reportDone(mem, slot);
  return false;
}

/** A worker reports a slot finished with an OUTCOME_* code. */
export function taskFinish(mem: Int32Array, slot: number, outcome: number): void {
  mem[taskField(mem, slot, TASK_OUTCOME)] = outcome;
  Atomics.store(mem, taskField(mem, slot, TASK_STATE), TASK_DONE);
  reportDone(mem, slot);
}

/** Compare-and-set on a task's state; returns the state found. */
export function taskCasState(mem: Int32Array, slot: number, expected: number, next: number): number {
  return Atomics.compareExchange(mem, taskField(mem, slot, TASK_STATE), expected, next);
}
