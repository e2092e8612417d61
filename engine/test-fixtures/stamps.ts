import { appendFileSync, readFileSync } from "node:fs";
// Task module for engine/worker/worker-runtime.test.ts: when this thread evaluated it, and when a task ran, on
// the clock the engine stamps task starts with (the process's time origin plus the monotonic clock).
const clockMs = (): number => performance.timeOrigin + performance.now();
export const loadedAt = clockMs();

/**
 * Waits `ms` (so a test can kill the worker mid-task), then says when the module was loaded and the call ran.
 * With `mark` (a file), each attempt appends a line to it first and only the first attempt waits: the test knows
 * the task is running when it kills, and that the retry ran.
 */
export async function stamp(ms = 0, mark?: string): Promise<{ loadedAt: number; ranAt: number }> {
  const ranAt = clockMs();
  if (mark !== undefined) {
    appendFileSync(mark, "ran\n");
    if (readFileSync(mark, "utf8") !== "ran\n") ms = 0;
  }
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  return { loadedAt, ranAt };
}
