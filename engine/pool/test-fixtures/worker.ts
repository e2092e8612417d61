// A task module written for piscina (default export plus named exports), used
// unchanged by Loom's Pool in the piscina-style tests and by rt.module tests.

/** The default export: what `pool.run(task)` calls when no name is given. */
export default function double(x: number): number {
  return x * 2;
}

export function add({ a, b }: { a: number; b: number }): number {
  return a + b;
}

export function square(x: number): number {
  return x * x;
}

export async function addLater({ a, b, ms }: { a: number; b: number; ms: number }): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return a + b;
}

export function fail(message: string): never {
  throw new RangeError(message);
}

/** Busy for `ms` (a task that only an abort or a forced cancel stops early). */
export function spin(ms: number): number {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) n++;
  return n;
}

export function sum(values: Float64Array): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
