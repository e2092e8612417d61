// Loom module for the cluster benchmarks: a task that waits (a timer, not the CPU), so that a job's time is
// the engine's and the cluster's, not the cores' (the head restart's own process start shares them).

export async function nap(ms: number, i: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return i;
}

export function inc(x: number): number {
  return x + 1;
}
