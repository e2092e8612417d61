// One map/imap call: cuts the items into chunks, submits them (from the call on,
// whether or not anyone iterates, as Python's imap does), keeps a window of chunks
// that are submitted but not yet consumed, and hands values out in input order
// (imap) or completion order (imapUnordered). Knows nothing of the runtime: a
// chunk goes out through the plan's `submit`, which the Pool provides.

import { TaskCancelledError } from "../index.js";
import type { ProgressReporter } from "./progress-reporter.js";

/** How a chunk ended: its values, or the error of its first failed item. */
export type ChunkOutcome =
  | { readonly ok: true; readonly values: readonly unknown[] }
  | {
      readonly ok: false;
      readonly error: unknown;
      /** Values of the items before the failed one, as far as they are known. */
      readonly values: readonly unknown[];
    };

/** A chunk handed to the runtime. `outcome` never rejects. */
export interface SubmittedChunk {
  readonly outcome: Promise<ChunkOutcome>;
  /** Asks the runtime to drop the chunk; `force` also stops it if it runs. */
  cancel(force: boolean): void;
}

/** What a stream needs once the runtime is ready. */
export interface StreamPlan {
  readonly items: Iterable<unknown> | AsyncIterable<unknown>;
  readonly chunksize: number;
  /** Submits one chunk. A throw (a value that cannot cross threads) fails that chunk. */
  submit(items: unknown[]): SubmittedChunk;
}

export interface StreamOptions {
  /** true: input order (imap); false: completion order (imapUnordered). */
  readonly ordered: boolean;
  /** Most chunks submitted and not yet consumed while the pool is open. */
  readonly window: number;
  readonly progress: ProgressReporter;
  /** Resolves to the plan once the runtime is ready; a rejection fails the first position. */
  readonly start: Promise<StreamPlan>;
}

/** A chunk from submission until its values are consumed. */
interface ChunkEntry {
  readonly seq: number;
  readonly size: number;
  readonly chunk: SubmittedChunk;
  /** Set once, when `chunk.outcome` settles. */
  outcome: ChunkOutcome | undefined;
}

export class ChunkStream {
  /** Submitted and not yet consumed, by seq. */
  private readonly pending = new Map<number, ChunkEntry>();
  /** Unordered only: settled, not yet consumed, in completion order, from `head`. */
  private readonly settledOrder: ChunkEntry[] = [];
  private head = 0;
  private nextSeq = 0;
  private nextToConsume = 0;
  private itemCount = 0;
  /** Submitted chunks whose outcome has not arrived; with `fed`, decides `settled`. */
  private unsettled = 0;
  /** The feeder has stopped: input exhausted, a submit failed, or the stream stopped. */
  private fed = false;
  /** Set by flush(): the window no longer applies (the pool is closing). */
  private unbounded = false;
  /** Set by stop(): nothing more is submitted or consumed. */
  private stopped = false;
  /** Thrown to the consumer after the last entry when the input was cut short. */
  private cutShort: unknown = undefined;
  private notify: () => void = () => {};
  private changed: Promise<void>;
  private closeSource: (() => Promise<void>) | undefined;
  private resolveSettled!: () => void;
  /** Resolves when feeding has ended and every submitted chunk has settled. */
  readonly settled = new Promise<void>((resolve) => (this.resolveSettled = resolve));

  constructor(private readonly options: StreamOptions) {
    this.changed = this.nextChange();
    void this.feed();
  }

  /** Lifts the window so the whole input is submitted now (close() lets submitted work finish). */
  flush(): void {
    this.unbounded = true;
    this.wake();
  }

  /**
   * Stops the stream: nothing more is submitted and chunks in flight are cancelled
   * (`force`: running ones too). Every chunk not settled yet fails at once with
   * `reason` (terminate, close({ force })), and so does the first position that was
   * never submitted: nobody waits for the runtime to confirm the cancellation.
   */
  stop(force: boolean, reason?: unknown): void {
    if (reason !== undefined && this.cutShort === undefined && !this.fed) this.cutShort = reason;
    const first = !this.stopped;
    this.stopped = true;
    // A cancelled chunk's result is of no use to anyone, so it counts as settled now
    // (close() does not wait for it).
    const error = reason ?? new TaskCancelledError("pool: the chunk was cancelled because its iteration ended early");
    for (const e of this.pending.values()) {
      if (e.outcome !== undefined) continue;
      if (first || force) e.chunk.cancel(force);
      this.settle(e, { ok: false, error, values: [] });
    }
    this.wake();
  }

  /** The values, in input or completion order; see the class comment. */
  async *values(): AsyncGenerator<unknown, void, undefined> {
    let finished = false;
    try {
      for (;;) {
        const entry = this.options.ordered ? this.pending.get(this.nextToConsume) : this.settledOrder[this.head];
        if (entry !== undefined && entry.outcome !== undefined) {
          // 3. Hand out its values, or throw at the failed item.
          this.consume(entry);
          const outcome = entry.outcome;
          for (const v of outcome.values) yield v;
          if (!outcome.ok) throw outcome.error;
          continue;
        }
        if (entry === undefined && this.fed && (this.options.ordered || this.unsettled === 0)) {
          finished = true;
          if (this.cutShort !== undefined) throw this.cutShort;
          return;
        }
        await this.changed;
      }
    } finally {
      // A consumer that leaves early (break, or the error above) cancels the rest.
      if (!finished || this.cutShort !== undefined) this.stop(false);
    }
  }

  private consume(entry: ChunkEntry): void {
    this.pending.delete(entry.seq);
    if (this.options.ordered) this.nextToConsume++;
    else if (++this.head > 1024 && this.head * 2 > this.settledOrder.length) {
      this.settledOrder.splice(0, this.head);
      this.head = 0;
    }
    this.wake(); // the window has room
  }

  /**
   * The feeder, from the call on:
   * 1. wait for the runtime (the plan);
   * 2. while the window has room, cut the next chunk and submit it;
   * 3. at the end of the input, fix the progress total.
   * Any failure (of the plan, the input, or a submit) becomes the outcome of the
   * next position, and feeding ends there.
   */
  private async feed(): Promise<void> {
    try {
      const plan = await this.options.start;
      if (this.stopped) return;
      const source = chunksOf(plan.items, plan.chunksize);
      this.closeSource = source.close;
      for (;;) {
        if (this.stopped) return;
        if (this.pending.size >= this.options.window && !this.unbounded) {
          await this.changed;
          continue;
        }
        const next = (source.sync ? source.iterator.next() : await source.iterator.next()) as IteratorResult<unknown[]>;
        if (next.done === true) {
          this.closeSource = undefined;
          this.options.progress.setTotal(this.itemCount);
          return;
        }
        if (this.stopped) return;
        let chunk: SubmittedChunk;
        try {
          chunk = plan.submit(next.value);
        } catch (error) {
          this.failNext(error);
          return;
        }
        this.track(chunk, next.value.length);
      }
    } catch (error) {
      if (!this.stopped) this.failNext(error);
    } finally {
      this.fed = true;
      if (this.closeSource !== undefined) void this.closeSource().catch(() => undefined);
      this.checkSettled();
      this.wake();
    }
  }

  private failNext(error: unknown): void {
    this.track({ outcome: Promise.resolve({ ok: false, error, values: [] }), cancel() {} }, 0);
  }

  private track(chunk: SubmittedChunk, size: number): void {
    const entry: ChunkEntry = { seq: this.nextSeq++, size, chunk, outcome: undefined };
    this.pending.set(entry.seq, entry);
    this.itemCount += size;
    this.options.progress.submitted(this.itemCount);
    this.unsettled++;
    void chunk.outcome.then((outcome) => this.settle(entry, outcome));
    this.wake();
  }

  /** Records a chunk's outcome once (the runtime's, or stop()'s if that came first). */
  private settle(entry: ChunkEntry, outcome: ChunkOutcome): void {
    if (entry.outcome !== undefined) return;
    entry.outcome = outcome;
    this.unsettled--;
    if (outcome.ok) this.options.progress.advance(entry.size);
    if (!this.options.ordered) this.settledOrder.push(entry);
    this.checkSettled();
    this.wake();
  }

  private checkSettled(): void {
    if (this.fed && this.unsettled === 0) {
      this.options.progress.stop();
      this.resolveSettled();
    }
  }

  private wake(): void {
    const notify = this.notify;
    this.changed = this.nextChange();
    notify();
  }

  private nextChange(): Promise<void> {
    return new Promise<void>((resolve) => (this.notify = resolve));
  }
}

interface ChunkSource {
  readonly sync: boolean;
  readonly iterator: Iterator<unknown[]> | AsyncIterator<unknown[]>;
  close(): Promise<void>;
}

/** Cuts an array (by slicing), an iterable or an async iterable into chunks. */
function chunksOf(items: Iterable<unknown> | AsyncIterable<unknown>, size: number): ChunkSource {
  if (Array.isArray(items)) {
    const array: unknown[] = items;
    let at = 0;
    const iterator: Iterator<unknown[]> = {
      next: () =>
        at < array.length ? { done: false, value: array.slice(at, (at += size)) } : { done: true, value: undefined },
    };
    return { sync: true, iterator, close: async () => {} };
  }
  if (Symbol.asyncIterator in Object(items)) {
    const inner = (items as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const iterator: AsyncIterator<unknown[]> = {
      async next() {
        const chunk: unknown[] = [];
        while (chunk.length < size) {
          const r = await inner.next();
          if (r.done === true) break;
          chunk.push(r.value);
        }
        return chunk.length > 0 ? { done: false, value: chunk } : { done: true, value: undefined };
      },
    };
    return { sync: false, iterator, close: async () => void (await inner.return?.()) };
  }
  const inner = (items as Iterable<unknown>)[Symbol.iterator]();
  const iterator: Iterator<unknown[]> = {
    next() {
      const chunk: unknown[] = [];
      while (chunk.length < size) {
        const r = inner.next();
        if (r.done === true) break;
        chunk.push(r.value);
      }
      return chunk.length > 0 ? { done: false, value: chunk } : { done: true, value: undefined };
    },
  };
  return { sync: true, iterator, close: async () => void inner.return?.() };
}
