// The driver's side of crash points (rt.faults.crashAt, SPEC "Lineage and faults"): arms them in shared memory,
// where workers look (engine/worker/crash-points.ts), and tells callers when what was armed has fired.
import * as L from "../../core-wasm/shared/layout.js";
import { Core } from "../wasm/core.js";
import { LoomError } from "../errors.js";
import { formatTaskId, type TaskId } from "../ids.js";
import { CRASH_POINT_NAMES, type CrashPoint } from "../worker/crash-points.js";

export interface CrashReport {
  /** Crashes that fired since the points were armed. */
  fired: number;
  /** The tasks whose threads died at a point, in firing order (the first CRASH_LOG_ENTRIES). */
  taskIds: string[];
}

export class CrashControl {
  /** Crashes armed since the last report was delivered. */
  private armed = 0;
  private waiters: Array<(report: CrashReport) => void> = [];

  constructor(private readonly i32: Int32Array) {}

  arm(point: CrashPoint, times = 1): Promise<CrashReport> {
    const index = CRASH_POINT_NAMES.indexOf(point);
    if (index < 0) {
      throw new LoomError(`faults.crashAt: unknown crash point ${JSON.stringify(point)}; the points are ${CRASH_POINT_NAMES.join(", ")}`);
    }
    if (!Number.isInteger(times) || times < 1) throw new LoomError(`faults.crashAt: invalid times ${String(times)} (expected an integer >= 1)`);
    const left = Core.ctl(L.CTL_CRASH_LEFT) + index;
    if (Atomics.add(this.i32, left, times) <= 0) Atomics.add(this.i32, Core.ctl(L.CTL_CRASH_ARMED), 1);
    this.armed += times;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A worker died: if it was the last armed crash, the callers get the report. */
  threadDied(): void {
    if (this.waiters.length && Atomics.load(this.i32, Core.ctl(L.CTL_CRASH_FIRED)) >= this.armed) this.deliver();
  }

  /** Clears the crashes that have not fired; callers get what did. */
  disarm(): void {
    for (let i = 0; i < L.CRASH_POINTS; i++) Atomics.store(this.i32, Core.ctl(L.CTL_CRASH_LEFT) + i, 0);
    Atomics.store(this.i32, Core.ctl(L.CTL_CRASH_ARMED), 0);
    this.deliver();
  }

  private deliver(): void {
    const fired = Atomics.load(this.i32, Core.ctl(L.CTL_CRASH_FIRED));
    const taskIds: string[] = [];
    for (let n = 0; n < Math.min(fired, L.CRASH_LOG_ENTRIES); n++) {
      const lo = Atomics.load(this.i32, Core.ctl(L.CTL_CRASH_LOG) + 2 * n) >>> 0;
      const hi = Atomics.load(this.i32, Core.ctl(L.CTL_CRASH_LOG) + 2 * n + 1);
      taskIds.push(formatTaskId((hi * 2 ** 32 + lo) as TaskId));
    }
    Atomics.sub(this.i32, Core.ctl(L.CTL_CRASH_FIRED), fired);
    this.armed = Math.max(0, this.armed - fired);
    if (Atomics.load(this.i32, Core.ctl(L.CTL_CRASH_ARMED)) === 0) this.armed = 0;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve({ fired, taskIds });
  }
}
