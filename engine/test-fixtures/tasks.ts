// Task and actor module used by the engine's tests: real code with its own imports.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { current } from "loom-dag";

export function add(a: number, b: number): number {
  return a + b;
}
export function identity<T>(x: T): T {
  return x;
}
export function pair(a: number): [number, number] {
  return [a, a * 10];
}
export function fail(message: string): never {
  throw new RangeError(message);
}
export async function sleep(ms: number): Promise<number> {
  await new Promise((r) => setTimeout(r, ms));
  return ms;
}
export function busy(ms: number): number {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) n++;
  return ms;
}
export async function waitForAbort(ms: number): Promise<string> {
  const signal = current().signal as AbortSignal;
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve("finished"), ms);
    signal.addEventListener("abort", () => { clearTimeout(t); resolve("aborted"); });
  });
}
/**
 * Appends its worker's index to `file` once it runs, then spins for `ms` on its first attempt only, so a test can
 * wait for the mark and kill that very worker mid-task, and a retry ends at once. Returns its attempt count.
 */
export function markThenSpinOnce(file: string, ms: number): number {
  appendFileSync(file, `${(current() as unknown as { workerIndex: number }).workerIndex}\n`);
  const attempts = readFileSync(file, "utf8").split("\n").length - 1;
  if (attempts === 1) busy(ms);
  return attempts;
}
/** waitForAbort that marks `file` when it starts and records how it ended, which a cancelled task's get hides. */
export async function markThenWaitForAbort(file: string, ms: number): Promise<string> {
  appendFileSync(file, "started\n");
  const how = await waitForAbort(ms);
  appendFileSync(file, how + "\n");
  return how;
}
/** Waits (polling, up to `ms`) until `file` exists: a task that stays pending until the test opens its gate. */
export async function untilFile(file: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
/** Reads its signal only after `ms`, so a cancel in between reaches a task that has not looked at it yet. */
export async function signalLater(ms: number, file: string): Promise<boolean> {
  appendFileSync(file, "started,");
  await new Promise((r) => setTimeout(r, ms));
  const aborted = (current().signal as AbortSignal).aborted;
  appendFileSync(file, String(aborted));
  return aborted;
}
/** Holds this thread synchronously (no message is read meanwhile) until `gate` (a file) exists, at most `ms`. */
export function blockThread(gate: string, ms: number): boolean {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + ms;
  while (!existsSync(gate)) {
    if (Date.now() > deadline) return false;
    Atomics.wait(nap, 0, 0, 5);
  }
  return true;
}
/**
 * Starts a get of `box.refs` (its want goes to the driver at once), marks `mark`, then holds its thread until
 * `gate` exists: the driver's "ready" answer waits unread meanwhile. Returns the values.
 */
export async function getThenBlock(box: { refs: unknown[] }, mark: string, gate: string, ms: number): Promise<unknown[]> {
  const pending = current().get(box.refs as never) as Promise<unknown[]>;
  appendFileSync(mark, "getting\n");
  blockThread(gate, ms);
  return pending;
}
/** Sums an array of refs it receives unresolved (nested refs stay refs). */
export async function sumRefs(box: { refs: unknown[] }): Promise<number> {
  const rt = current();
  const values = (await rt.get(box.refs as never)) as number[];
  return values.reduce((a, b) => a + b, 0);
}
/** Recursion through nested tasks: each level waits on the next (must not deadlock one worker). */
export async function depth(n: number): Promise<number> {
  if (n === 0) return 0;
  const rt = current();
  const m = await rt.module<typeof import("./tasks.js")>(new URL(import.meta.url));
  return 1 + (await rt.get(m.depth.remote(n - 1)));
}
export async function fanOut(n: number): Promise<number> {
  const rt = current();
  const m = await rt.module<typeof import("./tasks.js")>(new URL(import.meta.url));
  const refs = Array.from({ length: n }, (_, i) => m.add.remote(i, 1));
  return ((await rt.get(refs)) as number[]).reduce((a, b) => a + b, 0);
}
/** Appends a line to a file: a side effect we can count. */
export function record(file: string, line: string): string {
  appendFileSync(file, line + "\n");
  return line;
}
/** A parent that records, then submits a recorded child; used to show children are not re-run. */
export async function parentWithChild(file: string): Promise<string> {
  const rt = current();
  const m = await rt.module<typeof import("./tasks.js")>(new URL(import.meta.url));
  appendFileSync(file, "parent\n");
  return rt.get(m.record.remote(file, "child"));
}
export function returnsRef(x: number): unknown {
  const rt = current();
  return rt.put(x);
}
export function sumArray(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
export function writeFirst(a: Float64Array, v: number): number {
  // Objects are immutable by contract; this proves sharing in a test only.
  a[0] = v;
  return a[0];
}

/**
 * Counts itself in at `counters[at]` and waits (up to `ms`) until `parties` tasks have: true when they all met,
 * which they can only do when they run at the same time, on different threads. `counters[at + 1]` is only
 * waited on (a word nobody changes, so each wait sleeps its full slice).
 */
export function meet(counters: Int32Array, at: number, parties: number, ms: number): boolean {
  Atomics.add(counters, at, 1);
  const deadline = Date.now() + ms;
  for (let seen = Atomics.load(counters, at); seen < parties; seen = Atomics.load(counters, at)) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    Atomics.wait(counters, at + 1, 0, Math.min(left, 50));
  }
  return true;
}

/** Meets the other tasks at `arrived[0]` (see meet) while holding a view of `big`. */
export function rendezvous(big: Float64Array, arrived: Int32Array, parties: number, ms: number): boolean {
  return meet(arrived, 0, parties, ms) && big.length > 0;
}

export class Counter {
  private n: number;
  constructor(start: number) {
    this.n = start;
  }
  inc(by = 1): number {
    this.n += by;
    return this.n;
  }
  async slowInc(by: number, ms: number): Promise<number> {
    await new Promise((r) => setTimeout(r, ms));
    this.n += by;
    return this.n;
  }
  value(): number {
    return this.n;
  }
  checkpoint(): unknown {
    return { n: this.n };
  }
  restore(state: { n: number }): void {
    this.n = state.n;
  }
}

export class Recorder {
  private calls = 0;
  constructor(private readonly file: string) {}
  call(tag: string): number {
    this.calls++;
    appendFileSync(this.file, `${tag}\n`);
    return this.calls;
  }
}

export class Broken {
  constructor() {
    throw new Error("constructor exploded");
  }
  ping(): string {
    return "pong";
  }
}

/** Calls a counter actor through its handle, from inside a task. */
export async function callCounter(counter: { inc: { remote(by: number): unknown } }, by: number): Promise<number> {
  return current().get(counter.inc.remote(by) as never) as Promise<number>;
}
/**
 * Submits a child and a task depending on it, reads the dependent, then (once the driver has seen it end) the
 * child: the child's result is held by nothing but this task's ref.
 */
export async function readChildAfterDependent(a: number): Promise<number> {
  const rt = current();
  const m = await rt.module<typeof import("./tasks.js")>(new URL(import.meta.url));
  const child = m.add.remote(a, 1);
  const dependent = m.add.remote(child, 1);
  const d = await rt.get(dependent);
  await new Promise((r) => setTimeout(r, 50));
  return d + (await rt.get(child));
}
/**
 * Like readChildAfterDependent, but the child's result, freed by then, is passed to a new task as an argument,
 * which holds it; that task starts only after `ms` (its other argument), long after the child was rebuilt.
 */
export async function addToChildLater(a: number, ms: number): Promise<number> {
  const rt = current();
  const m = await rt.module<typeof import("./tasks.js")>(new URL(import.meta.url));
  const child = m.add.remote(a, 1);
  await rt.get(m.add.remote(child, 1));
  await new Promise((r) => setTimeout(r, 50));
  return rt.get(m.add.remote(child, m.sleep.remote(ms))) as Promise<number>;
}

/** Calls wait from inside a task (the worker's API) with the given refs; returns the error message, if any. */
export async function waitInWorker(box: { refs: unknown[] }, numReturns: number): Promise<string> {
  try {
    const { ready } = await current().wait(box.refs as never, { numReturns, timeoutMs: 5_000 });
    return `ready ${ready.length}`;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

/**
 * Appends a line to `mark` (so its line count is this attempt's number) and, on attempt `gatedAttempt` only,
 * waits up to `ms` for the file `${mark}.open`; returns 7 on every attempt.
 */
export async function gatedByAttempt(mark: string, gatedAttempt: number, ms: number): Promise<number> {
  appendFileSync(mark, "ran\n");
  const attempt = readFileSync(mark, "utf8").split("\n").length - 1;
  const deadline = Date.now() + ms;
  while (attempt === gatedAttempt && !existsSync(`${mark}.open`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return 7;
}
