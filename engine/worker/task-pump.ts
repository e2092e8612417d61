// The park/pump loop: takes ready tasks from the core's queue while this thread's CPU slot is free, and parks
// (without blocking the event loop) when there are none. Owns the CPU slot; not how a task runs (see TaskExecutor).
import * as L from "../../core-wasm/shared/layout.js";
import { Core } from "../wasm/core.js";
import type { TaskId } from "../ids.js";
import { taskIdOf } from "./payload-reader.js";
import { taskContext, type TaskContext } from "./task-context.js";
import { crashPoint, CRASH_TAKEN } from "./crash-points.js";
import type { CpuReleaser } from "./object-reader.js";

const BATCH = 64;
/** Longest park of an idle worker before it looks at the queue again (a safety net, not the wake-up path). */
const PARK_TIMEOUT_MS = 50;

/** What the pump hands a taken slot to (the TaskExecutor). */
export interface TaskRunner {
  runTask(slot: number): void;
  /** Whether the task still runs here (it has not reported its end). */
  isRunning(taskId: TaskId): boolean;
}

/** What the pump needs from the completion path (the TaskCompleter). */
export interface StartReporter {
  markStarted(slot: number): void;
  notifyDriver(): void;
}

/** The CPU slot as the executor sees it. */
export interface CpuSlot extends CpuReleaser {
  /** A task takes the slot (its context says cpu: true). */
  holdCpu(): void;
  /** Called once per runTask, when its outcome is reported: gives the slot back if the task still held it. */
  taskEnded(ctx: TaskContext): void;
  releaseCpu(ctx: TaskContext): void;
  withoutCpu<T>(ctx: TaskContext, wait: Promise<T>): Promise<T>;
}

export class TaskPump implements CpuSlot {
  /** Tasks holding this thread's CPU slot: a task waiting in get/wait does not hold it. */
  private cpuHeld = 0;
  private parked = false;
  private pumping = false;
  private stopped = false;
  private readonly i32: Int32Array;
  /** Set once by the wiring, before start. */
  runner!: TaskRunner;

  constructor(private readonly core: Core, private readonly index: number, private readonly reporter: StartReporter) {
    this.i32 = core.i32;
  }

  // ---- the loop: take ready tasks while this thread's CPU slot is free ----

  readonly pump = (): void => {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    try {
      let n = 0;
      while (this.cpuHeld === 0 && n < BATCH) {
        const slot = this.core.exports.readyTake(this.index);
        if (slot === -1) break;
        n++;
        if (slot === -2) {
          this.reporter.notifyDriver(); // a cancelled task was reported skipped
          continue;
        }
        crashPoint(this.i32, CRASH_TAKEN, taskIdOf(this.core, slot));
        this.reporter.markStarted(slot);
        this.runner.runTask(slot);
      }
      if (this.cpuHeld > 0) return;             // resumes when the slot frees
      if (n === BATCH) { setImmediate(this.pump); return; } // let messages in between batches
      this.park();
    } finally {
      this.pumping = false;
    }
  };

  /** Waits (without blocking the event loop, so actor calls and replies get in) until a task is pushed. */
  private park(): void {
    if (this.parked || this.stopped) return;
    const seqIndex = Core.ctl(L.CTL_READY_SEQ);
    const seq = Atomics.load(this.i32, seqIndex);
    // Re-check after reading the sequence: a push after this point changes it, so the wait returns at once.
    if (this.core.exports.queueLength(this.core.plan.readyQueue) > 0) { setImmediate(this.pump); return; }
    this.parked = true;
    // Counted before waiting so that a pusher that sees zero knows no one needs a notify. Flagged in this
    // worker's record with the count, so that the driver uncounts it if the thread dies parked.
    this.core.exports.workerPark(this.index);
    // Bounded, so that a wake-up lost to a race costs a short delay rather than a stalled worker.
    const result = Atomics.waitAsync(this.i32, seqIndex, seq, PARK_TIMEOUT_MS);
    const resume = () => {
      this.core.exports.workerUnpark(this.index);
      this.parked = false;
      this.pump();
    };
    // park() runs inside pump(): resuming synchronously would find pump() still running and do nothing,
    // leaving the worker neither parked nor pumping. Resume after it returns.
    if (result.async) result.value.then(resume); else queueMicrotask(resume);
  }

  // ---- the CPU slot ----

  holdCpu(): void {
    this.cpuHeld++;
  }

  taskEnded(ctx: TaskContext): void {
    if (!ctx.cpu) return;
    ctx.cpu = false;
    this.cpuHeld--;
    if (this.cpuHeld === 0) this.pump();
  }

  /** The task gives this thread's CPU slot up (it waits, or it was cancelled): another task may start here. */
  releaseCpu(ctx: TaskContext): void {
    if (!ctx.cpu) return;
    ctx.cpu = false;
    this.cpuHeld--;
    if (this.cpuHeld === 0) setImmediate(this.pump);
  }

  /** The task runs on after a wait; a cancelled one never takes the slot back (its code may never settle). */
  private retakeCpu(ctx: TaskContext): void {
    if (ctx.cpu || ctx.cancelled || !this.runner.isRunning(ctx.taskId)) return;
    ctx.cpu = true;
    this.cpuHeld++;
  }

  async withoutCpu<T>(ctx: TaskContext, wait: Promise<T>): Promise<T> {
    this.releaseCpu(ctx);
    try {
      return await wait;
    } finally {
      this.retakeCpu(ctx);
    }
  }

  /** Runs `wait` without holding the CPU slot, so other tasks can run here meanwhile. */
  blocked<T>(wait: Promise<T>): Promise<T> {
    const ctx = taskContext.getStore();
    // Actor calls never hold the CPU slot (they come by message, one at a time per actor): nothing to give up.
    return ctx?.cpu ? this.withoutCpu(ctx, wait) : wait;
  }
}
