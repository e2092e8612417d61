// piscina's constructor options: checked with piscina's error classes and messages, and resolved with its
// defaults into the `pool.options` object. Pure: no threads, no I/O. An option loom/pool cannot honour is
// refused here, never accepted and ignored.
import os from "node:os";
import { fileURLToPath } from "node:url";
import type { ResourceLimits } from "node:worker_threads";
import type { AtomicsMode } from "./thread-protocol.js";
import type { LoadBalancer } from "./thread-balancer.js";

/** piscina's constructor options, so `new Piscina(opts)` becomes `new Pool(opts)`. */
export interface PiscinaOptions {
  /** Module whose export `run()` calls: a path, a `file:` URL string, or a URL. */
  filename?: string | URL | null;
  /** Export `run()` calls when it names none (default "default"). */
  name?: string | null;
  /** Threads kept up (default max(⌊cores / 2⌋, 1); 0 allowed). */
  minThreads?: number;
  /** Most threads (default 1.5 × cores). With `workers` unset, also the Loom runtime's worker count. */
  maxThreads?: number;
  /** Milliseconds a thread above minThreads may stay idle before it exits (default 0; Infinity: never). */
  idleTimeout?: number;
  /** Tasks allowed to wait for a thread (default Infinity); "auto" = maxThreads²; 0 = no queue. */
  maxQueue?: number | "auto";
  /** Tasks one thread runs at once (default 1). */
  concurrentTasksPerWorker?: number;
  /** How an idle thread waits for work: "sync" (default, blocks), "async", "disabled" (its event loop). */
  atomics?: AtomicsMode;
  /** Heap limits of each thread; a task that exceeds them rejects with ERR_WORKER_OUT_OF_MEMORY. */
  resourceLimits?: ResourceLimits;
  /** Environment of each thread (default: the process's, shared). */
  env?: Record<string, string | undefined> | typeof import("node:worker_threads").SHARE_ENV;
  argv?: unknown[];
  execArgv?: string[];
  /** Cloned into each thread: `Pool.workerData` there. */
  workerData?: unknown;
  /** Milliseconds close() waits for running tasks before it destroys the pool (default 30000). */
  closeTimeout?: number;
  /** Keep run and wait time histograms (default true). */
  recordTiming?: boolean;
  trackUnmanagedFds?: boolean;
  /** Tasks start in submission order. loom/pool's queue is always strictly FIFO, so both values hold. */
  stricterFIFO?: boolean;
  /** Picks the thread for each task (or null: the task waits); its choice is not second-guessed. */
  loadBalancer?: LoadBalancer;
  /** Keep run times per thread, read as `histogram` on the threads a loadBalancer sees. */
  workerHistogram?: boolean;
  /** Refused when set to anything but its default (see README.md). */
  niceIncrement?: number;
  taskQueue?: unknown;
}

/** `pool.options`: every option with its default filled in (filename as a path, maxQueue as a number). */
export interface ResolvedPiscinaOptions {
  filename: string | null;
  name: string;
  minThreads: number;
  maxThreads: number;
  idleTimeout: number;
  maxQueue: number;
  concurrentTasksPerWorker: number;
  atomics: AtomicsMode;
  resourceLimits?: ResourceLimits;
  env?: PiscinaOptions["env"];
  argv?: unknown[];
  execArgv?: string[];
  workerData?: unknown;
  closeTimeout: number;
  recordTiming: boolean;
  trackUnmanagedFds: boolean;
  stricterFIFO: boolean;
  niceIncrement: number;
  workerHistogram: boolean;
  loadBalancer?: LoadBalancer;
}

export const PISCINA_OPTION_KEYS: ReadonlySet<string> = new Set([
  "filename", "name", "minThreads", "maxThreads", "idleTimeout", "maxQueue", "concurrentTasksPerWorker", "atomics",
  "resourceLimits", "env", "argv", "execArgv", "workerData", "closeTimeout", "recordTiming", "trackUnmanagedFds",
  "stricterFIFO", "niceIncrement", "taskQueue", "loadBalancer", "workerHistogram",
]);

/** A file: URL (string or URL) as a path; a path unchanged. */
export function pathOfFilename(filename: string | URL): string {
  if (filename instanceof URL) return fileURLToPath(filename);
  return filename.startsWith("file:") ? fileURLToPath(new URL(filename)) : filename;
}

const isNumber = (v: unknown): v is number => typeof v === "number";

/** Throws piscina's TypeError/RangeError for a bad option; `o` holds own keys only (no prototype lookups). */
export function checkPiscinaOptions(o: Record<string, unknown>): void {
  if (o.filename != null && typeof o.filename !== "string" && !(o.filename instanceof URL)) {
    throw new TypeError("options.filename must be a string or null");
  }
  if (o.name != null && typeof o.name !== "string") throw new TypeError("options.name must be a string or null");
  if (o.minThreads !== undefined && (!isNumber(o.minThreads) || o.minThreads < 0)) {
    throw new TypeError("options.minThreads must be a non-negative integer");
  }
  if (o.maxThreads !== undefined && (!isNumber(o.maxThreads) || o.maxThreads < 1)) {
    throw new TypeError("options.maxThreads must be a positive integer");
  }
  if (o.minThreads !== undefined && o.maxThreads !== undefined && (o.minThreads as number) > (o.maxThreads as number)) {
    throw new RangeError("options.minThreads and options.maxThreads must not conflict");
  }
  if (o.idleTimeout !== undefined && (!isNumber(o.idleTimeout) || o.idleTimeout < 0)) {
    throw new TypeError("options.idleTimeout must be a non-negative integer");
  }
  if (o.maxQueue !== undefined && o.maxQueue !== "auto" && (!isNumber(o.maxQueue) || o.maxQueue < 0)) {
    throw new TypeError("options.maxQueue must be a non-negative integer");
  }
  if (o.concurrentTasksPerWorker !== undefined && (!isNumber(o.concurrentTasksPerWorker) || o.concurrentTasksPerWorker < 1)) {
    throw new TypeError("options.concurrentTasksPerWorker must be a positive integer");
  }
  if (o.atomics != null && !(o.atomics === "sync" || o.atomics === "async" || o.atomics === "disabled")) {
    throw new TypeError("options.atomics should be a value of sync, sync or disabled.");
  }
  if (o.resourceLimits !== undefined && (typeof o.resourceLimits !== "object" || o.resourceLimits === null)) {
    throw new TypeError("options.resourceLimits must be an object");
  }
  if (o.niceIncrement !== undefined && (!isNumber(o.niceIncrement) || (o.niceIncrement < 0 && process.platform !== "win32"))) {
    throw new TypeError("options.niceIncrement must be a non-negative integer on Unix systems");
  }
  if (o.trackUnmanagedFds !== undefined && typeof o.trackUnmanagedFds !== "boolean") {
    throw new TypeError("options.trackUnmanagedFds must be a boolean value");
  }
  if (o.closeTimeout !== undefined && (!isNumber(o.closeTimeout) || o.closeTimeout < 0)) {
    throw new TypeError("options.closeTimeout must be a non-negative integer");
  }
  if (o.workerHistogram !== undefined && typeof o.workerHistogram !== "boolean") {
    throw new TypeError("options.workerHistogram must be a boolean");
  }
  if (o.stricterFIFO !== undefined && typeof o.stricterFIFO !== "boolean") {
    throw new TypeError("options.stricterFIFO must be a boolean");
  }
  if (o.recordTiming !== undefined && typeof o.recordTiming !== "boolean") {
    throw new TypeError("options.recordTiming must be a boolean");
  }
  if (o.taskQueue !== undefined && !looksLikeTaskQueue(o.taskQueue)) throw new TypeError("options.taskQueue must be a TaskQueue object");
  if (o.loadBalancer !== undefined && (typeof o.loadBalancer !== "function" || o.loadBalancer.length < 1)) {
    throw new TypeError("options.loadBalancer must be a function with at least two args");
  }
  refuseUnsupported(o);
}

/** piscina's TaskQueue shape: size, and shift/remove/push methods. */
function looksLikeTaskQueue(q: unknown): boolean {
  if (q === null || typeof q !== "object") return false;
  const t = q as Record<string, unknown>;
  return "size" in t && typeof t.shift === "function" && typeof t.remove === "function" && typeof t.push === "function";
}

/** Options loom/pool does not implement: a clear error, never a silent default. */
function refuseUnsupported(o: Record<string, unknown>): void {
  const refuse = (what: string, why: string): never => {
    throw new TypeError(`loom/pool does not support options.${what}: ${why}`);
  };
  if (o.taskQueue !== undefined) refuse("taskQueue", "its queue is a built-in FIFO; leave taskQueue unset");
  if (o.niceIncrement !== undefined && o.niceIncrement !== 0) refuse("niceIncrement", "thread priorities are not changed; leave it 0");
}

/** Fills in piscina's defaults: minThreads and maxThreads pull each other along when only one is given. */
export function resolvePiscinaOptions(o: Record<string, unknown>): ResolvedPiscinaOptions {
  const cores = os.availableParallelism();
  let minThreads = (o.minThreads as number | undefined) ?? Math.max(Math.floor(cores / 2), 1);
  let maxThreads = (o.maxThreads as number | undefined) ?? cores * 1.5;
  if (o.maxThreads !== undefined && minThreads >= maxThreads) minThreads = maxThreads;
  if (o.minThreads !== undefined && maxThreads <= minThreads) maxThreads = minThreads;
  const resolved: ResolvedPiscinaOptions = Object.assign(Object.create(null) as object, {
    filename: o.filename == null ? null : pathOfFilename(o.filename as string | URL),
    name: (o.name as string | null | undefined) ?? "default",
    minThreads,
    maxThreads,
    idleTimeout: (o.idleTimeout as number | undefined) ?? 0,
    maxQueue: o.maxQueue === "auto" ? maxThreads ** 2 : ((o.maxQueue as number | undefined) ?? Infinity),
    concurrentTasksPerWorker: (o.concurrentTasksPerWorker as number | undefined) ?? 1,
    atomics: (o.atomics as AtomicsMode | undefined) ?? "sync",
    closeTimeout: (o.closeTimeout as number | undefined) ?? 30_000,
    recordTiming: (o.recordTiming as boolean | undefined) ?? true,
    trackUnmanagedFds: (o.trackUnmanagedFds as boolean | undefined) ?? true,
    stricterFIFO: (o.stricterFIFO as boolean | undefined) ?? false,
    niceIncrement: (o.niceIncrement as number | undefined) ?? 0,
    workerHistogram: (o.workerHistogram as boolean | undefined) ?? false,
  });
  for (const key of ["resourceLimits", "env", "argv", "execArgv", "workerData", "loadBalancer"] as const) {
    if (o[key] !== undefined) (resolved as unknown as Record<string, unknown>)[key] = o[key];
  }
  return resolved;
}
