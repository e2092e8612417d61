// Loom module for the tree-vs-linear reduce: a 20 ms add (a timer, not CPU) and a no-op.

import { setTimeout as sleep } from "node:timers/promises";

export const ADD_MS = 20;

export async function add(a: number, b: number): Promise<number> {
  await sleep(ADD_MS);
  return a + b;
}

export function ping(): number {
  return 1;
}

/** Holds a worker for `ms` so that a batch of these reaches every worker (each loads this module). */
export async function warm(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 1;
}
