// Streaming and concurrency workload modules: a generator of 1 MiB arrays, the same data as one array, a
// consumer, and an async actor whose calls wait on a timer.
const MIB_DOUBLES = 131_072;

/** Yields n arrays of 1 MiB, the i-th filled with i. */
export function* mibChunks(n: number): Generator<Float64Array> {
  for (let i = 0; i < n; i++) yield new Float64Array(MIB_DOUBLES).fill(i);
}

/** The same n MiB as one array. */
export function oneArray(n: number): Float64Array {
  const out = new Float64Array(n * MIB_DOUBLES);
  for (let i = 0; i < n; i++) out.fill(i, i * MIB_DOUBLES, (i + 1) * MIB_DOUBLES);
  return out;
}

export type SumRef = import("loom-dag").ObjectRef<number>;

export function sum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

export function warm(ms: number): number {
  return ms;
}

/** An async actor: each call waits `ms` on a timer (no CPU), so calls overlap up to maxConcurrency. */
export class Napper {
  async nap(ms: number): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return 1;
  }
}
