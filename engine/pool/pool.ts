// Pool: the facade of loom/pool, an EventEmitter with piscina's surface. piscina-style run() goes to threads
// the pool owns (ThreadGroup, made at construction unless the pool is multiprocessing-style); map, imap,
// imapUnordered, starmap and apply go to the Loom runtime (CallManager). This file checks arguments, holds the
// pool's state, and reads out properties; it schedules nothing itself.

import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { isMainThread, workerData as threadWorkerData, type Worker } from "node:worker_threads";
import { CallManager, checkFunction, collect, type PoolItems } from "./call-manager.js";
import { abortError, closedByForceError, poolClosed, poolMisuse, terminatedError } from "./pool-errors.js";
import { describe, poolSpecOf, runOptionsOf, type MapOptions, type PoolOptions, type PoolSpec, type RunOptions } from "./pool-options.js";
import { pathOfFilename, type ResolvedPiscinaOptions } from "./piscina-options.js";
import type { PoolHistogram, TimingSummary } from "./pool-timing.js";
import { move, transferableSymbol, valueSymbol } from "./task-transfer.js";
import { ThreadGroup } from "./thread-group.js";
import { queueOptionsSymbol } from "./thread-balancer.js";
import { POOL_THREAD_MARK } from "./thread-protocol.js";
import { peekCurrent } from "../current.js";
import type { RemoteFunction } from "../index.js";

export type { PoolItems } from "./call-manager.js";

/** What the pool runs: an inline self-contained function, or a remote function. */
export type PoolFunction<A extends unknown[], R> = ((...args: A) => R) | RemoteFunction<(...args: A) => R>;

/** Chunks in flight per imap call while the pool is open (bounds memory on lazy inputs). */
const IMAP_WINDOW = 4096;

type PoolState = "open" | "closing" | "closed" | "terminated";

/** The package's version, read once from the package.json above this file (sources or dist/). */
function packageVersion(): string {
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { version?: string; exports?: unknown };
      if (pkg.exports !== undefined && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not at this level: try the next one up
    }
  }
  return "0.0.0";
}
const VERSION = packageVersion();

export class Pool<T = any, R = any> extends EventEmitter {
  private readonly spec: PoolSpec;
  private readonly calls: CallManager;
  /** The pool's own threads; made at construction (piscina style) or at the first run() (`workers` given). */
  private group: ThreadGroup | undefined;
  private state: PoolState = "open";
  private ending: Promise<void> | undefined;
  private readonly createdAt = performance.now();

  /**
   * `{ workers }` (multiprocessing style) or piscina's `{ filename, maxThreads, ... }`.
   * @example const pool = new Pool({ workers: 4 });
   */
  constructor(options?: PoolOptions) {
    super();
    this.spec = poolSpecOf(options);
    this.calls = new CallManager(this.spec.runtimeWorkers, this.spec.piscina.maxThreads, this.spec.address);
    if (this.spec.workers === undefined && this.spec.address === undefined) this.group = new ThreadGroup(this.spec.piscina, this);
  }

  /** Pool.isWorkerThread: true inside a pool's thread (or a Loom worker), false in the caller. */
  static get isWorkerThread(): boolean {
    return (globalThis as Record<symbol, unknown>)[POOL_THREAD_MARK] === true || (!isMainThread && peekCurrent() !== undefined);
  }

  /** Inside a pool's thread, the pool's `workerData` option (cloned); undefined elsewhere. */
  static get workerData(): unknown {
    return (globalThis as Record<symbol, unknown>)[POOL_THREAD_MARK] === true ? threadWorkerData : undefined;
  }

  static get version(): string {
    return VERSION;
  }

  /** The class itself, as piscina exposes `Piscina.Piscina`. */
  static get Piscina(): typeof Pool {
    return Pool;
  }

  static get Pool(): typeof Pool {
    return Pool;
  }

  static move = move;
  static get transferableSymbol(): typeof transferableSymbol {
    return transferableSymbol;
  }
  static get valueSymbol(): typeof valueSymbol {
    return valueSymbol;
  }
  static get queueOptionsSymbol(): typeof queueOptionsSymbol {
    return queueOptionsSymbol;
  }

  /** The resolved options, defaults filled in (piscina's `pool.options`). */
  get options(): ResolvedPiscinaOptions {
    return this.spec.piscina;
  }

  get maxThreads(): number {
    return this.spec.piscina.maxThreads;
  }

  get minThreads(): number {
    return this.spec.piscina.minThreads;
  }

  /** The live threads of run(), each a node:worker_threads Worker with its `threadId`. */
  get threads(): Worker[] {
    return this.group?.threadList ?? [];
  }

  /** Threads ready and running nothing. */
  get idleThreads(): number {
    return this.group?.idleThreads ?? 0;
  }

  /** run() calls waiting for a thread. */
  get queueSize(): number {
    return this.group?.queueSize ?? 0;
  }

  /** run() calls that ended, plus map/apply items that finished. */
  get completed(): number {
    return (this.group?.completed ?? 0) + this.calls.completedItems;
  }

  /** Milliseconds since the pool was made. */
  get duration(): number {
    return performance.now() - this.createdAt;
  }

  /** Time spent running run() tasks over the time the pool's maxThreads could have run (0 to 1). */
  get utilization(): number {
    return this.group?.utilization(this.duration) ?? 0;
  }

  /** run() time and wait time summaries, in milliseconds (with recordTiming). */
  get histogram(): PoolHistogram {
    return this.ensureGroup().timing;
  }

  get runTime(): TimingSummary | undefined {
    return this.histogram.runTime;
  }

  get waitTime(): TimingSummary | undefined {
    return this.histogram.waitTime;
  }

  /** True while every thread is busy to capacity; 'drain' follows when it clears. */
  get needsDrain(): boolean {
    return this.group?.needsDrain ?? false;
  }

  /** The pool's state: "open", "closing", "closed" or "terminated". */
  get status(): PoolState {
    return this.state;
  }

  /**
   * Applies `fn` to every item; resolves to the results in input order.
   * @example const squares = await pool.map((n: number) => n * n, [1, 2, 3], { chunksize: 1 }); // [1, 4, 9]
   */
  map<T, R>(fn: (item: T) => R, items: PoolItems<T>, options?: MapOptions): Promise<Awaited<R>[]>;
  map<F extends (item: any) => any>(fn: RemoteFunction<F>, items: PoolItems<Parameters<F>[0]>, options?: MapOptions): Promise<Awaited<ReturnType<F>>[]>;
  map(fn: unknown, items: PoolItems<unknown>, options?: MapOptions): Promise<unknown[]> {
    return collect(this.stream("map", fn, items, "single", options, true, Infinity));
  }

  /**
   * map for functions of several arguments: `fn(...args)` for each args array.
   * @example const sums = await pool.starmap((a: number, b: number) => a + b, [[1, 2], [3, 4]]); // [3, 7]
   */
  starmap<A extends unknown[], R>(fn: (...args: A) => R, items: PoolItems<A>, options?: MapOptions): Promise<Awaited<R>[]>;
  starmap<F extends (...args: any[]) => any>(fn: RemoteFunction<F>, items: PoolItems<Parameters<F>>, options?: MapOptions): Promise<Awaited<ReturnType<F>>[]>;
  starmap(fn: unknown, items: PoolItems<unknown[]>, options?: MapOptions): Promise<unknown[]> {
    return collect(this.stream("starmap", fn, items, "spread", options, true, Infinity));
  }

  /**
   * Results as an async iterable, in input order; a failed item throws at its position.
   * @example for await (const line of pool.imap(render, pages)) process.stdout.write(line);
   */
  imap<T, R>(fn: (item: T) => R, items: PoolItems<T>, options?: MapOptions): AsyncGenerator<Awaited<R>, void, undefined>;
  imap<F extends (item: any) => any>(fn: RemoteFunction<F>, items: PoolItems<Parameters<F>[0]>, options?: MapOptions): AsyncGenerator<Awaited<ReturnType<F>>, void, undefined>;
  imap(fn: unknown, items: PoolItems<unknown>, options?: MapOptions): AsyncGenerator<unknown, void, undefined> {
    return this.stream("imap", fn, items, "single", options, true, IMAP_WINDOW).values();
  }

  /**
   * Results as an async iterable, in the order they finish.
   * @example for await (const hit of pool.imapUnordered(probe, hosts)) if (hit) break;
   */
  imapUnordered<T, R>(fn: (item: T) => R, items: PoolItems<T>, options?: MapOptions): AsyncGenerator<Awaited<R>, void, undefined>;
  imapUnordered<F extends (item: any) => any>(fn: RemoteFunction<F>, items: PoolItems<Parameters<F>[0]>, options?: MapOptions): AsyncGenerator<Awaited<ReturnType<F>>, void, undefined>;
  imapUnordered(fn: unknown, items: PoolItems<unknown>, options?: MapOptions): AsyncGenerator<unknown, void, undefined> {
    return this.stream("imapUnordered", fn, items, "single", options, false, IMAP_WINDOW).values();
  }

  /**
   * One call, `fn(...args)`, as one task.
   * @example const total = await pool.apply((a: number, b: number) => a + b, [1, 2]); // 3
   */
  apply<A extends unknown[], R>(fn: (...args: A) => R, args?: A): Promise<Awaited<R>>;
  apply<F extends (...args: any[]) => any>(fn: RemoteFunction<F>, args?: Parameters<F>): Promise<Awaited<ReturnType<F>>>;
  apply(fn: unknown, args?: unknown[]): Promise<unknown> {
    this.assertOpen("apply");
    checkFunction(fn, "apply");
    const argv = args ?? [];
    if (!Array.isArray(argv)) throw poolMisuse(`pool.apply(fn, args): args must be an array, got ${describe(args)}`);
    return this.calls.apply(fn, argv);
  }

  /**
   * piscina's `run(task, { name, filename, signal, transferList })`: calls the module's export `name` (default:
   * the pool's `name`, else "default") with `task` on one of the pool's threads. A throw rejects with the error
   * as the thread threw it; an aborted signal rejects with an AbortError; after close() or destroy() too.
   * A thread that dies under the task rejects it with that cause, unless Loom's `maxRetries` runs it again.
   * @example const pool = new Pool({ filename: new URL("./worker.js", import.meta.url).href }); await pool.run({ a: 4, b: 6 });
   */
  run(task: T, options?: RunOptions): Promise<R> {
    let opts: RunOptions;
    try {
      opts = runOptionsOf(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.state !== "open") return Promise.reject(abortError("queue is being terminated"));
    const group = this.ensureGroup();
    const filename = opts.filename != null ? pathOfFilename(opts.filename) : group.options.filename;
    if (filename === null) return Promise.reject(new Error("filename must be provided to run() or in options object"));
    return group.run(task, {
      filename,
      name: opts.name ?? group.options.name,
      signal: opts.signal ?? null,
      transferList: opts.transferList ?? [],
      maxRetries: opts.maxRetries ?? 0,
    }) as Promise<R>;
  }

  /**
   * Lets everything submitted finish, then stops the threads and lets go of the runtime; emits 'close'.
   * `force`: run() tasks not started reject with an AbortError and runtime calls not finished are cancelled;
   * running run() tasks still finish.
   * @example await pool.close();
   */
  close(options?: { force?: boolean }): Promise<void> {
    if (options !== undefined && (options === null || typeof options !== "object")) return Promise.reject(new TypeError("options must be an object"));
    if (options?.force !== undefined && typeof options.force !== "boolean") return Promise.reject(new TypeError("force argument must be a boolean"));
    if (this.ending !== undefined) return this.ending;
    this.state = "closing";
    const force = options?.force === true;
    this.ending = (async () => {
      await Promise.all([this.calls.close(force, closedByForceError()), this.group?.close(force)]);
      if (this.state === "closing") this.state = "closed";
      this.emit("close");
    })();
    return this.ending;
  }

  /**
   * Stops now: threads are terminated, run() tasks running or queued reject, runtime calls are cancelled with force.
   * @example await pool.destroy();
   */
  destroy(): Promise<void> {
    if (this.state === "terminated" || this.state === "closed") return this.ending ?? Promise.resolve();
    this.state = "terminated";
    this.ending = (async () => {
      await Promise.all([this.calls.terminate(terminatedError()), this.group?.destroy()]);
    })();
    return this.ending;
  }

  /** destroy(), under its multiprocessing name. */
  terminate(): Promise<void> {
    return this.destroy();
  }

  /** `using pool = new Pool(...)` starts a close. */
  [Symbol.dispose](): void {
    void this.close();
  }

  /** `await using pool = new Pool(...)` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private ensureGroup(): ThreadGroup {
    return (this.group ??= new ThreadGroup(this.spec.piscina, this));
  }

  private assertOpen(method: string): void {
    if (this.state !== "open") throw poolClosed(method, this.state === "terminated" ? "terminated" : "closed");
  }

  private stream(method: string, fn: unknown, items: unknown, call: "single" | "spread", options: MapOptions | undefined, ordered: boolean, window: number) {
    this.assertOpen(method);
    checkFunction(fn, method);
    return this.calls.stream(method, fn, items, call, options, ordered, window);
  }
}
