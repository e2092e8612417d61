// Tasks of the cluster workload: a sum that reads every element of a big array (so its bytes must be there),
// an array made on a node, and a trivial task for the rate over the wire.
export function sum(values: Float64Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}

export function ramp(n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = i % 1024;
  return out;
}

export function inc(x: number): number {
  return x + 1;
}

/** The process that ran it (a node's, for the page faults of its pulls). */
export function pid(): number {
  return process.pid;
}
