// Generators for the streaming tests: plain and async, failing part-way, slow, crashing once, and an actor whose
// generator methods change its state. Shared Int32Arrays (over SharedArrayBuffers) count what ran, across threads.

/** Yields 0..n-1. */
export function* count(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/** Yields n arrays of `size` doubles, the i-th filled with i. */
export async function* chunks(n: number, size: number): AsyncGenerator<Float64Array> {
  for (let i = 0; i < n; i++) yield new Float64Array(size).fill(i);
}

/** Yields 0..k-1, then throws. */
export function* failAfter(k: number): Generator<number> {
  for (let i = 0; i < k; i++) yield i;
  throw new Error(`failed after ${k} yields`);
}

/** Yields 0..n-1, `ms` apart; counts each yield in produced[0] just before it is made. */
export async function* slowCount(n: number, ms: number, produced: Int32Array): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    Atomics.add(produced, 0, 1);
    yield i;
  }
}

/** Yields 0..n-1 at once; produced[0] counts the yields made (backpressure: how far it got). */
export function* countedCount(n: number, produced: Int32Array): Generator<number> {
  for (let i = 0; i < n; i++) {
    Atomics.add(produced, 0, 1);
    yield i;
  }
}

/** Yields 10·i for i < n; on its first run its worker dies after `crashAt` yields. runs[0] counts runs. */
export function* crashOnce(n: number, crashAt: number, runs: Int32Array): Generator<number> {
  const run = Atomics.add(runs, 0, 1);
  for (let i = 0; i < n; i++) {
    if (run === 0 && i === crashAt) process.exit(9);
    yield 10 * i;
  }
}

/** Yields i·i for i < n; runs[0] counts its runs (a rebuild runs it again). */
export function* squares(n: number, runs: Int32Array): Generator<number> {
  Atomics.add(runs, 0, 1);
  for (let i = 0; i < n; i++) yield i * i;
}

/** Not a generator: a streaming call of it fails with a clear error. */
export function notAGenerator(): number {
  return 1;
}

/** Yields refs nested in objects: the consumer reads through them. */
export function* nestedRefs(refs: { items: unknown[] }): Generator<{ inner: unknown }> {
  for (const r of refs.items) yield { inner: r };
}

/** An actor whose generator methods advance its state. */
export class Ticker {
  private ticks = 0;
  *take(n: number): Generator<number> {
    for (let i = 0; i < n; i++) yield ++this.ticks;
  }
  async *slowTake(n: number, ms: number): AsyncGenerator<number> {
    for (let i = 0; i < n; i++) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      yield ++this.ticks;
    }
  }
  now(): number {
    return this.ticks;
  }
}

/** Yields 0..n-1; its first run throws after `failAt` yields. runs[0] counts runs. */
export function* flakyOnce(n: number, failAt: number, runs: Int32Array): Generator<number> {
  const run = Atomics.add(runs, 0, 1);
  for (let i = 0; i < n; i++) {
    if (run === 0 && i === failAt) throw new Error("first run fails");
    yield i;
  }
}
