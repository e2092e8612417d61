// piscina worker module for the tree-vs-linear reduce: the same 20 ms add, one argument.

import { setTimeout as sleep } from "node:timers/promises";
import { ADD_MS } from "./reduce-task.js";

export async function add([a, b]: [number, number]): Promise<number> {
  await sleep(ADD_MS);
  return a + b;
}

export function ping(): number {
  return 1;
}
