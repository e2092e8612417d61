// The task module of the migration example, as a piscina user writes it (plain ESM, no Loom in sight).
import { workerData } from "node:worker_threads";

/** The default export: scales a number by the pool's workerData. */
export default (n) => n * workerData.scale;

/** Sums a typed array the caller moved here instead of copying. */
export function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

/** Busy until aborted (or `ms` passes). */
export function spin(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return "finished";
}
