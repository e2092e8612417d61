import { current, type ActorHandle } from "loom-dag";

// Tasks that call actors through handles they were given (as an argument, inside a value, or by name), for the
// tests of actors called from processes other than their owner. Each says where it ran.

type Counter = ActorHandle<{ add(n: number): { total: number; pid: number } }>;

/** What a call through a handle gave: its value, or its error's name and code (the caller catches it). */
export interface CallOutcome { total?: number; actorPid?: number; callerPid: number; error?: { name: string; code?: string; message: string } }

async function outcome(counter: Counter, n: number): Promise<CallOutcome> {
  try {
    const { total, pid } = await current().get(counter.add.remote(n));
    return { total, actorPid: pid, callerPid: process.pid };
  } catch (e) {
    const error = e as Error & { code?: string; cause?: Error & { code?: string } };
    // A dependent's error is the call's own: its class and code travel with it.
    return { callerPid: process.pid, error: { name: error.name, code: error.code, message: error.message } };
  }
}

/** Calls `add(n)` on the counter it was given as an argument. */
export function addThrough(counter: Counter, n: number): Promise<CallOutcome> {
  return outcome(counter, n);
}

/** Calls `add` on the counter held inside a value, `times` times in order, and returns the last outcome. */
export async function addThroughBox(box: { counter: Counter }, n: number, times: number): Promise<CallOutcome[]> {
  const refs = Array.from({ length: times }, () => box.counter.add.remote(n));
  const values = await current().get(refs);
  return values.map(({ total, pid }) => ({ total, actorPid: pid, callerPid: process.pid }));
}

/** Looks the counter up by name inside the task (current().getActor) and calls `add(n)`. */
export function addByName(name: string, n: number): Promise<CallOutcome> {
  return outcome(current().getActor(name) as Counter, n);
}

/** Creates a counter (this task's node owns it) that holds `resource`, and returns its handle. */
export async function makeCounter(resource: string, maxRestarts = 0): Promise<Counter> {
  const m = await current().module<typeof import("./cluster-tasks.js")>(new URL("./cluster-tasks.ts", import.meta.url));
  return m.Counter.options({ resources: { [resource]: 0.5 }, maxRestarts }).remote() as unknown as Counter;
}

/** Creates `n` counters (this task's node owns them; placed where the cluster has room) and returns their handles. */
export async function makeCounters(n: number): Promise<Counter[]> {
  const m = await current().module<typeof import("./cluster-tasks.js")>(new URL("./cluster-tasks.ts", import.meta.url));
  return Array.from({ length: n }, () => m.Counter.remote() as unknown as Counter);
}

/** Creates a counter named `name` (this task's node owns it and claims the name) and returns its handle at once. */
export async function nameOnly(name: string): Promise<Counter> {
  const m = await current().module<typeof import("./cluster-tasks.js")>(new URL("./cluster-tasks.ts", import.meta.url));
  return m.Counter.options({ name }).remote() as unknown as Counter;
}
