// Tasks that break the rule that stored objects are immutable, and one that keeps it, for checkImmutable's tests.
import { current, type ObjectRef } from "loom-dag";

/** Writes into its argument: a view on the stored object when the array is 16 KiB or more. */
export function scaleInPlace(values: Float64Array, by: number): number {
  for (let i = 0; i < values.length; i++) values[i]! *= by;
  return values[0]!;
}

/** Reads only. */
export function total(values: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum;
}

/** Makes a big result, which its callers then get as a view. */
export function ramp(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => i);
}

/** Writes into an object it read with get (a ref nested in its argument, not a top-level argument). */
export async function scaleNested(box: { ref: ObjectRef<Float64Array> }): Promise<number> {
  const values = await current().get(box.ref);
  values[1] = -1;
  return values.length;
}
