// Actor classes and caller tasks used by engine/actors/actors.test.ts: real code with its own imports.
// Side effects that must be counted across restarts go to files; everything else is returned.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { threadId, workerData } from "node:worker_threads";
import { current, type ObjectRef } from "loom-dag";
import { blockThread } from "./tasks.js";

type Tasks = typeof import("./tasks.js");
type Self = typeof import("./actors.js");
/** The slice of a handle these fixtures call: handles cross threads as plain descriptors plus methods. */
interface Callable { [method: string]: { remote(...args: unknown[]): ObjectRef<any> } }

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const self = () => current().module<Self>(new URL(import.meta.url)) as Promise<any>;
const tasks = () => current().module<Tasks>(new URL("./tasks.ts", import.meta.url)) as Promise<any>;

/** A counter whose history shows every call it served, in order. */
export class Counter {
  private n: number;
  private readonly history: number[] = [];
  constructor(start: number) {
    this.n = start;
  }
  inc(by = 1): number {
    this.n += by;
    this.history.push(by);
    return this.n;
  }
  async slowInc(by: number, ms: number): Promise<number> {
    await sleep(ms);
    return this.inc(by);
  }
  /**
   * Adds `by` once `gate` (a file) no longer names this thread: a test keeps a call in flight on the instance it
   * is about to kill, while a restarted instance on another thread runs the same call at once. `${gate}.log` gets
   * "start <thread>" and "end <thread>" lines, so the test knows the call is running, not queued, and when it ended.
   */
  async holdInc(by: number, gate: string): Promise<number> {
    appendFileSync(`${gate}.log`, `start ${threadId}\n`);
    while (existsSync(gate) && readFileSync(gate, "utf8") === String(threadId)) await sleep(5);
    appendFileSync(`${gate}.log`, `end ${threadId}\n`);
    return this.inc(by);
  }
  value(): number {
    return this.n;
  }
  /** Throws after changing nothing: an exception does not kill the actor. */
  boom(message: string): never {
    throw new RangeError(message);
  }
  calls(): number[] {
    return this.history;
  }
  /** Holds its thread for ms (a synchronous loop). */
  spin(ms: number): number {
    const end = Date.now() + ms;
    while (Date.now() < end);
    return this.n;
  }
  /** Creates `mark` (a file) and says how many items it was given: a big argument arrives with its call. */
  stampList(items: unknown[], mark: string): { length: number } {
    appendFileSync(mark, "started\n");
    return { length: items.length };
  }
  /**
   * Holds this thread (synchronously: no message is read meanwhile) until `gate` (a file) exists, at most `ms`;
   * appends "started" to `${gate}.log` first. True when the gate opened.
   */
  blockUntil(gate: string, ms: number): boolean {
    appendFileSync(`${gate}.log`, "started\n");
    return blockThread(gate, ms);
  }
  /** Where this instance lives: the worker index and the thread id. */
  where(): { index: number; thread: number } {
    return { index: (workerData as { index: number }).index, thread: threadId };
  }
}

/** Constructor arguments: a top-level ref arrives resolved, a ref nested in an object stays a ref. */
export class Accumulator {
  constructor(private readonly base: number, private readonly box: { later: ObjectRef<number>; tag: string }) {}
  async total(): Promise<number> {
    return this.base + (await current().get(this.box.later));
  }
  baseValue(): number {
    return this.base;
  }
  describe(): string {
    return `${this.box.tag}:${typeof this.box.later}`;
  }
}

/**
 * Records the order it served calls in, and whether two calls ever overlapped. `step` is async and awaits
 * between its start and its end, so an engine that starts the next call early is caught.
 */
export class Sequencer {
  private readonly log: string[] = [];
  private active = false;
  private overlaps = 0;
  async step(caller: string, i: number, ms: number): Promise<number> {
    if (this.active) this.overlaps++;
    this.active = true;
    await sleep(ms);
    await Promise.resolve();
    this.log.push(`${caller}:${i}`);
    this.active = false;
    return this.log.length;
  }
  tick(caller: string, i: number): number {
    if (this.active) this.overlaps++;
    this.log.push(`${caller}:${i}`);
    return this.log.length;
  }
  report(): { log: string[]; overlaps: number } {
    return { log: this.log, overlaps: this.overlaps };
  }
}

/** Appends one line per call to a file (a side effect outside Loom); checkpoints its call count. */
export class Recorder {
  private calls = 0;
  constructor(private readonly file: string) {}
  call(tag: string): number {
    this.calls++;
    appendFileSync(this.file, `${tag}\n`);
    return this.calls;
  }
  count(): number {
    return this.calls;
  }
  checkpoint(): unknown {
    return { calls: this.calls };
  }
  restore(state: { calls: number }): void {
    this.calls = state.calls;
  }
}

export class Broken {
  constructor(why: string) {
    throw new Error(`constructor exploded: ${why}`);
  }
  ping(): string {
    return "pong";
  }
}

/** An actor that calls others through Loom: a task that records to a file, and a counter actor. */
export class Spawner {
  private served = 0;
  constructor(private readonly file: string, private readonly counter: Callable) {}
  async work(tag: string): Promise<{ served: number; recorded: string; counted: number }> {
    this.served++;
    const t = await tasks();
    const recorded = await current().get(t.record.remote(this.file, tag) as ObjectRef<string>);
    const counted = await current().get(this.counter.inc.remote(1) as ObjectRef<number>);
    return { served: this.served, recorded, counted };
  }
}

/** An actor that holds another actor's handle and calls it. */
export class Forwarder {
  constructor(private readonly target: Callable) {}
  async forward(by: number): Promise<number> {
    return current().get(this.target.inc.remote(by) as ObjectRef<number>);
  }
}

// ---- caller tasks: handles passed as arguments, inside objects, returned ----

/** Calls `inc` on a counter from inside a task. */
export async function callInc(counter: Callable, by: number): Promise<number> {
  return current().get(counter.inc.remote(by) as ObjectRef<number>);
}

/** Calls `inc`, then ends its thread the first time (the counter read exactly `by`): a crash after the call. */
export async function callIncThenCrashOnce(counter: Callable, by: number): Promise<number> {
  const total = await current().get(counter.inc.remote(by) as ObjectRef<number>);
  if (total === by) process.exit(3);
  return total;
}

/** Two levels: this task passes the handle to another task, which calls the actor. */
export async function callIncNested(counter: Callable, by: number): Promise<number> {
  const m = await self();
  return current().get(m.callInc.remote(counter, by) as ObjectRef<number>);
}

/** The handle arrives inside an object (a stored object when passed as a ref). */
export async function callBoxed(box: { counter: Callable; by: number }): Promise<number> {
  return current().get(box.counter.inc.remote(box.by) as ObjectRef<number>);
}

/** Returns the handle it was given, inside an object. */
export function boxHandle(counter: Callable): { counter: Callable } {
  return { counter };
}

/** Creates a counter actor inside a worker and returns its handle. */
export async function makeCounter(start: number): Promise<Callable> {
  const m = await self();
  return m.Counter.remote(start) as Callable;
}

/**
 * One caller among many: submits n calls to the sequencer without waiting in between (async `step` with a
 * small delay, or sync `tick` on odd i), then waits for all; the results must come back increasing.
 */
export async function callMany(seq: Callable, caller: string, n: number): Promise<number[]> {
  const refs: ObjectRef<number>[] = [];
  for (let i = 0; i < n; i++) refs.push(i % 2 ? seq.tick.remote(caller, i) : seq.step.remote(caller, i, i % 3));
  return current().get(refs);
}

/** Finds a named actor from inside a task (the worker's API) and calls it; the error message if it cannot. */
export async function incByName(name: string, by: number): Promise<number | string> {
  let counter: Callable;
  try {
    counter = current().getActor(name) as unknown as Callable;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  return current().get(counter.inc.remote(by) as ObjectRef<number>);
}

/** Makes a named actor from inside a task, then finds it by name in a child task. */
export async function nameThenFind(name: string): Promise<number | string> {
  const m = await self();
  m.Counter.options({ name }).remote(40);
  return current().get(m.incByName.remote(name, 2) as ObjectRef<number | string>);
}

/**
 * Makes two actors named `name` in one turn of a task (the second before this worker can hear of the first),
 * then calls inc(1) on each: what each came to, a value or the error's name and message.
 */
export async function nameTwice(name: string): Promise<Array<number | string>> {
  const m = await self();
  const outcome = async (make: () => Callable): Promise<number | string> => {
    try {
      return await current().get(make().inc.remote(1) as ObjectRef<number>);
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  const first = m.Counter.options({ name }).remote(10) as unknown as Callable;
  const second = outcome(() => m.Counter.options({ name }).remote(20) as unknown as Callable);
  return [await outcome(() => first), await second];
}
