// Loom module for the cluster benchmarks: a task that waits (a timer, not the CPU), so that a job's time is
// the engine's and the cluster's, not the cores' (the head restart's own process start shares them).

export async function nap(ms: number, i: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return i;
}

export function inc(x: number): number {
  return x + 1;
}

/** The process that ran it, and `n` doubles after `ms` of waiting: a lineage of known time whose big result stays on its node. */
export async function slowRamp(n: number, ms: number): Promise<[number, Float64Array]> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = i % 1024;
  return [process.pid, out];
}
