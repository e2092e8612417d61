// Tasks and actors for engine/runtime/ray-cases.test.ts: scenarios taken from Ray's own test suite (reference
// counting of refs nested in arguments, retries as new attempts, checkpoints), written as Loom programs.
import { writeFileSync } from "node:fs";
import { current, type ObjectRef } from "loom-dag";

type Self = typeof import("./ray-cases.js");
const self = () => current().module<Self>(new URL(import.meta.url)) as Promise<any>;

/**
 * Reads the array behind `list[0]` and, above depth 0, returns the ref of its own next call with the same list
 * (a ref nested in an argument, so never a data edge): the chain holds the only refs once the driver drops its own.
 */
export async function recurseNested(list: ObjectRef<Float64Array>[], depth: number, delayMs = 0): Promise<number | ObjectRef<unknown>> {
  // The delay lets the driver drop its ref and collect it while the chain still needs the object.
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  const v = await current().get(list[0]!);
  if (depth === 0) return v.length;
  const m = await self();
  return m.recurseNested.remote(list, depth - 1, delayMs);
}

/** Counts how often it is called: the attempts of a retried caller show up here. */
export class AttemptCounter {
  private n = 0;
  bump(): number {
    return ++this.n;
  }
  count(): number {
    return this.n;
  }
}

/** Calls the counter once per attempt and throws on the first: a retry must call it again (Ray's case). */
export async function failFirstAttempt(counter: { bump: { remote(): ObjectRef<number> } }): Promise<number> {
  const seen = await current().get(counter.bump.remote());
  if (seen === 1) throw new Error(`attempt saw ${seen}`);
  return seen;
}

/** As failFirstAttempt, but the first attempt crashes its worker instead of throwing. */
export async function crashFirstAttempt(counter: { bump: { remote(): ObjectRef<number> } }): Promise<number> {
  const seen = await current().get(counter.bump.remote());
  if (seen === 1) process.exit(3);
  return seen;
}

/** A counter that checkpoints its total and counts how it was rebuilt (restore vs constructor). */
export class Checkpointed {
  private total = 0;
  private restoredFrom = -1;
  add(by: number): number {
    this.total += by;
    return this.total;
  }
  checkpoint(): { total: number } {
    return { total: this.total };
  }
  restore(state: { total: number }): void {
    this.total = state.total;
    this.restoredFrom = state.total;
  }
  /** -1 when built by its constructor alone, else the total its checkpoint held. */
  origin(): number {
    return this.restoredFrom;
  }
}

/** Returns its input; used on a put that is then evicted. */
export function double(xs: number[]): number[] {
  return xs.map((x) => x * 2);
}

/** Keeps a ref it was handed nested in an argument (a borrow, in Ray's terms) and reads it on a later call. */
export class Borrower {
  private kept: ObjectRef<Float64Array> | undefined;
  keep(list: ObjectRef<Float64Array>[]): boolean {
    this.kept = list[0];
    return true;
  }
  async length(): Promise<number> {
    return (await current().get(this.kept!)).length;
  }
  /** Drops the borrowed ref and collects this thread's garbage, so the thread reports it gone. */
  async forget(): Promise<boolean> {
    this.kept = undefined;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    await new Promise((r) => setTimeout(r, 30));
    return gc !== undefined;
  }
}

/** Marks `file` (so a test knows it runs), then never settles: a task only a cancel can end. */
export function neverSettles(file: string): Promise<never> {
  writeFileSync(file, "started");
  return new Promise<never>(() => {});
}

/** The length of its string argument: its payload is as big as the string. */
export function lengthOf(s: string): number {
  return s.length;
}

/** A big result: stored in a segment of its own, not the arena. */
export function filled(n: number, v: number): Float64Array {
  return new Float64Array(n).fill(v);
}

/** Puts a value from inside the task and reads it back. */
export async function putAndRead(x: number): Promise<number> {
  return (await current().get(current().put(x * 2))) as number;
}

/** A counter that checkpoints after every call. */
export class Tally {
  private total = 0;
  add(by: number): number {
    this.total += by;
    return this.total;
  }
  checkpoint(): number {
    return this.total;
  }
  restore(total: number): void {
    this.total = total;
  }
}

/** For ActorPool: doubles, after `ms`; throws for a negative value. */
export class Doubler {
  calls = 0;
  async double(x: number, ms = 0): Promise<number> {
    this.calls++;
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    if (x < 0) throw new RangeError(`negative: ${x}`);
    return 2 * x;
  }
  count(): number {
    return this.calls;
  }
}

/** Busy for `ms` without yielding (a timer of its own thread could never stop it), then returns `ms`. */
export function spinFor(ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
  return ms;
}

/** Waits `ms`, returning early with "aborted" when its signal aborts (a task that honours cancellation). */
export async function sleepOrAbort(ms: number): Promise<string> {
  const signal = current().signal;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("slept"), ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(`aborted: ${(signal.reason as Error)?.name}`); });
  });
}

/** Slow on its first attempt only (the attempt number comes from a file the test names). */
export async function slowOnce(marker: string, ms: number): Promise<string> {
  const { existsSync } = await import("node:fs");
  if (!existsSync(marker)) {
    writeFileSync(marker, "1");
    await new Promise((r) => setTimeout(r, ms));
    return "first";
  }
  return "second";
}

/** For maxConcurrency: counts the calls inside at once. */
export class Overlap {
  private inside = 0;
  private most = 0;
  async visit(ms: number): Promise<number> {
    this.inside++;
    this.most = Math.max(this.most, this.inside);
    await new Promise((r) => setTimeout(r, ms));
    this.inside--;
    return this.most;
  }
  mostAtOnce(): number {
    return this.most;
  }
}

/** Writes `v` at `at` of every shared buffer it is given (top level, a view, nested): the caller must see it. */
export function writeShared(whole: SharedArrayBuffer, view: Int32Array, box: { dv: DataView }, v: number): number {
  new Int32Array(whole)[0] = v;
  Atomics.store(view, 1, v);
  box.dv.setInt32(8, v, true);
  return view.length;
}

/** An actor that keeps a shared buffer and counts into it. */
export class SharedCounter {
  constructor(private readonly cells: Int32Array) {}
  bump(): number {
    return Atomics.add(this.cells, 0, 1) + 1;
  }
}
