// Searches of different lengths: one that stops when it is cancelled (it watches its signal), and one that
// never looks (only a forced cancel, which kills its worker, stops it).
import { current } from "loom-dag";

/** Looks for `target` by counting up from `from`; checks `current().signal` between slices of work. */
export async function politeSearch(from: number, target: number): Promise<number> {
  const signal = current().signal;
  for (let n = from; ; n++) {
    if (n === target) return n;
    if (n % 100_000 === 0) {
      await new Promise((resolve) => setImmediate(resolve)); // let the cancel message in
      if (signal.aborted) throw new Error(`stopped at ${n}`);
    }
  }
}

/** Busy until `ms` have passed; never yields, so only `cancel(ref, { force: true })` stops it early. */
export function stubbornSearch(ms: number): number {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) n++;
  return n;
}
