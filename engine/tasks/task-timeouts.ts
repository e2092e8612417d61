// Per-attempt timeouts (SPEC "Timeouts"): the driver watches each attempt of a task with timeoutMs. Only time
// running counts (waiting for arguments or a free worker does not): a worker stamps the slot when it starts
// the task (TASK_STARTED), and the watch measures from there. A task that overstays is expired by the runtime;
// if its code has not returned within the grace period its worker is killed (a CPU-bound task never yields
// to a timer of its own thread, so only the driver can stop it).
import * as L from "../../core-wasm/shared/layout.js";
import { Core } from "../wasm/core.js";
import { clockMs } from "../clock.js";

/** How long an expired attempt may take to return before its worker is killed. */
export const TIMEOUT_GRACE_MS = 1_000;
/** A watched attempt that has not started is looked at again this often. */
const NOT_STARTED_POLL_MS = 50;

export interface TimeoutHost<T> {
  /** The attempt `task` runs in `slot` (generation `generation`) still holds it, and `token` is its latest watch. */
  holds(task: T, slot: number, generation: number, token: object): boolean;
  /** The attempt ran longer than `timeoutMs`. */
  expire(task: T, slot: number, worker: number): void;
  /** The expired attempt has not returned within the grace period: its worker must die. */
  graceOver(task: T, slot: number, worker: number): void;
}

export class TaskTimeouts<T> {
  private readonly epoch: Float64Array;
  constructor(private readonly core: Core, private readonly host: TimeoutHost<T>) {
    this.epoch = new Float64Array(core.memory.buffer, L.CORE_BASE + L.CTL_EPOCH, 1);
  }

  /** Watches the attempt of `task` that was just given `slot`; `token` tells this watch from later ones. */
  watch(task: T, slot: number, timeoutMs: number, token: object): void {
    const generation = this.core.taskField(slot, L.TASK_GENERATION);
    const check = (): void => {
      if (!this.host.holds(task, slot, generation, token)) return;
      if (Atomics.load(this.core.i32, (this.core.plan.taskTable + slot * L.TASK_BYTES + L.TASK_STATE) >> 2) !== L.TASK_RUNNING) {
        timer(check, Math.min(timeoutMs, NOT_STARTED_POLL_MS));
        return;
      }
      const ranMs = clockMs() - this.epoch[0]! - this.core.taskField(slot, L.TASK_STARTED) / 100;
      if (ranMs < timeoutMs) { timer(check, timeoutMs - ranMs); return; }
      const worker = this.core.taskField(slot, L.TASK_WORKER);
      this.host.expire(task, slot, worker);
      // Kept alive (not unref'd): the expired attempt may be all that runs, and its worker must still be stopped.
      setTimeout(() => {
        if (this.host.holds(task, slot, generation, token) && this.core.taskField(slot, L.TASK_STATE) === L.TASK_RUNNING) {
          this.host.graceOver(task, slot, worker);
        }
      }, TIMEOUT_GRACE_MS);
    };
    timer(check, timeoutMs);
  }
}

/** A watch never keeps the process alive by itself: the task it watches does (the runtime's keep-alive). */
function timer(fn: () => void, ms: number): void {
  setTimeout(fn, Math.max(1, ms)).unref();
}

