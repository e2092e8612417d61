import { current } from "loom-dag";

// Tasks and an actor for the cluster tests: each reports the process it ran in, so a test can tell nodes apart.
export function whereAmI(): number {
  return process.pid;
}

export function add(a: number, b: number): number {
  return a + b;
}

/** Sums a typed array (a big argument pulled from the driver) and says where it ran. */
export function sumWhere(values: Float64Array): { sum: number; pid: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return { sum, pid: process.pid };
}

/** A big result (pulled back to the driver in chunks). */
export function ramp(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => i);
}

export async function slowly<T>(ms: number, value: T): Promise<{ value: T; pid: number }> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { value, pid: process.pid };
}

export function fail(message: string): never {
  throw new RangeError(message);
}

export class Counter {
  private total = 0;
  add(n: number): { total: number; pid: number } {
    this.total += n;
    return { total: this.total, pid: process.pid };
  }
  async slowAdd(n: number, ms: number): Promise<{ total: number; pid: number }> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.add(n);
  }
}

/** A big result (stays on the node that made it) that names its maker. */
export function bigWhere(n: number): { pid: number; data: Float64Array } {
  return { pid: process.pid, data: Float64Array.from({ length: n }, (_, i) => i * 2) };
}

export function sumData(value: { data: Float64Array }): { sum: number; pid: number } {
  let sum = 0;
  for (let i = 0; i < value.data.length; i++) sum += value.data[i]!;
  return { sum, pid: process.pid };
}

/**
 * Submits a task that needs `resource` from inside a task, and says where each ran: the inner one must go to
 * the node that offers the resource, which the outer one's node may not.
 */
export async function nestedWhere(resource: string): Promise<{ outer: number; inner: number; innerSum: number }> {
  const m = await current().module<typeof import("./cluster-tasks.js")>(new URL(import.meta.url));
  const big = m.ramp.options({ resources: { [resource]: 1 } }).remote(2 ** 16); // 512 KiB, made there
  const [inner, innerSum] = await current().get([m.whereAmI.options({ resources: { [resource]: 1 } }).remote(), m.sumWhere.remote(big)]);
  return { outer: process.pid, inner, innerSum: innerSum.sum };
}

/** Refs made inside a task (puts, and a task it submits), returned in a value. */
export async function makeRefs(n: number): Promise<{ puts: Array<import("loom-dag").ObjectRef<number>>; sum: import("loom-dag").ObjectRef<number> }> {
  const m = await current().module<typeof import("./cluster-tasks.js")>(new URL(import.meta.url));
  const puts = Array.from({ length: n }, (_, i) => current().put(i * 10));
  return { puts, sum: m.add.remote(puts[0]!, 1) };
}

/** Reads the refs inside a value it was given. */
export async function sumRefs(box: { refs: Array<import("loom-dag").ObjectRef<number>> }): Promise<{ sum: number; pid: number }> {
  const values = await current().get(box.refs);
  return { sum: values.reduce((a, b) => a + b, 0), pid: process.pid };
}

/** Waits until its signal aborts (a cancel), then says so; or gives up after `ms`. */
export async function untilCancelled(ms: number): Promise<string> {
  const signal = current().signal;
  // Aborted already (cancelled while this worker loaded the module): the abort event has fired.
  if (signal.aborted) return "cancelled";
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("never cancelled"), ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve("cancelled"); });
  });
}
