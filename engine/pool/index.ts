/**
 * The drop-in for worker pools: `map`, `imap`, `starmap`, `apply`, and piscina's `run`, on Loom's runtime.
 * @module loom-dag/pool
 */
// loom/pool: the drop-in for worker pools (multiprocessing-style and piscina-style).
// The surface only; the Pool lives in pool.ts.

import { Pool } from "./pool.js";

export { Pool, type PoolFunction, type PoolItems } from "./pool.js";
export { Pool as Piscina };
export type { MapOptions, PiscinaOptions, PoolOptions, RunOptions, AbortSignalLike } from "./pool-options.js";
export type { ResolvedPiscinaOptions } from "./piscina-options.js";
export type { PoolHistogram, TimingSummary } from "./pool-timing.js";
export type { Transferable } from "./task-transfer.js";
export type { ProgressCallback, ProgressOptions } from "./progress-reporter.js";
export { PoolAbortError as AbortError } from "./pool-errors.js";
export { transferableSymbol, valueSymbol, move } from "./task-transfer.js";
export { queueOptionsSymbol, type BalancedTask, type BalancedThread, type LoadBalancer } from "./thread-balancer.js";
export const isWorkerThread: boolean = Pool.isWorkerThread;
export const workerData: unknown = Pool.workerData;
export const version: string = Pool.version;
export default Pool;
