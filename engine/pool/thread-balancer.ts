// piscina's loadBalancer option: the views of threads and tasks a user's balancer sees, and the per-thread
// run time histograms (workerHistogram) those views report. Holds no thread: thread-group.ts asks the
// balancer and posts to the thread it names.
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
import { micros, summaryOf, type TimingSummary } from "./pool-timing.js";

/** Read by a task queue or balancer as options a caller attached to its task (piscina's symbol). */
export const queueOptionsSymbol: unique symbol = Symbol.for("Piscina.queueOptions") as never;

/** A thread as a balancer sees it. */
export interface BalancedThread {
  /** Its threadId. */
  readonly id: number;
  /** Tasks it runs now. */
  readonly currentUsage: number;
  readonly isRunningAbortableTask: boolean;
  /** Run times of its tasks, with workerHistogram; else null. */
  readonly histogram: TimingSummary | null;
  readonly terminating: boolean;
  readonly destroyed: boolean;
}

/** A task as a balancer sees it. */
export interface BalancedTask {
  readonly taskId: number;
  readonly filename: string;
  readonly name: string;
  /** performance.now() at submission. */
  readonly created: number;
  readonly isAbortable: boolean;
  readonly [queueOptionsSymbol]: unknown;
}

/** Picks the thread for a task, or null to leave it waiting. */
export type LoadBalancer = (task: BalancedTask, threads: BalancedThread[]) => BalancedThread | null;

/** What a view reads from its thread's slot. */
export interface ThreadState {
  readonly threadId: number;
  readonly usage: number;
  readonly abortable: boolean;
  readonly removed: boolean;
}

/** One thread's run times (workerHistogram), and the view a balancer gets of it. */
export class ThreadRecord {
  readonly view: BalancedThread;
  private readonly runTimes: RecordableHistogram | undefined;

  constructor(state: () => ThreadState, keepHistogram: boolean) {
    this.runTimes = keepHistogram ? createHistogram() : undefined;
    const runTimes = this.runTimes;
    this.view = {
      get id() { return state().threadId; },
      get currentUsage() { return state().usage; },
      get isRunningAbortableTask() { return state().abortable; },
      get histogram() { return runTimes === undefined ? null : summaryOf(runTimes); },
      get terminating() { return false; },
      get destroyed() { return state().removed; },
    };
  }

  recordRun(ms: number): void {
    this.runTimes?.record(micros(ms));
  }
}

/** The view of a task for a balancer; the queue options are read from the task value itself, as piscina does. */
export function balancedTask(taskId: number, task: unknown, filename: string, name: string, created: number, isAbortable: boolean): BalancedTask {
  const queueOptions = task !== null && typeof task === "object" ? (task as Record<symbol, unknown>)[queueOptionsSymbol] ?? null : null;
  return { taskId, filename, name, created, isAbortable, [queueOptionsSymbol]: queueOptions };
}
