// Tasks and an actor that hold actor handles where the driver cannot see them: in a running task's arguments,
// in a stored value, in an actor's state, made inside a task (actor-handles.test.ts).
import { current } from "loom-dag";

type CounterHandle = { inc: { remote(by: number): unknown } };

/** Waits (without blocking its thread) until gate[0] is set, then calls the counter it was given: its value. */
export async function holdUntilGate(counter: CounterHandle, gate: Int32Array, ms: number): Promise<number> {
  const end = Date.now() + ms;
  while (Atomics.load(gate, 0) === 0) {
    if (Date.now() > end) throw new Error("holdUntilGate: the gate never opened");
    await new Promise((r) => setTimeout(r, 5));
  }
  return current().get(counter.inc.remote(1) as never) as Promise<number>;
}

/** Reads a counter's handle out of a stored box and calls it. */
export async function callBoxed(box: { c: CounterHandle }, by: number): Promise<number> {
  return current().get(box.c.inc.remote(by) as never) as Promise<number>;
}

/** Makes a counter inside the task and calls it; returns its handle when asked to, else only the value. */
export async function makeCounter(start: number, returnHandle: boolean): Promise<{ value: number; handle?: unknown }> {
  const m = (await current().module(new URL("./tasks.ts", import.meta.url))) as Record<string, any>;
  const c = m.Counter.remote(start);
  const value = (await current().get(c.inc.remote(1) as never)) as number;
  return returnHandle ? { value, handle: c } : { value };
}

/** An actor that keeps a handle given to a method in its state, and calls it later. */
export class Keeper {
  private kept: CounterHandle | undefined;
  keep(counter: CounterHandle): boolean {
    this.kept = counter;
    return true;
  }
  async callKept(by: number): Promise<number> {
    return current().get(this.kept!.inc.remote(by) as never) as Promise<number>;
  }
}

/**
 * Collects garbage in this worker thread, once each of `n` such tasks has started (each holds its thread until
 * then, so n of them reach n threads): handles dropped in a worker are reported once its GC finds them.
 */
export function collectHere(started: Int32Array, n: number, ms: number): boolean {
  Atomics.add(started, 0, 1);
  const end = Date.now() + ms;
  while (Atomics.load(started, 0) < n && Date.now() < end) Atomics.wait(started, 0, Atomics.load(started, 0), 5);
  (globalThis as { gc?: () => void }).gc?.();
  return Atomics.load(started, 0) >= n;
}

/** An actor whose constructor takes a while: dropped before it finished starting. */
export class SlowStart {
  constructor(ms: number) {
    const end = Date.now() + ms;
    while (Date.now() < end) { /* starting */ }
  }
  ping(): string {
    return "pong";
  }
}
