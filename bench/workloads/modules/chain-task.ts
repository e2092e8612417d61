// Loom module for the reconstruction workload: a step of fixed wall-clock cost (a busy spin, so
// the cost holds a CPU slot the way real work does, yet does not stretch when a neighbour loads
// the machine) that returns its input + 1, so a chain's value says how many steps ran.

let sink = 0;

/** Spins for `ms` of wall-clock time mixing `x` into a hash (kept in `sink` so it is not optimized away). */
function spin(x: number, ms: number): void {
  const end = performance.now() + ms;
  let h = x | 0;
  while (performance.now() < end) for (let i = 0; i < 256; i++) h = Math.imul(h ^ i, 0x9e3779b1) | 0;
  sink ^= h;
}

/** One link of a chain: `ms` of CPU, then x + 1. */
export function step(x: number, ms: number): number {
  spin(x, ms);
  return x + 1;
}

/** Holds a worker for `ms` so that a batch of these reaches every worker (each loads this module). */
export async function warm(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return sink === 0.5 ? 0 : 1;
}
