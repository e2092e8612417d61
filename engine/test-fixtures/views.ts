// Tasks that keep views of stored arrays in module state (past the task), for the segment reuse tests.
const kept: Float64Array[] = [];
const gc = (globalThis as { gc?: () => void }).gc;

export function keepView(a: Float64Array): number {
  kept.push(a);
  return kept.length;
}

/** The first and last element of every kept view. */
export function readKept(): number[][] {
  return kept.map((a) => [a[0]!, a[a.length - 1]!]);
}

/** Drops the kept views and collects this thread's garbage (finalizers run on a later turn). */
export async function dropKept(): Promise<boolean> {
  kept.length = 0;
  gc?.();
  await new Promise((r) => setTimeout(r, 30));
  return gc !== undefined;
}
