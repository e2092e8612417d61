// Loom module for the large-numeric workload: the image arrives as a view on the shared store.

import { checksum, convolveFullStrided } from "./numeric-kernel.js";

export function convolve(image: Float64Array, filter: Float64Array): number {
  return checksum(convolveFullStrided(image, filter));
}

export function ping(): number {
  return 1;
}

/** Holds a worker for `ms` so that a batch of these reaches every worker (each loads this module). */
export async function warm(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 1;
}
