// What a streaming call returns: an async iterator over the refs of a generator's yields, in yield order, each
// as soon as the driver has sealed it. It holds no objects itself: its stream (stream-table.ts) does, until a ref
// is taken; then the ref the caller holds keeps the object alive like any other ObjectRef.
import type { ObjectRef } from "../refs.js";
import type { TaskId } from "../ids.js";
import { formatTaskId } from "../ids.js";

/** The stream behind one generator: the only way an ObjectRefGenerator reaches the driver's table. */
export interface StreamSource {
  /** The next ref, or undefined at the end; rejects with the generator's error (or its cancellation) once. */
  next(): Promise<ObjectRef | undefined>;
  /** The consumer stopped: refs not taken yet are released. The generator itself runs on. */
  close(): void;
}

/**
 * The refs a streaming generator yields (`numReturns: "streaming"`), as an `AsyncIterable<ObjectRef<T>>`: they
 * come out in yield order while the task still runs, and can be passed to other tasks at once. When the generator
 * throws, `next()` rejects with its `TaskError` after the refs yielded before it, which stay valid; `rt.cancel(gen)`
 * stops it and `next()` rejects with `TaskCancelledError`.
 * @example
 * const gen = m.chunks.options({ numReturns: "streaming" }).remote(10);
 * for await (const ref of gen) console.log(await rt.get(ref));
 */
export class ObjectRefGenerator<T = unknown> implements AsyncIterableIterator<ObjectRef<T>> {
  /** @internal carries T for inference; never set */
  declare readonly __type?: T;
  /** @internal */
  readonly taskId: TaskId;
  #source: StreamSource;
  #owner: object;
  /** @internal made by the runtime for a streaming call, never by users */
  constructor(taskId: TaskId, source: StreamSource, owner: object) {
    this.taskId = taskId;
    this.#source = source;
    this.#owner = owner;
  }

  /** @internal the runtime that made it */
  static ownerOf(gen: ObjectRefGenerator): object | undefined {
    return #owner in gen ? gen.#owner : undefined;
  }

  /** The next yield's ref; `done` after the last one. Rejects with the generator's error after the refs before it. */
  async next(): Promise<IteratorResult<ObjectRef<T>, undefined>> {
    const ref = await this.#source.next();
    return ref === undefined ? { done: true, value: undefined } : { done: false, value: ref as ObjectRef<T> };
  }

  /** Stops iterating here (a `for await` loop left early calls it): refs not taken are released. */
  async return(): Promise<IteratorResult<ObjectRef<T>, undefined>> {
    this.#source.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** `ObjectRefGenerator(<task>)`, for logs. */
  toString(): string {
    return `ObjectRefGenerator(${formatTaskId(this.taskId)})`;
  }
}

export function isObjectRefGenerator(value: unknown): value is ObjectRefGenerator {
  return value instanceof ObjectRefGenerator;
}
