// The only file with exports: the surface of the scheduling core that the engine's wasm/ module calls.
// Zero allocation: every structure lives at addresses the engine planned, recorded in the control block.
import {
  CORE_BASE, CTL_MAGIC, CORE_MAGIC, CTL_READY_QUEUE, CTL_DONE_QUEUE, CTL_ADMIT_QUEUE, CTL_TASK_TABLE,
  CTL_TASK_SLOTS, CTL_OBJECT_TABLE, CTL_OBJECT_MASK, CTL_ARENA_START, CTL_ARENA_END, CTL_FREE_LISTS,
  CTL_ARENA_BUMP, CTL_ARENA_USED, CTL_OBJECT_OCCUPIED, CTL_WORKER_TABLE, CTL_WORKER_SLOTS,
} from "../shared/layout";
import { queueInit, queuePop } from "./ready-queue";
import { taskStart } from "./task-table";
import { workerTableInit } from "./worker-table";

export { queueInit, queuePush, queuePop, queueLength } from "./ready-queue";
export { arenaAlloc, arenaFree, arenaUsed, arenaFresh, arenaSizeOf, arenaClassOf } from "./arena";
export {
  objFind, objInsert, objRemove, objSeal, objReopen, objSetState, objState, objLocation, objSize, objFlags,
  objAddWaiter,
} from "./object-table";
export { taskArm, taskRelease, taskRequeue, taskStart, taskFinish, taskCasState } from "./task-table";
export {
  workerPark, workerUnpark, arenaAllocFor, objSealBy, workerBlockTaken, workerHeldRoom, workerDefer, workerHeldPosted,
  workerHeldTaken, workerHeldDropped, workerReclaim,
} from "./worker-table";

/**
 * Writes the control block, empties the three queues and the worker records. Called once by the driver, before any worker
 * attaches; the addresses come from the engine's layout plan.
 */
export function coreInit(
  readyQueue: u32, admitQueue: u32, doneQueue: u32, queueCapacity: i32,
  taskTable: u32, taskSlots: i32, objectTable: u32, objectCapacity: i32,
  freeLists: u32, arenaStart: u32, arenaEnd: u32, workerTable: u32, workerSlots: i32,
): void {
  store<u32>(CORE_BASE + CTL_READY_QUEUE, readyQueue);
  store<u32>(CORE_BASE + CTL_ADMIT_QUEUE, admitQueue);
  store<u32>(CORE_BASE + CTL_DONE_QUEUE, doneQueue);
  store<u32>(CORE_BASE + CTL_TASK_TABLE, taskTable);
  store<i32>(CORE_BASE + CTL_TASK_SLOTS, taskSlots);
  store<u32>(CORE_BASE + CTL_OBJECT_TABLE, objectTable);
  store<i32>(CORE_BASE + CTL_OBJECT_MASK, objectCapacity - 1);
  store<i32>(CORE_BASE + CTL_OBJECT_OCCUPIED, 0);
  store<u32>(CORE_BASE + CTL_FREE_LISTS, freeLists);
  store<u32>(CORE_BASE + CTL_ARENA_START, arenaStart);
  store<u32>(CORE_BASE + CTL_ARENA_END, arenaEnd);
  store<u32>(CORE_BASE + CTL_ARENA_BUMP, arenaStart);
  store<i32>(CORE_BASE + CTL_ARENA_USED, 0);
  store<u32>(CORE_BASE + CTL_WORKER_TABLE, workerTable);
  store<i32>(CORE_BASE + CTL_WORKER_SLOTS, workerSlots);
  workerTableInit(workerTable, workerSlots);
  queueInit(readyQueue, queueCapacity);
  queueInit(admitQueue, queueCapacity);
  queueInit(doneQueue, queueCapacity);
  atomic.store<i32>(CORE_BASE + CTL_MAGIC, CORE_MAGIC);
}

/** Pops from the ready queue (the worker's hot call). */
export function readyPop(): i32 { return queuePop(load<u32>(CORE_BASE + CTL_READY_QUEUE)); }
/**
 * A worker takes the next ready task and claims it in one call, so that a thread killed between the two can
 * not lose a task: once this returns, the slot is RUNNING with this worker's index (and retried if it dies).
 * taskStart is inlined here: V8 stops a terminated thread's WebAssembly only at function entries and loop
 * heads, and a call between the pop and the claim was such a point.
 * Returns the slot, -1 when the queue is empty, -2 when the popped task had been cancelled (it is reported).
 */
export function readyTake(worker: i32): i32 {
  const slot = queuePop(load<u32>(CORE_BASE + CTL_READY_QUEUE));
  if (slot < 0) return -1;
  return taskStart(slot, worker) ? slot : -2;
}

/** Pops from the admission queue (driver). */
export function admitPop(): i32 { return queuePop(load<u32>(CORE_BASE + CTL_ADMIT_QUEUE)); }
/** Pops from the done queue (driver). */
export function donePop(): i32 { return queuePop(load<u32>(CORE_BASE + CTL_DONE_QUEUE)); }
