// Named crash points of the worker protocol (SPEC "Lineage and faults": rt.faults.crashAt). The driver arms a
// point by counting crashes into shared memory; the next threads to reach it die there, as a real crash would:
// the thread ends and reports nothing. Unarmed, a point costs one atomic load.
import * as L from "../../core-wasm/shared/layout.js";
import { Core } from "../wasm/core.js";
import { idLo, idHi, type TaskId } from "../ids.js";

export const CRASH_POINT_NAMES = ["taken", "running", "sealing", "sealed", "putting", "checkpointing"] as const;
export type CrashPoint = (typeof CRASH_POINT_NAMES)[number];
export const CRASH_TAKEN = 0;
export const CRASH_RUNNING = 1;
export const CRASH_SEALING = 2;
export const CRASH_SEALED = 3;
export const CRASH_PUTTING = 4;
export const CRASH_CHECKPOINTING = 5;

/** The exit code of a thread that died at a crash point (a test tells it from other deaths by it). */
export const CRASH_EXIT_CODE = 70;

/** Dies here if point `point` is armed: records `taskId` for the driver, then ends this thread at once. */
export function crashPoint(i32: Int32Array, point: number, taskId: TaskId): void {
  if (Atomics.load(i32, Core.ctl(L.CTL_CRASH_ARMED)) === 0) return;
  const left = Core.ctl(L.CTL_CRASH_LEFT) + point;
  if (Atomics.sub(i32, left, 1) <= 0) { Atomics.add(i32, left, 1); return; }
  if (Atomics.load(i32, left) === 0) Atomics.sub(i32, Core.ctl(L.CTL_CRASH_ARMED), 1);
  const n = Atomics.add(i32, Core.ctl(L.CTL_CRASH_FIRED), 1);
  if (n < L.CRASH_LOG_ENTRIES) {
    Atomics.store(i32, Core.ctl(L.CTL_CRASH_LOG) + 2 * n, idLo(taskId));
    Atomics.store(i32, Core.ctl(L.CTL_CRASH_LOG) + 2 * n + 1, idHi(taskId));
  }
  process.exit(CRASH_EXIT_CODE);
}
