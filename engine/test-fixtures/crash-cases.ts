// Tasks for engine/runtime/crash-reclaim.test.ts: work that writes to the store at each crash point.
import { writeFileSync } from "node:fs";
import { current } from "loom-dag";

/** Puts a small value, then returns a big one: its result goes through a segment, sealed by the driver with "done". */
export function putThenFilled(n: number, v: number): Float64Array {
  current().put(v);
  return new Float64Array(n).fill(v);
}

/** Puts a small value, then returns two small ones (deferred seals, both in the arena). */
export function putThenPair(a: number): [number, number] {
  current().put(a);
  return [a, a + 1];
}

/** Puts a big value (a segment) and reads it back. */
export async function putBigAndSum(n: number): Promise<number> {
  const v = (await current().get(current().put(new Float64Array(n).fill(1)))) as Float64Array;
  return v.reduce((s, x) => s + x, 0);
}

/** Yields `n` small values. */
export function* count(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/** An actor whose call can be caught running: `where` names its thread, `nap` marks `file` and holds a call there. */
export class Napper {
  where(): number {
    return (current() as unknown as { workerIndex: number }).workerIndex;
  }
  async nap(ms: number, file: string): Promise<number> {
    writeFileSync(file, "napping");
    await new Promise((r) => setTimeout(r, ms));
    return ms;
  }
}
