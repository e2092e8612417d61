// Pool: the multiprocessing-style and piscina-style facade over a Loom runtime.
// Owns the pool's calls in flight (for close/terminate) and the cache of shipped
// functions; chunking and ordering live in ChunkStream, the runtime choice in
// runtime-lease, option checks in pool-options. Every item runs as (part of) a Loom task.

import os from "node:os";
import { chunkFailureOf, chunkFunction, compileExpression, functionExpressionSource, rethrowFunction, type ChunkCall } from "./chunk-task.js";
import { ChunkStream, type ChunkOutcome, type StreamPlan, type SubmittedChunk } from "./chunk-stream.js";
import { abortError, closedByForceError, poolClosed, poolMisuse, terminatedError } from "./pool-errors.js";
import {
  describe,
  mapOptionsOf,
  moduleUrlOf,
  poolSpecOf,
  runOptionsOf,
  type AbortSignalLike,
  type MapOptions,
  type PoolOptions,
  type PoolSpec,
  type RunOptions,
} from "./pool-options.js";
import { ProgressReporter } from "./progress-reporter.js";
import { acquireRuntime, type Runtime, type RuntimeLease } from "./runtime-lease.js";
import type { ObjectRef, RemoteFunction } from "../index.js";

/** Any remote function (from `rt.module`, or made by `rt.remote`). */
type AnyRemote = RemoteFunction<(...args: any[]) => any>;

/** What the pool runs: an inline self-contained function, or a remote function. */
export type PoolFunction<A extends unknown[], R> = ((...args: A) => R) | RemoteFunction<(...args: A) => R>;

/** Items of map/imap: an array, any iterable, or an async iterable. */
export type PoolItems<T> = Iterable<T> | AsyncIterable<T>;

/** An ObjectRef, opaque here: the pool only hands it back to the runtime. */
type Ref = unknown;

/** A pool call in flight, as close() and terminate() see it. */
interface Operation {
  /** Resolves when the call has nothing left running (never rejects). */
  readonly settled: Promise<void>;
  /** Submit everything still waiting for room (close lets submitted work finish). */
  flush(): void;
  /** Cancel what is in flight (`force`: running tasks too); unsent work fails with `reason`. */
  stop(force: boolean, reason: unknown): void;
}

/** A function as shipped to the runtime; cached per function for the pool's life. */
interface Shipped {
  /** One call per task. */
  readonly single: AnyRemote;
  /** The inline function, when chunk tasks can be built from its source. */
  readonly inline: Function | undefined;
  /** The chunk task for each call style, made on first use. */
  readonly chunks: Partial<Record<ChunkCall, AnyRemote>>;
  /** The task that raises a chunk's reported failure again, made on first use. */
  rethrow?: AnyRemote;
}

/** Chunks in flight per imap call while the pool is open (bounds memory on lazy inputs). */
const IMAP_WINDOW = 4096;

type PoolState = "open" | "closing" | "closed" | "terminated";

export class Pool {
  private readonly spec: PoolSpec;
  /** The runtime this pool runs on; settles once, at construction. */
  private readonly lease: Promise<RuntimeLease>;
  private state: PoolState = "open";
  /** Calls not yet settled; each removes itself when it settles. */
  private readonly operations = new Set<Operation>();
  /** Keyed by the user's function object (inline or remote). */
  private readonly shipped = new WeakMap<object, Shipped>();
  /** Modules loaded for run(), by URL. */
  private readonly modules = new Map<string, Promise<Record<string, unknown>>>();
  /** run()/apply() calls not settled (piscina's queueSize and maxQueue read it). */
  private singleCalls = 0;
  private completedItems = 0;
  private ending: Promise<void> | undefined;
  /** The runtime's worker count, once the lease is ready. */
  private workerCount: number | undefined;

  /**
   * `{ workers }` (multiprocessing style) or piscina's `{ filename, maxThreads, ... }`.
   * @example const pool = new Pool({ workers: 4 });
   */
  constructor(options?: PoolOptions) {
    this.spec = poolSpecOf(options);
    this.lease = acquireRuntime(this.spec.workers);
    this.lease.then(
      ({ runtime }) => void (this.workerCount = runtime.workerCount),
      () => undefined, // reported by the first call that needs it
    );
  }

  /** Workers of the runtime (piscina's `maxThreads`); before it is ready, what the pool asked for. */
  get maxThreads(): number {
    return this.workerCount ?? this.spec.workers ?? os.availableParallelism();
  }

  /** piscina's `minThreads`: Loom keeps every worker up, so this is maxThreads unless given. */
  get minThreads(): number {
    return this.spec.minThreads ?? this.maxThreads;
  }

  /** Items (and run/apply calls) finished successfully. */
  get completed(): number {
    return this.completedItems;
  }

  /** run()/apply() calls waiting for a worker, estimated as calls in flight beyond the workers. */
  get queueSize(): number {
    return Math.max(0, this.singleCalls - this.maxThreads);
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
    return this.single(async (rt) => this.ship(rt, fn).single.remote(...argv), undefined);
  }

  /**
   * piscina's `run(task, { name, signal, filename })`: calls the module's export
   * `name` (default: the pool's `name`, else "default") with `task`. Errors reject
   * (a TaskError); an aborted signal cancels the task and rejects with an AbortError-like
   * TaskCancelledError ("The task has been aborted").
   * @example const pool = new Pool({ filename: new URL("./worker.js", import.meta.url).href }); await pool.run({ a: 4, b: 6 });
   */
  run<T = any, R = any>(task: T, options?: RunOptions): Promise<R> {
    try {
      this.assertOpen("run");
      const opts = runOptionsOf(options);
      const filename = opts.filename != null ? moduleUrlOf(opts.filename, "pool.run: filename") : this.spec.filename;
      if (filename === undefined) {
        throw poolMisuse("pool.run(task): no module to run; give `filename` to new Pool() or to run()");
      }
      const name = opts.name ?? this.spec.name;
      const limit = this.spec.maxQueue === "auto" ? this.maxThreads ** 2 : this.spec.maxQueue;
      if (this.queueSize >= limit) {
        throw poolMisuse(`pool.run: Task queue is at limit (maxQueue ${limit})`);
      }
      return this.single<R>(async (rt) => {
        const exported = (await this.module(rt, filename))[name];
        if (!isRemote(exported) || isActorClass(exported)) {
          throw poolMisuse(`pool.run: ${filename.href} has no exported function named "${name}"`);
        }
        return exported.remote(task);
      }, opts.signal ?? undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Lets submitted work finish, then shuts the runtime down if pools made it. `force`: cancel what has not started.
   * @example await pool.close();
   */
  close(options?: { force?: boolean }): Promise<void> {
    if (this.ending !== undefined) return this.ending;
    this.state = "closing";
    const force = options?.force === true;
    this.ending = (async () => {
      for (const op of this.operations) force ? op.stop(false, closedByForceError()) : op.flush();
      while (this.operations.size > 0) await Promise.all([...this.operations].map((op) => op.settled));
      if (this.state === "closing") this.state = "closed";
      await (await this.lease.catch(() => undefined))?.release();
    })();
    return this.ending;
  }

  /**
   * An alias of close() (graceful, unlike piscina's destroy).
   * @example await pool.destroy();
   */
  destroy(): Promise<void> {
    return this.close();
  }

  /**
   * Stops now: every task of this pool is cancelled (running ones lose their worker) and pending calls reject.
   * @example await pool.terminate();
   */
  terminate(): Promise<void> {
    if (this.state === "terminated" || this.state === "closed") return this.ending ?? Promise.resolve();
    this.state = "terminated";
    const reason = terminatedError();
    for (const op of this.operations) op.stop(true, reason);
    this.ending = (async () => {
      while (this.operations.size > 0) await Promise.all([...this.operations].map((op) => op.settled));
      await (await this.lease.catch(() => undefined))?.release();
    })();
    return this.ending;
  }

  /** `await using pool = new Pool(...)` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private assertOpen(method: string): void {
    if (this.state !== "open") throw poolClosed(method, this.state === "terminated" ? "terminated" : "closed");
  }

  /** Starts a map-like call: checks its arguments now, submits from now on. */
  private stream(
    method: string,
    fn: unknown,
    items: unknown,
    call: ChunkCall,
    options: MapOptions | undefined,
    ordered: boolean,
    window: number,
  ): ChunkStream {
    this.assertOpen(method);
    checkFunction(fn, method);
    if (items === null || typeof items !== "object" || !(Symbol.iterator in items || Symbol.asyncIterator in items)) {
      throw poolMisuse(`pool.${method}(fn, items): items must be an iterable or async iterable, got ${describe(items)}`);
    }
    const opts = mapOptionsOf(options, method);
    const fixedLength = Array.isArray(items) ? items.length : undefined;
    const progress = new ProgressReporter(opts, fixedLength);
    const byDefault = method === "map" || method === "starmap";
    const start = this.lease.then(({ runtime }): StreamPlan => {
      const shipped = this.ship(runtime, fn);
      // map reads the whole input first (as Python's does) so the default chunk size can see its length.
      const list = byDefault && !Array.isArray(items) && Symbol.iterator in (items as object) ? Array.from(items as Iterable<unknown>) : items;
      if (progress.silent === false && Array.isArray(list)) progress.setTotal(list.length);
      const chunksize =
        opts.chunksize ?? (byDefault && Array.isArray(list) ? Math.max(1, Math.ceil(list.length / (4 * this.maxThreads))) : 1);
      return {
        items: list as PoolItems<unknown>,
        chunksize,
        submit: (chunk) => this.submitChunk(runtime, shipped, chunk, call),
      };
    });
    start.catch(() => undefined);
    const stream = new ChunkStream({ ordered, window, progress, start });
    this.track({ settled: stream.settled, flush: () => stream.flush(), stop: (force, reason) => stream.stop(force, reason) });
    return stream;
  }

  /**
   * Submits one chunk:
   * - one item, or a remote function (no source to build a chunk task from): one task per item;
   * - else one chunk task that applies the inline function to each item in turn.
   */
  private submitChunk(rt: Runtime, shipped: Shipped, items: unknown[], call: ChunkCall): SubmittedChunk {
    if (items.length === 1 || shipped.inline === undefined) {
      const refs: Ref[] = [];
      try {
        for (const item of items) {
          refs.push(call === "spread" ? shipped.single.remote(...spreadable(item)) : shipped.single.remote(item));
        }
      } catch (error) {
        for (const ref of refs) cancelQuietly(rt, ref, false);
        throw error;
      }
      return {
        outcome: this.outcomeOfEach(rt, refs),
        cancel: (force) => refs.forEach((ref) => cancelQuietly(rt, ref, force)),
      };
    }
    const chunkTask = (shipped.chunks[call] ??= rt.remote(chunkFunction(shipped.inline, call)) as AnyRemote);
    if (call === "spread") items.forEach(spreadable);
    const ref = chunkTask.remote(items);
    return {
      outcome: (rt.get(ref as never) as Promise<unknown>).then(
        (result) => this.outcomeOfChunk(rt, shipped, result),
        (error): ChunkOutcome => ({ ok: false, error, values: [] }),
      ),
      cancel: (force) => cancelQuietly(rt, ref, force),
    };
  }

  /**
   * A chunk task's result: its values, or (an item after the first threw) the values
   * before that item and the item's TaskError, raised again by a rethrow task so it
   * is the engine's own TaskError for that throw.
   */
  private async outcomeOfChunk(rt: Runtime, shipped: Shipped, result: unknown): Promise<ChunkOutcome> {
    const failure = chunkFailureOf(result);
    if (failure === undefined) {
      const values = result as unknown[];
      this.completedItems += values.length;
      return { ok: true, values };
    }
    this.completedItems += failure.values.length;
    const rethrow = (shipped.rethrow ??= rt.remote(rethrowFunction(shipped.inline!)) as AnyRemote);
    try {
      await rt.get(rethrow.remote(failure.thrown) as never);
      return { ok: false, error: poolMisuse("pool: a chunk reported a failure that did not throw again"), values: failure.values };
    } catch (error) {
      return { ok: false, error, values: failure.values };
    }
  }

  /** The outcome of one task per item: the values, or the first failure in input order. */
  private async outcomeOfEach(rt: Runtime, refs: Ref[]): Promise<ChunkOutcome> {
    const results = await Promise.allSettled(refs.map((ref) => rt.get(ref as never) as Promise<unknown>));
    const values: unknown[] = [];
    for (const r of results) {
      if (r.status === "rejected") return { ok: false, error: r.reason, values };
      values.push(r.value);
    }
    this.completedItems += values.length;
    return { ok: true, values };
  }

  /**
   * One task for apply()/run():
   * 1. wait for the runtime, submit (`submit` may load a module first);
   * 2. wait for the value;
   * an abort (signal) or terminate() cancels the task with force and rejects at once.
   */
  private single<R>(submit: (rt: Runtime) => Promise<Ref>, signal: AbortSignalLike | undefined): Promise<R> {
    if (signal?.aborted === true) return Promise.reject(abortError(signal.reason));
    let rt: Runtime | undefined;
    let ref: Ref | undefined;
    let submitted = false;
    let rejectNow!: (error: unknown) => void;
    let stopped = false;
    let stoppedWithForce = false;
    const result = new Promise<R>((resolve, reject) => {
      rejectNow = reject;
      void (async () => {
        try {
          rt = (await this.lease).runtime;
          if (stopped) return;
          ref = await submit(rt);
          submitted = true;
          if (stopped) return cancelQuietly(rt, ref, stoppedWithForce);
          resolve((await rt.get(ref as never)) as R);
          this.completedItems++;
        } catch (error) {
          reject(error);
        }
      })();
    });
    const stop = (force: boolean, reason: unknown): void => {
      if (stopped) return;
      stopped = true;
      stoppedWithForce = force;
      if (submitted && rt !== undefined) cancelQuietly(rt, ref, force);
      if (reason !== undefined) rejectNow(reason);
    };
    const onAbort = (): void => stop(true, abortError((signal as { reason?: unknown }).reason));
    if (signal !== undefined) addAbortListener(signal, onAbort);
    this.singleCalls++;
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    void settled.then(() => {
      this.singleCalls--;
      if (signal !== undefined) removeAbortListener(signal, onAbort);
    });
    this.track({ settled, flush() {}, stop });
    return result;
  }

  private track(op: Operation): void {
    this.operations.add(op);
    void op.settled.then(() => this.operations.delete(op));
  }

  /** The shipped form of `fn`, made once per function object. */
  private ship(rt: Runtime, fn: unknown): Shipped {
    const key = fn as object;
    let shipped = this.shipped.get(key);
    if (shipped === undefined) {
      shipped = isRemote(fn)
        ? { single: fn, inline: undefined, chunks: {} }
        : { single: rt.remote(shippable(fn as Function) as (...args: any[]) => unknown) as AnyRemote, inline: fn as Function, chunks: {} };
      this.shipped.set(key, shipped);
    }
    return shipped;
  }

  /** The remote functions of a module, loaded once per URL. */
  private module(rt: Runtime, url: URL): Promise<Record<string, unknown>> {
    let m = this.modules.get(url.href);
    if (m === undefined) {
      m = (rt.module(url) as Promise<Record<string, unknown>>);
      this.modules.set(url.href, m);
      m.catch(() => this.modules.delete(url.href));
    }
    return m;
  }
}

async function collect<R>(stream: ChunkStream): Promise<R[]> {
  const values: R[] = [];
  for await (const v of stream.values()) values.push(v as R);
  return values;
}

function isRemote(fn: unknown): fn is AnyRemote {
  return (typeof fn === "function" || (typeof fn === "object" && fn !== null)) && typeof (fn as { remote?: unknown }).remote === "function";
}

/** An actor class from rt.module also has `.remote` (it makes an actor): not something to map. */
function isActorClass(fn: unknown): boolean {
  return isRemote(fn) && Array.isArray((fn as { methods?: unknown }).methods);
}

/** fn must be an inline function with shippable source, or a remote function. */
function checkFunction(fn: unknown, method: string): void {
  if (isActorClass(fn)) {
    throw poolMisuse(`pool.${method}(fn, ...): fn is an actor class (${(fn as { descriptor?: { name?: string } }).descriptor?.name ?? "?"}); pass a function`);
  }
  if (isRemote(fn)) return;
  if (typeof fn !== "function") {
    throw poolMisuse(`pool.${method}(fn, ...): fn must be a function or a remote function from rt.module(), got ${describe(fn)}`);
  }
  try {
    functionExpressionSource(fn);
  } catch (error) {
    throw poolMisuse(`pool.${method}(fn, ...): ${(error as Error).message.replace(/^Pool: /, "")}`);
  }
}

/** `fn`, or when its source is method shorthand (`sq(x) {…}`), the same function as an expression. */
function shippable(fn: Function): Function {
  const expression = functionExpressionSource(fn);
  return expression === Function.prototype.toString.call(fn) ? fn : compileExpression(expression);
}

function spreadable(item: unknown): unknown[] {
  if (!Array.isArray(item)) throw poolMisuse(`pool.starmap: each item must be an array of arguments, got ${describe(item)}`);
  return item;
}

function cancelQuietly(rt: Runtime, ref: Ref, force: boolean): void {
  try {
    const r = rt.cancel(ref as never, { force }) as unknown;
    if (r instanceof Promise) r.catch(() => undefined);
  } catch {
    // already finished, or the runtime is gone: nothing left to cancel
  }
}

function addAbortListener(signal: AbortSignalLike, listener: () => void): void {
  if ("addEventListener" in signal && typeof signal.addEventListener === "function") {
    signal.addEventListener("abort", listener, { once: true });
  } else (signal as { once(e: "abort", l: () => void): unknown }).once("abort", listener);
}

function removeAbortListener(signal: AbortSignalLike, listener: () => void): void {
  if ("removeEventListener" in signal && typeof signal.removeEventListener === "function") {
    signal.removeEventListener("abort", listener);
  } else (signal as { removeListener(e: "abort", l: () => void): unknown }).removeListener("abort", listener);
}
