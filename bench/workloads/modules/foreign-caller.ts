import { current, type ActorHandle } from "loom-dag";

// An actor and a task that calls it through a handle it was given, for bench/micro/foreign-actor-calls.ts.

export class Counter {
  private total = 0;
  add(n: number): number {
    this.total += n;
    return this.total;
  }
}

type CounterHandle = ActorHandle<Counter>;

/** Milliseconds for `n` calls one after another (each awaited), then for a burst of `n` calls and one get. */
export async function timeCalls(counter: CounterHandle, n: number): Promise<{ sequentialMs: number; burstMs: number }> {
  const rt = current();
  await rt.get(counter.add.remote(0)); // warm: the connection to the owner, the module
  let t0 = performance.now();
  for (let i = 0; i < n; i++) await rt.get(counter.add.remote(1));
  const sequentialMs = performance.now() - t0;
  t0 = performance.now();
  await rt.get(Array.from({ length: n }, () => counter.add.remote(1)));
  return { sequentialMs, burstMs: performance.now() - t0 };
}
