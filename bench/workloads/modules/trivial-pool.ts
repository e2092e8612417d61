// piscina worker module for the overhead workloads: the same do-nothing functions, one argument.

export default function inc(x: number): number {
  return x + 1;
}

export function sum(xs: Float64Array): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
}

export function ping(): number {
  return 1;
}

let counter = 0;

/** Module-level state: an "actor" when the pool has exactly one thread. */
export function incPinned(by: number | null): number {
  counter += by ?? 1;
  return counter;
}
