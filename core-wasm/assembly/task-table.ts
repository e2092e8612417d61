// The task table: fixed-size slots holding the part of a task spec a worker needs to start it from shared
// memory alone, plus its dependency counter and state. The driver fills and frees slots; any thread
// releases, starts and finishes them. The variable part (function, arguments) is an arena payload.
import {
  CORE_BASE, CTL_TASK_TABLE, CTL_READY_QUEUE, CTL_ADMIT_QUEUE, CTL_DONE_QUEUE, CTL_READY_SEQ, CTL_DONE_SEQ,
  TASK_BYTES, TASK_STATE, TASK_DEPS, TASK_WORKER, TASK_TARGET, TASK_EDGES, TASK_OUTCOME,
  TASK_PENDING, TASK_READY, TASK_RUNNING, TASK_DONE, TARGET_ADMIT, OUTCOME_SKIPPED, WORKER_WALK,
} from "../shared/layout";
import { queuePush } from "./ready-queue";
import { objAddWaiter } from "./object-table";
import { recordOf, noteMove, moveLanded } from "./worker-table";

@inline export function taskAt(slot: i32): u32 {
  return load<u32>(CORE_BASE + CTL_TASK_TABLE) + <u32>slot * TASK_BYTES;
}

/**
 * Pushes a task slot onto a queue that has a cell per task slot: it is never really full, but a push can meet
 * the one cell whose consumer has claimed it and not yet handed it back (a few instructions, longer if that
 * thread is descheduled there). Such a push must wait, not fail: a dropped push lost the task for good (seen
 * with 1M trivial tasks keeping the ready queue full).
 * `rec` is the pushing worker's record (0: the driver, which never dies): the push is named there until it lands,
 * because a thread can be terminated at the wait's loop head, and a slot whose state says queued but that is in
 * no queue is lost. Inlined, so that no call or loop lies between the state change before it and the note.
 */
@inline function pushSlot(q: u32, slot: i32, rec: u32): void {
  if (rec != 0) noteMove(rec, q, slot);
  while (!queuePush(q, slot)) { /* the consumer of that cell is finishing its pop */ }
  if (rec != 0) moveLanded(rec);
}

/** Pushes a slot onto the done queue and bumps the sequence the driver parks on. */
@inline function reportDone(slot: i32, rec: u32): void {
  pushSlot(load<u32>(CORE_BASE + CTL_DONE_QUEUE), slot, rec);
  atomic.add<i32>(CORE_BASE + CTL_DONE_SEQ, 1);
}

/** Moves a pending task whose last argument arrived to its queue. Returns 1 when it went to a ready queue. */
@inline function makeReady(slot: i32, rec: u32): i32 {
  const t = taskAt(slot);
  if (atomic.cmpxchg<i32>(t + TASK_STATE, TASK_PENDING, TASK_READY) != TASK_PENDING) {
    // Cancelled while it waited: the driver learns through the done queue that the slot can be freed.
    store<i32>(t + TASK_OUTCOME, OUTCOME_SKIPPED);
    reportDone(slot, rec);
    return 0;
  }
  const target = load<i32>(t + TASK_TARGET);
  const q = load<u32>(CORE_BASE + (target == TARGET_ADMIT ? CTL_ADMIT_QUEUE : CTL_READY_QUEUE));
  pushSlot(q, slot, rec);
  atomic.add<i32>(CORE_BASE + CTL_READY_SEQ, 1);
  return target == TARGET_ADMIT ? 0 : 1;
}

/** One argument of `slot` arrived; returns 1 when that made it ready. */
export function taskRelease(slot: i32): i32 {
  // acq_rel: the last decrement sees every earlier one, so exactly one thread moves the task on
  if (atomic.sub<i32>(taskAt(slot) + TASK_DEPS, 1) == 1) return makeReady(slot, 0);
  return 0;
}

/**
 * taskRelease by a worker walking a sealed object's waiters: its record's walk moves on to `next` in the same
 * step as the decrement (no call or loop between them), so that a thread terminated anywhere in the walk leaves
 * the record naming exactly the edges not yet released (see workerReclaim).
 */
@inline export function taskReleaseBy(slot: i32, rec: u32, next: i32): i32 {
  const last = atomic.sub<i32>(taskAt(slot) + TASK_DEPS, 1) == 1;
  if (rec != 0) atomic.store<i32>(rec + WORKER_WALK, next);
  return last ? makeReady(slot, rec) : 0;
}

/**
 * Driver only: arms a filled slot that depends on `n` objects whose entry addresses are at `deps`.
 * 1. Count n + 1 (the extra one keeps sealers from releasing it before arming ends).
 * 2. Hang an edge on each object still pending; count the ones already sealed.
 * 3. Drop the extra one plus the sealed ones; whoever reaches zero makes it ready.
 * Returns 1 when the task went to the ready queue during this call.
 */
export function taskArm(slot: i32, deps: u32, n: i32): i32 {
  const t = taskAt(slot);
  store<i32>(t + TASK_STATE, TASK_PENDING);
  store<i32>(t + TASK_WORKER, -1);
  atomic.store<i32>(t + TASK_DEPS, n + 1);
  const edges = load<u32>(t + TASK_EDGES);
  let sealed = 0;
  for (let i = 0; i < n; i++) {
    const e = load<u32>(deps + (<u32>i << 2));
    if (objAddWaiter(e, edges + (<u32>i << 3), slot) == 0) sealed++;
  }
  if (atomic.sub<i32>(t + TASK_DEPS, sealed + 1) == sealed + 1) return makeReady(slot, 0);
  return 0;
}

/** Driver only: puts a slot straight back on the ready queue (a retry). */
export function taskRequeue(slot: i32): void {
  const t = taskAt(slot);
  store<i32>(t + TASK_WORKER, -1);
  atomic.store<i32>(t + TASK_DEPS, 0);
  atomic.store<i32>(t + TASK_STATE, TASK_PENDING);
  makeReady(slot, 0);
}

/** A worker claims a slot it popped; false when it was cancelled meanwhile (then it reports it skipped). */
@inline export function taskStart(slot: i32, worker: i32): bool {
  const t = taskAt(slot);
  store<i32>(t + TASK_WORKER, worker);
  if (atomic.cmpxchg<i32>(t + TASK_STATE, TASK_READY, TASK_RUNNING) == TASK_READY) return true;
  store<i32>(t + TASK_OUTCOME, OUTCOME_SKIPPED);
  reportDone(slot, recordOf(worker));
  return false;
}

/**
 * A worker reports a slot finished with an OUTCOME_* code. The slot is DONE from here, and no longer RUNNING for
 * the driver to retry if the worker dies: the report is named in the worker's record (see pushSlot) until it lands.
 */
export function taskFinish(slot: i32, outcome: i32): void {
  const t = taskAt(slot);
  const rec = recordOf(load<i32>(t + TASK_WORKER));
  store<i32>(t + TASK_OUTCOME, outcome);
  atomic.store<i32>(t + TASK_STATE, TASK_DONE);
  reportDone(slot, rec);
}

/** Compare-and-set on a task's state; returns the state found. */
export function taskCasState(slot: i32, expected: i32, next: i32): i32 {
  return atomic.cmpxchg<i32>(taskAt(slot) + TASK_STATE, expected, next);
}
