// The Pool's constructor and call options: their types, the piscina options it
// accepts, and validation into one normalized spec. Pure: no runtime, no I/O.

import { pathToFileURL } from "node:url";
import os from "node:os";
import path from "node:path";
import { poolMisuse } from "./pool-errors.js";
import type { ProgressOptions } from "./progress-reporter.js";

/** piscina's constructor options, so `new Piscina(opts)` becomes `new Pool(opts)`. */
export interface PiscinaOptions {
  /** Module whose exports `run()` calls (a path or a file: URL). Honoured. */
  filename?: string | URL | null;
  /** Export `run()` calls when it names none (default "default"). Honoured. */
  name?: string;
  /** Number of workers when the pool makes the runtime. Honoured. */
  maxThreads?: number;
  /** Validated; Loom keeps every worker up, so it only bounds maxThreads. */
  minThreads?: number;
  /** Limit on `run()` calls waiting for a worker; `"auto"` = maxThreads². Honoured. */
  maxQueue?: number | "auto";
  // Accepted and ignored (see README.md): Loom's runtime decides these.
  idleTimeout?: number;
  concurrentTasksPerWorker?: number;
  atomics?: "sync" | "async" | "disabled";
  resourceLimits?: unknown;
  argv?: string[];
  execArgv?: string[];
  env?: unknown;
  workerData?: unknown;
  taskQueue?: unknown;
  niceIncrement?: number;
  trackUnmanagedFds?: boolean;
  closeTimeout?: number;
  recordTiming?: boolean;
  stricterFIFO?: boolean;
  loadBalancer?: unknown;
  workerHistogram?: boolean;
}

/** `new Pool(options)`. */
export interface PoolOptions extends PiscinaOptions {
  /** Number of workers when the pool makes the runtime (default: os.availableParallelism()). */
  workers?: number;
}

/** Options of `map`, `starmap`, `imap` and `imapUnordered`. */
export interface MapOptions extends ProgressOptions {
  /** Items per task. map/starmap default: ceil(items / (4 × workers)); imap: 1. */
  chunksize?: number;
}

/** piscina's `run()` options. */
export interface RunOptions {
  /** Export to call; default: the pool's `name`, else "default". */
  name?: string | null;
  /** Module to load instead of the pool's `filename`. */
  filename?: string | URL | null;
  /** Aborting cancels the task (a running one loses its worker) and rejects the call. */
  signal?: AbortSignalLike | null;
  /** Accepted and ignored: values travel through Loom's object store. */
  transferList?: unknown;
}

/** An AbortSignal, or an EventEmitter with an 'abort' event (both accepted by piscina). */
export type AbortSignalLike =
  | AbortSignal
  | { aborted?: boolean; reason?: unknown; once(event: "abort", listener: () => void): unknown; removeListener(event: "abort", listener: () => void): unknown };

/** The validated constructor options. */
export interface PoolSpec {
  /** Workers to ask init() for; undefined: the runtime's default. */
  readonly workers: number | undefined;
  readonly minThreads: number | undefined;
  /** The module of `run()`, as a file: URL; undefined when none was given. */
  readonly filename: URL | undefined;
  readonly name: string;
  /** Most `run()` calls allowed to wait for a worker; Infinity when unlimited. */
  readonly maxQueue: number | "auto";
}

const HONOURED = new Set(["workers", "filename", "name", "maxThreads", "minThreads", "maxQueue"]);
const IGNORED = new Set([
  "idleTimeout",
  "concurrentTasksPerWorker",
  "atomics",
  "resourceLimits",
  "argv",
  "execArgv",
  "env",
  "workerData",
  "taskQueue",
  "niceIncrement",
  "trackUnmanagedFds",
  "closeTimeout",
  "recordTiming",
  "stricterFIFO",
  "loadBalancer",
  "workerHistogram",
]);

/** The piscina options a Pool accepts but does not act on. */
export const IGNORED_PISCINA_OPTIONS: ReadonlySet<string> = IGNORED;

/** Checks `new Pool(options)`; throws a LoomError naming the first bad option. */
export function poolSpecOf(options: unknown): PoolSpec {
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw poolMisuse(`new Pool(options): options must be an object, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!HONOURED.has(key) && !IGNORED.has(key)) {
      throw poolMisuse(
        `new Pool(options): unknown option "${key}"; known: ${[...HONOURED, ...IGNORED].join(", ")}`,
      );
    }
  }
  const workers = optionalCount(o, "workers");
  const maxThreads = optionalCount(o, "maxThreads");
  const minThreads = optionalCount(o, "minThreads");
  if (workers !== undefined && maxThreads !== undefined && workers !== maxThreads) {
    throw poolMisuse(`new Pool(options): workers (${workers}) and maxThreads (${maxThreads}) disagree; give one`);
  }
  const count = workers ?? maxThreads;
  if (minThreads !== undefined && count !== undefined && minThreads > count) {
    throw poolMisuse(`new Pool(options): minThreads (${minThreads}) is larger than maxThreads (${count})`);
  }
  const name = o.name ?? "default";
  if (typeof name !== "string" || name === "") {
    throw poolMisuse(`new Pool(options): name must be a non-empty string, got ${describe(o.name)}`);
  }
  const maxQueue = o.maxQueue ?? Infinity;
  if (maxQueue !== "auto" && !(typeof maxQueue === "number" && maxQueue >= 0 && (Number.isInteger(maxQueue) || maxQueue === Infinity))) {
    throw poolMisuse(`new Pool(options): maxQueue must be "auto" or an integer >= 0, got ${describe(o.maxQueue)}`);
  }
  return {
    // piscina with only minThreads runs at least that many threads.
    workers: count ?? (minThreads !== undefined ? Math.max(minThreads, os.availableParallelism()) : undefined),
    minThreads,
    filename: o.filename == null ? undefined : moduleUrlOf(o.filename, "new Pool(options): filename"),
    name,
    maxQueue,
  };
}

/** A path, `file:` URL string or URL → a file: URL; throws a LoomError naming the value. */
export function moduleUrlOf(filename: unknown, where: string): URL {
  if (filename instanceof URL) return filename;
  if (typeof filename !== "string" || filename === "") {
    throw poolMisuse(`${where} must be a path or a file: URL, got ${describe(filename)}`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(filename) || filename.startsWith("file:")) return new URL(filename);
  return pathToFileURL(path.resolve(filename));
}

/** Checks `{ chunksize, onProgress, progress }`; returns a copy with chunksize validated. */
export function mapOptionsOf(options: unknown, method: string): MapOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") {
    throw poolMisuse(`pool.${method}(fn, items, options): options must be an object, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== "chunksize" && key !== "onProgress" && key !== "progress") {
      throw poolMisuse(`pool.${method}: unknown option "${key}"; known: chunksize, onProgress, progress`);
    }
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== "function") {
    throw poolMisuse(`pool.${method}: onProgress must be a function, got ${describe(o.onProgress)}`);
  }
  if (o.progress !== undefined && typeof o.progress !== "boolean") {
    throw poolMisuse(`pool.${method}: progress must be a boolean, got ${describe(o.progress)}`);
  }
  return {
    chunksize: optionalCount(o, "chunksize", `pool.${method}: chunksize`),
    onProgress: o.onProgress as MapOptions["onProgress"],
    progress: o.progress as boolean | undefined,
  };
}

/** Checks `run(task, options)`. */
export function runOptionsOf(options: unknown): RunOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") {
    throw poolMisuse(`pool.run(task, options): options must be an object, got ${describe(options)}`);
  }
  const o = options as RunOptions & Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== "name" && key !== "filename" && key !== "signal" && key !== "transferList") {
      throw poolMisuse(`pool.run: unknown option "${key}"; known: name, filename, signal, transferList`);
    }
  }
  if (o.name != null && (typeof o.name !== "string" || o.name === "")) {
    throw poolMisuse(`pool.run: name must be a non-empty string, got ${describe(o.name)}`);
  }
  const s = o.signal as { aborted?: unknown; addEventListener?: unknown; once?: unknown } | null | undefined;
  if (s != null && typeof s.addEventListener !== "function" && typeof s.once !== "function") {
    throw poolMisuse(`pool.run: signal must be an AbortSignal or an EventEmitter, got ${describe(o.signal)}`);
  }
  return o;
}

function optionalCount(o: Record<string, unknown>, key: string, label = `new Pool(options): ${key}`): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw poolMisuse(`${label} must be an integer >= 1, got ${describe(v)}`);
  }
  return v;
}

/** A short, unambiguous rendering of a bad value for messages. */
export function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === "function") return v.name ? `function ${v.name}` : "an anonymous function";
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (v !== null && typeof v === "object") return v.constructor?.name ? `a ${v.constructor.name}` : "an object";
  return String(v);
}
