// The errors the Pool raises itself (misuse, closed pool, aborted run), made from
// the engine's error classes so they are `instanceof LoomError`. Task failures are
// never made here: they are the engine's TaskError, passed through unchanged.

import { LoomError, TaskCancelledError, WorkerCrashedError } from "../index.js";

/** A bad argument or option, a call on a closed pool: thrown at once. */
export function poolMisuse(message: string): Error {
  return new LoomError(message);
}

/** A call on a pool after close()/terminate(). */
export function poolClosed(method: string, state: "closed" | "terminated"): Error {
  return poolMisuse(`pool.${method}(): the pool is ${state}; make a new Pool`);
}

/**
 * The rejection of a `run()` whose AbortSignal fired, or that came after close() or destroy(). Named
 * "AbortError" with piscina's message and the signal's reason as `cause`, so piscina code keeps working;
 * it is still a Loom TaskCancelledError.
 */
export class PoolAbortError extends TaskCancelledError {
  override name = "AbortError";
  constructor(reason?: unknown) {
    super("The task has been aborted", { cause: reason });
  }
}

export function abortError(reason: unknown): Error {
  return new PoolAbortError(reason);
}

/** What tasks reject with when destroy() (or a timed-out close) stops their thread, as in piscina. */
export function threadTerminationError(): Error {
  return new Error("Terminating worker thread");
}

/** What calls cut short by pool.terminate() reject with (their tasks are cancelled with force). */
export function terminatedError(): Error {
  return new TaskCancelledError("pool.terminate() cancelled this call's tasks");
}

/** What calls cut short by pool.close({ force: true }) reject with. */
export function closedByForceError(): Error {
  return new TaskCancelledError("pool.close({ force: true }) cancelled this call's unfinished tasks");
}

/** A run() whose thread died under it on every try (maxRetries + 1 times); the last death is the cause. */
export function crashRetriesSpentError(crashes: number, lastCrash: Error): Error {
  return new WorkerCrashedError(`pool.run: the task's thread died ${crashes} times (maxRetries spent); last: ${lastCrash.message}`, {
    cause: lastCrash,
  });
}
