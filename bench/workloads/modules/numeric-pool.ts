// piscina worker module for the large-numeric workload: the image arrives by structured clone
// (a copy per task) or, for the SharedArrayBuffer variant, as a view on shared memory.

import { checksum, convolveFullStrided } from "./numeric-kernel.js";

export function convolve(task: { image: Float64Array; filter: Float64Array }): number {
  return checksum(convolveFullStrided(task.image, task.filter));
}

export function ping(): number {
  return 1;
}
