// `wait` and get's timeout, shared by the driver and workers so both keep one contract (SPEC "Objects"):
// `ready` holds at most numReturns refs (the first ready ones in input order), a timeout never rejects a wait,
// and `timeoutMs` is a number >= 0 where Infinity means none and large values never expire early.
import { GetTimeoutError } from "./errors.js";
import type { ObjectRef } from "./refs.js";

/** setTimeout's largest delay; a longer one fires after 1 ms (Node's rule), so longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `fn` after `ms` (Infinity: never). Returns the cancel function. Delays beyond setTimeout's range are
 * waited out in chained steps, so they never fire early.
 */
export function startTimer(ms: number, fn: () => void): () => void {
  if (ms === Infinity) return () => {};
  let timer: NodeJS.Timeout;
  let left = ms;
  const step = () => {
    if (left <= MAX_TIMER_MS) { timer = setTimeout(fn, left); return; }
    left -= MAX_TIMER_MS;
    timer = setTimeout(step, MAX_TIMER_MS);
  };
  step();
  return () => clearTimeout(timer);
}

/** `p`, rejected with GetTimeoutError after `timeoutMs` (checked by the caller; undefined or Infinity: none). */
export function withTimeout<T>(p: Promise<T>, timeoutMs: number | undefined, what = "get()"): Promise<T> {
  if (timeoutMs === undefined || timeoutMs === Infinity) return p;
  return new Promise<T>((resolve, reject) => {
    const cancel = startTimer(timeoutMs, () => reject(new GetTimeoutError(`${what} timed out after ${timeoutMs} ms`)));
    p.then((v) => { cancel(); resolve(v); }, (e) => { cancel(); reject(e); });
  });
}

/**
 * Waits until `want` of `refs` are ready (sealed with a value or an error) or the timeout passes, then splits
 * them: `ready` is the first `want` ready refs in input order, `pending` every other ref in input order.
 * `settled(ref)` resolves or rejects once the ref is ready.
 */
export function waitForReady<R extends ObjectRef>(
  refs: readonly R[], want: number, timeoutMs: number | undefined, settled: (ref: R) => Promise<unknown>,
): Promise<{ ready: R[]; pending: R[] }> {
  const isReady = new Set<R>();
  return new Promise<void>((resolve) => {
    let done = false;
    let cancel = () => {};
    const check = () => {
      if (done || isReady.size < want) return;
      done = true;
      cancel();
      resolve();
    };
    for (const r of refs) {
      const mark = () => { isReady.add(r); check(); };
      settled(r).then(mark, mark);
    }
    if (!done && timeoutMs !== undefined) cancel = startTimer(timeoutMs, () => { done = true; resolve(); });
  }).then(() => {
    const ready: R[] = [];
    const pending: R[] = [];
    for (const r of refs) (isReady.has(r) && ready.length < want ? ready : pending).push(r);
    return { ready, pending };
  });
}
