// A task module that loads in the driver (which reads its exports) and fails to load in any worker thread.
import { isMainThread } from "node:worker_threads";

if (!isMainThread) throw new Error("driver-only.ts refuses to load in a worker");

export function never(): number {
  return 0;
}
