// A task module in plain JavaScript, as a user's project would write it: it imports Loom by package name.
import { current } from "loom-dag";

export function add(a, b) {
  return a + b;
}

/** Nested tasks through current(): only works if this import of loom-dag sees the worker's runtime. */
export async function sumOfSquares(n) {
  const rt = current();
  const square = rt.remote((x) => x * x);
  const parts = await rt.get(Array.from({ length: n }, (_, i) => square.remote(i + 1)));
  return parts.reduce((sum, v) => sum + v, 0);
}

/** Where this worker's import of the package resolved to. */
export function whereIsLoom() {
  return import.meta.resolve("loom-dag");
}

export class Counter {
  constructor(start) {
    this.n = start;
  }
  inc(by) {
    this.n += by;
    return this.n;
  }
}
