// The Pool's constructor and call options: their types and their checks into one normalized spec. piscina's
// own options are checked and resolved in piscina-options.ts; this file adds Loom's (`workers`), refuses
// unknown keys, and checks map/run options. Pure: no threads, no I/O.

import { poolMisuse } from "./pool-errors.js";
import { checkPiscinaOptions, PISCINA_OPTION_KEYS, resolvePiscinaOptions, type PiscinaOptions, type ResolvedPiscinaOptions } from "./piscina-options.js";
import type { ProgressOptions } from "./progress-reporter.js";

export type { PiscinaOptions } from "./piscina-options.js";

/** `new Pool(options)`. */
export interface PoolOptions extends PiscinaOptions {
  /**
   * Multiprocessing style: the Loom runtime's worker count when the pool makes the runtime (default:
   * os.availableParallelism()). A pool given `workers` starts no threads of its own until its first run().
   */
  workers?: number;
  /**
   * Run over a cluster: the head's "host:port" ("auto": this machine's head). Default: the LOOM_ADDRESS
   * environment variable, else this process alone. Used when the pool makes the runtime.
   */
  address?: string;
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
  /** Aborting rejects the call; a running task's thread is terminated and replaced. */
  signal?: AbortSignalLike | null;
  /** Buffers (and ports) moved to the thread with the task, not copied. */
  transferList?: readonly unknown[];
  /**
   * Loom's option: times the task runs again on a new thread when its thread dies under it (an exit, an
   * uncaught error, running out of memory); default 0, as in piscina. A task's own throw is never retried.
   * When every try died, the call rejects with a WorkerCrashedError whose `cause` is the last death.
   */
  maxRetries?: number;
}

/** An AbortSignal, or an EventEmitter with an 'abort' event (both accepted by piscina). */
export type AbortSignalLike =
  | AbortSignal
  | { aborted?: boolean; reason?: unknown; once(event: "abort", listener: () => void): unknown; removeListener(event: "abort", listener: () => void): unknown };

/** The validated constructor options. */
export interface PoolSpec {
  /** `workers` as given (multiprocessing style), else undefined. */
  readonly workers: number | undefined;
  /** Workers to ask init() for when no runtime exists: `workers`, else `maxThreads` if given, else its default. */
  readonly runtimeWorkers: number | undefined;
  /** piscina's options resolved (`pool.options`); with `workers` alone, maxThreads = workers. */
  readonly piscina: ResolvedPiscinaOptions;
  /** The cluster to join when the pool makes the runtime, if given. */
  readonly address: string | undefined;
}

/** Checks `new Pool(options)`: piscina's options throw piscina's errors; Loom's and unknown keys a LoomError. */
export function poolSpecOf(options: unknown): PoolSpec {
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw poolMisuse(`new Pool(options): options must be an object, got ${describe(options)}`);
  }
  // Own keys only: an option inherited from a polluted prototype is never read.
  const o = Object.assign(Object.create(null) as Record<string, unknown>, options);
  for (const key of Object.keys(o)) {
    if (key !== "workers" && key !== "address" && !PISCINA_OPTION_KEYS.has(key)) {
      throw poolMisuse(`new Pool(options): unknown option "${key}"; known: workers, address, ${[...PISCINA_OPTION_KEYS].join(", ")}`);
    }
  }
  checkPiscinaOptions(o);
  const workers = optionalCount(o, "workers");
  if (workers !== undefined && o.maxThreads !== undefined && workers !== o.maxThreads) {
    throw poolMisuse(`new Pool(options): workers (${workers}) and maxThreads (${String(o.maxThreads)}) disagree; give one`);
  }
  const address = o.address;
  if (address !== undefined && (typeof address !== "string" || address === "")) {
    throw poolMisuse(`new Pool(options): address must be "host:port" or "auto", got ${describe(address)}`);
  }
  const { address: _address, ...rest } = o;
  const piscina = resolvePiscinaOptions(workers !== undefined ? { ...rest, maxThreads: workers } : rest);
  return { workers, runtimeWorkers: workers ?? (o.maxThreads as number | undefined), piscina, address: address as string | undefined };
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

/** Checks `run(task, options)` with piscina's TypeErrors; unknown keys are a LoomError (catches typos). */
export function runOptionsOf(options: unknown): RunOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
  const o = Object.assign(Object.create(null) as Record<string, unknown>, options);
  for (const key of Object.keys(o)) {
    if (key !== "name" && key !== "filename" && key !== "signal" && key !== "transferList" && key !== "maxRetries") {
      throw poolMisuse(`pool.run: unknown option "${key}"; known: name, filename, signal, transferList, maxRetries`);
    }
  }
  if (o.maxRetries !== undefined && !(typeof o.maxRetries === "number" && Number.isInteger(o.maxRetries) && o.maxRetries >= 0)) {
    throw poolMisuse(`pool.run: maxRetries must be an integer >= 0, got ${describe(o.maxRetries)}`);
  }
  if (o.transferList !== undefined && !Array.isArray(o.transferList)) throw new TypeError("transferList argument must be an Array");
  if (o.filename != null && typeof o.filename !== "string" && !(o.filename instanceof URL)) throw new TypeError("filename argument must be a string");
  if (o.name != null && typeof o.name !== "string") throw new TypeError("name argument must be a string");
  const s = o.signal as { addEventListener?: unknown; once?: unknown } | null | undefined;
  if (s != null && typeof s !== "object") throw new TypeError("signal argument must be an object");
  if (s != null && typeof s.addEventListener !== "function" && typeof s.once !== "function") {
    throw new TypeError("signal argument must be an AbortSignal or an EventEmitter");
  }
  return o as RunOptions;
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
