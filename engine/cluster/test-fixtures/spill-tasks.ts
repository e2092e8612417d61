import { appendFileSync } from "node:fs";

// Tasks for the spillback and drain tests: each says the process it ran in, so a test can tell nodes apart.

/** A big result (over the inline limit: it stays on the node that made it), and where it was made. */
export function bigOn(n: number): { pid: number; data: Float64Array } {
  return { pid: process.pid, data: Float64Array.from({ length: n }, (_, i) => i) };
}

/** Sums a big value's data after `ms`, and says where it ran: long enough that two of them overlap. */
export async function sumSlowly(value: { data: Float64Array }, ms: number): Promise<{ sum: number; pid: number }> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  let sum = 0;
  for (let i = 0; i < value.data.length; i++) sum += value.data[i]!;
  return { sum, pid: process.pid };
}

/** A big result that appends a line to `file` each time it runs: the test counts its executions. */
export function bigCounted(file: string, n: number): { pid: number; data: Float64Array } {
  appendFileSync(file, "ran\n");
  return { pid: process.pid, data: Float64Array.from({ length: n }, (_, i) => i * 3) };
}

export async function slowly<T>(ms: number, value: T): Promise<{ value: T; pid: number }> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { value, pid: process.pid };
}

export function add(a: number, b: number): number {
  return a + b;
}

/** A big result (512 KiB for n = 2^16: it stays on its node) whose values depend on `seed`. */
export function bigFrom(seed: number, n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => (seed + i) % 1000);
}

export function sumOf(values: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum;
}

/** An actor whose state is the sum of what it was given: a restart replays its calls to the same total. */
export class Tally {
  private total = 0;
  add(n: number): number {
    this.total += n;
    return this.total;
  }
}

/** Appends `pid value` to `file` as it starts, then takes `ms`: the test knows which tasks started, and where. */
export async function noteStartThenWait<T>(file: string, ms: number, value: T): Promise<{ value: T; pid: number }> {
  appendFileSync(file, `${process.pid} ${String(value)}\n`);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { value, pid: process.pid };
}

/** A running total that says where each call ran; `add` may take a while, so a call can be in flight in a drain. */
export class PlacedTally {
  private total = 0;
  async add(n: number, ms = 0): Promise<{ total: number; pid: number }> {
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    this.total += n;
    return { total: this.total, pid: process.pid };
  }
}
