/**
 * The drop-in for worker pools: `map`, `imap`, `starmap`, `apply`, and piscina's `run`, on Loom's runtime.
 * @module loom-dag/pool
 */
// loom/pool: the drop-in for worker pools (multiprocessing-style and piscina-style).
// The surface only; the Pool lives in pool.ts.

export { Pool, type PoolFunction, type PoolItems } from "./pool.js";
export type { MapOptions, PiscinaOptions, PoolOptions, RunOptions, AbortSignalLike } from "./pool-options.js";
export type { ProgressCallback, ProgressOptions } from "./progress-reporter.js";
export { Pool as default } from "./pool.js";
