// The messages between a Pool's own threads (thread-group.ts) and their entry (thread-entry.ts), typed once,
// and the constants both sides agree on. Holds no state.
import type { MessagePort } from "node:worker_threads";

/** How a thread waits for work between tasks (piscina's `atomics` option). */
export type AtomicsMode = "sync" | "async" | "disabled";

/** Index in a thread's two-slot Int32Array: tasks posted so far (the driver adds and notifies). */
export const REQUEST_COUNT = 0;
/** Index in the same array: results posted so far (the thread adds). */
export const RESPONSE_COUNT = 1;
export const COUNT_FIELDS = 2;

/** Key of the message a thread posts on its parentPort once its module is loaded; any other message is the user's. */
export const READY_KEY = "__loomPoolThreadReady";

/** Set on a pool thread's globalThis before any user module loads (Pool.isWorkerThread reads it, whatever copy of Loom asks). */
export const POOL_THREAD_MARK = Symbol.for("loom.pool.thread");

/** First message on a thread's parentPort: where tasks come from and how to wait for them. */
export interface StartupMessage {
  readonly port: MessagePort;
  /** Int32Array of COUNT_FIELDS over a SharedArrayBuffer. */
  readonly counts: Int32Array;
  /** Loaded before the thread reports ready, so a broken module fails at start, as in piscina. */
  readonly filename: string | null;
  readonly name: string;
  readonly atomics: AtomicsMode;
}

/** A task, driver → thread. */
export interface TaskMessage {
  readonly id: number;
  readonly task: unknown;
  /** An absolute path or a file: URL. */
  readonly filename: string;
  readonly name: string;
}

/** A task's end, thread → driver: the value, or what the handler threw (cloned as it was thrown). */
export type ResultMessage =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: unknown };
