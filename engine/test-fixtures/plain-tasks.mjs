// A task module in plain JavaScript (no TypeScript, no loader): workers must import it as it is.
import { current } from "loom-dag";

export function add(a, b) {
  return a + b;
}

/** Submits a child task from inside a worker through this same module. */
export async function addOneNested(n) {
  const self = await current().module(new URL(import.meta.url));
  return current().get(self.add.remote(n, 1));
}

export class Tally {
  constructor(start) {
    this.total = start;
  }
  add(by) {
    this.total += by;
    return this.total;
  }
}
