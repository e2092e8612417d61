// Loom module for the overhead workloads (throughput, round trip, many actors, a million tasks):
// functions and an actor that do almost nothing, so what is measured is the engine.

export function inc(x: number): number {
  return x + 1;
}

/** Reads every element of a (shared) array: the cost of reaching a big argument. */
export function sum(xs: Float64Array): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
}

export function ping(): number {
  return 1;
}

export class Counter {
  private n: number;
  constructor(start = 0) {
    this.n = start;
  }
  inc(by = 1): number {
    this.n += by;
    return this.n;
  }
}

/** Holds a worker for `ms` so that a batch of these reaches every worker (each loads this module). */
export async function warm(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 1;
}
