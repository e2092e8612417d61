// Task module for engine/worker/worker-runtime.test.ts: when this thread evaluated it, and when a task ran.
export const loadedAt = Date.now();

/** Waits `ms` (so a test can kill the worker mid-task), then says when the module was loaded and the call ran. */
export async function stamp(ms = 0): Promise<{ loadedAt: number; ranAt: number }> {
  const ranAt = Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  return { loadedAt, ranAt };
}
