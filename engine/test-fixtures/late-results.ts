// A task that finishes after it was cancelled (its code ignores the abort), with a big result: the store must
// not keep what it wrote (crash-reclaim.test.ts).

/** Marks started[0], waits until gate[0] is set (without blocking its thread), then returns `bytes` of zeros. */
export async function bigAfterGate(started: Int32Array, gate: Int32Array, bytes: number, ms: number): Promise<Uint8Array> {
  Atomics.store(started, 0, 1);
  const end = Date.now() + ms;
  while (Atomics.load(gate, 0) === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return new Uint8Array(bytes);
}
