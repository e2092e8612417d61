// Streaming generators for the cluster tests: each yield says where and when it was made.

export interface Made { i: number; pid: number; at: number }

/** Yields `n` small values at once. */
export async function* count(n: number): AsyncGenerator<Made> {
  for (let i = 0; i < n; i++) yield { i, pid: process.pid, at: Date.now() };
}

/** Yields `n` arrays of `size` doubles filled with their index (big ones stay on the node until read). */
export function* arrays(n: number, size: number): Generator<Float64Array> {
  for (let i = 0; i < n; i++) yield new Float64Array(size).fill(i);
}

/** Yields `n` values, then throws. */
export async function* failAfter(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
  throw new RangeError(`stopped after ${n}`);
}

/** Yields one value every `ms`, `n` times. */
export async function* slowly(n: number, ms: number): AsyncGenerator<Made> {
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    yield { i, pid: process.pid, at: Date.now() };
  }
}
