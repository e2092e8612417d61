// The Pool's calls on the Loom runtime (map, imap, imapUnordered, starmap, apply): each call in flight (for
// close and terminate), the cache of shipped functions, and the runtime lease, taken at the first call.
// Chunking and ordering live in ChunkStream; argument checks of the calling methods stay in pool.ts.

import { chunkFailureOf, chunkFunction, compileExpression, functionExpressionSource, rethrowFunction, type ChunkCall } from "./chunk-task.js";
import { ChunkStream, type ChunkOutcome, type StreamPlan, type SubmittedChunk } from "./chunk-stream.js";
import { poolMisuse } from "./pool-errors.js";
import { describe, mapOptionsOf, type MapOptions } from "./pool-options.js";
import { ProgressReporter } from "./progress-reporter.js";
import { acquireRuntime, type Runtime, type RuntimeLease } from "./runtime-lease.js";
import type { RemoteFunction } from "../index.js";

/** Any remote function (from `rt.module`, or made by `rt.remote`). */
export type AnyRemote = RemoteFunction<(...args: any[]) => any>;

/** Items of map/imap: an array, any iterable, or an async iterable. */
export type PoolItems<T> = Iterable<T> | AsyncIterable<T>;

/** An ObjectRef, opaque here: the pool only hands it back to the runtime. */
type Ref = unknown;

/** A call in flight, as close() and terminate() see it. */
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

export class CallManager {
  /** Calls not yet settled; each removes itself when it settles. */
  private readonly operations = new Set<Operation>();
  /** Keyed by the user's function object (inline or remote). */
  private readonly shipped = new WeakMap<object, Shipped>();
  /** The runtime, asked for at the first call; settles once. */
  private leased: Promise<RuntimeLease> | undefined;
  /** Items (and apply calls) finished successfully. */
  completedItems = 0;
  /** The runtime's worker count, once the lease is ready. */
  workerCount: number | undefined;

  /** `workers`: what to ask init() for when no runtime exists; `defaultWorkers`: for chunk sizes before then. */
  constructor(
    private readonly workers: number | undefined,
    private readonly defaultWorkers: number,
    private readonly address?: string,
  ) {}

  private get lease(): Promise<RuntimeLease> {
    if (this.leased === undefined) {
      this.leased = acquireRuntime(this.workers, this.address);
      // A driver that joined a cluster may have no workers of its own: chunk sizes then use the default.
      this.leased.then(({ runtime }) => void (this.workerCount = runtime.workerCount || undefined), () => undefined);
    }
    return this.leased;
  }

  /** True while a call is in flight. */
  get busy(): boolean {
    return this.operations.size > 0;
  }

  /** Waits for every call: `force` cancels what has not finished, else what waits for room is submitted. */
  async close(force: boolean, reason: unknown): Promise<void> {
    for (const op of this.operations) force ? op.stop(false, reason) : op.flush();
    await this.drain();
  }

  /** Cancels every task with force; pending calls reject with `reason`. */
  async terminate(reason: unknown): Promise<void> {
    for (const op of this.operations) op.stop(true, reason);
    await this.drain();
  }

  private async drain(): Promise<void> {
    while (this.operations.size > 0) await Promise.all([...this.operations].map((op) => op.settled));
    await (await this.leased?.catch(() => undefined))?.release();
  }

  /** apply(): one call of the shipped `fn`. */
  apply(fn: unknown, args: unknown[]): Promise<unknown> {
    return this.single(async (rt) => this.ship(rt, fn).single.remote(...args));
  }

  /** Starts a map-like call: checks its arguments now, submits from now on. */
  stream(
    method: string,
    fn: unknown,
    items: unknown,
    call: ChunkCall,
    options: MapOptions | undefined,
    ordered: boolean,
    window: number,
  ): ChunkStream {
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
        opts.chunksize ?? (byDefault && Array.isArray(list) ? Math.max(1, Math.ceil(list.length / (4 * (this.workerCount ?? this.defaultWorkers)))) : 1);
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
   * One task for apply():
   * 1. wait for the runtime, submit;
   * 2. wait for the value;
   * destroy() cancels the task with force and rejects at once.
   */
  private single<R>(submit: (rt: Runtime) => Promise<Ref>): Promise<R> {
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
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
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
}

export async function collect<R>(stream: ChunkStream): Promise<R[]> {
  const values: R[] = [];
  for await (const v of stream.values()) values.push(v as R);
  return values;
}

export function isRemote(fn: unknown): fn is AnyRemote {
  return (typeof fn === "function" || (typeof fn === "object" && fn !== null)) && typeof (fn as { remote?: unknown }).remote === "function";
}

/** An actor class from rt.module also has `.remote` (it makes an actor): not something to map. */
export function isActorClass(fn: unknown): boolean {
  return isRemote(fn) && Array.isArray((fn as { methods?: unknown }).methods);
}

/** fn must be an inline function with shippable source, or a remote function. */
export function checkFunction(fn: unknown, method: string): void {
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
