// Option validation: misuse throws a LoomError at once, naming the bad value.
import { LoomError } from "./errors.js";
import { MAX_RETURNS } from "./ids.js";

export type Resources = Record<string, number>;

/** Options of remote functions and actor method calls (`.options({...})`). */
export interface TaskOptions {
  /**
   * n > 1: the function returns an array of n values, and `.remote` returns n refs (default 1). `"streaming"`: a
   * generator function whose yields come out one by one through an `ObjectRefGenerator` while it runs.
   */
  numReturns?: number | "streaming";
  /** With `numReturns: "streaming"`: the generator pauses while this many of its yields are not yet taken. */
  generatorBackpressure?: number;
  /** Retries after the task's worker crashed (default 3; -1: unlimited). */
  maxRetries?: number;
  /** Also retry when the function throws (default false). */
  retryExceptions?: boolean;
  /** What the task needs to run (default `{ cpu: 1 }`; `cpu` is 1 unless named). */
  resources?: Resources;
  /** The task's name in errors, events and the graph (default: the function's name). */
  name?: string;
  /** An attempt running longer is stopped (SPEC "Timeouts"): a finite number > 0. */
  timeoutMs?: number;
}

/** Options of actor classes (`m.Counter.options({...})`). */
export interface ActorOptions {
  /** Restarts after a crash, replaying the method log (default 0; -1: unlimited). */
  maxRestarts?: number;
  /** Retries of a method call in flight when the actor crashed (default 0). */
  maxTaskRetries?: number;
  /** Call the class's `checkpoint()` every n calls; a restart then `restore`s it and replays only later calls. */
  checkpointEvery?: number;
  /** A named actor, found with `getActor(name)` in the driver and in tasks. */
  name?: string;
  /** What the actor holds for its whole life (default `{ cpu: 1 }`). */
  resources?: Resources;
  /** Calls of one actor that may run at once (default 1). */
  maxConcurrency?: number;
}

export interface ResolvedTaskOptions {
  /** Return objects: 1 for a streaming task (its end: the count of yields, or its error). */
  numReturns: number;
  /** A streaming generator: 0 without backpressure, else generatorBackpressure. Undefined for other tasks. */
  streaming?: number;
  maxRetries: number;
  retryExceptions: boolean;
  resources: Resources;
  name?: string;
  timeoutMs?: number;
}

function fail(what: string, value: unknown, expected: string): never {
  throw new LoomError(`invalid option ${what}: ${describe(value)} (expected ${expected})`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null) {
    try { return JSON.stringify(value); } catch { return String(value); }
  }
  return String(value);
}

function checkCount(what: string, value: unknown, min: number, allowInfinite: boolean, orElse = ""): number {
  if (allowInfinite && value === -1) return -1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    fail(what, value, `an integer >= ${min}${allowInfinite ? " or -1 for unlimited" : ""}${orElse ? ` ${orElse}` : ""}`);
  }
  return value;
}

export function checkResources(what: string, value: unknown): Resources {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(what, value, "an object of resource amounts");
  const out: Resources = {};
  for (const [key, amount] of Object.entries(value as Record<string, unknown>)) {
    if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0) {
      fail(`${what}.${key}`, amount, "a finite number >= 0");
    }
    out[key] = amount;
  }
  return out;
}

const TASK_KEYS = new Set(["numReturns", "maxRetries", "retryExceptions", "resources", "name", "timeoutMs", "generatorBackpressure"]);
const ACTOR_KEYS = new Set(["maxRestarts", "maxTaskRetries", "checkpointEvery", "name", "resources", "numReturns", "maxRetries", "retryExceptions", "maxConcurrency"]);

export function checkTaskOptions(options: unknown, allowed = TASK_KEYS): TaskOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) fail("options", options, "an object");
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!allowed.has(key)) throw new LoomError(`unknown option ${JSON.stringify(key)}; known options: ${[...allowed].join(", ")}`);
  }
  const out: TaskOptions = {};
  if (o.numReturns === "streaming") {
    out.numReturns = "streaming";
  } else if (o.numReturns !== undefined) {
    const n = checkCount("numReturns", o.numReturns, 1, false, `or "streaming"`);
    if (n > MAX_RETURNS) fail("numReturns", o.numReturns, `at most ${MAX_RETURNS}, or "streaming"`);
    out.numReturns = n;
  }
  if (o.generatorBackpressure !== undefined) out.generatorBackpressure = checkCount("generatorBackpressure", o.generatorBackpressure, 1, false);
  if (o.maxRetries !== undefined) out.maxRetries = checkCount("maxRetries", o.maxRetries, 0, true);
  if (o.retryExceptions !== undefined) {
    if (typeof o.retryExceptions !== "boolean") fail("retryExceptions", o.retryExceptions, "a boolean");
    out.retryExceptions = o.retryExceptions;
  }
  if (o.resources !== undefined) out.resources = checkResources("resources", o.resources);
  if (o.name !== undefined) {
    if (typeof o.name !== "string" || o.name === "") fail("name", o.name, "a non-empty string");
    out.name = o.name;
  }
  if (o.timeoutMs !== undefined) {
    if (typeof o.timeoutMs !== "number" || !Number.isFinite(o.timeoutMs) || o.timeoutMs <= 0) fail("timeoutMs", o.timeoutMs, "a finite number > 0");
    out.timeoutMs = o.timeoutMs;
  }
  return out;
}

export function checkActorOptions(options: unknown): ActorOptions & TaskOptions {
  const base = checkTaskOptions(options, ACTOR_KEYS) as ActorOptions & TaskOptions;
  const o = options as Record<string, unknown>;
  if (base.numReturns === "streaming") fail("numReturns", o.numReturns, "a number for an actor class (\"streaming\" applies to generator methods and functions)");
  if (o.maxRestarts !== undefined) base.maxRestarts = checkCount("maxRestarts", o.maxRestarts, 0, true);
  if (o.maxTaskRetries !== undefined) base.maxTaskRetries = checkCount("maxTaskRetries", o.maxTaskRetries, 0, true);
  if (o.checkpointEvery !== undefined) base.checkpointEvery = checkCount("checkpointEvery", o.checkpointEvery, 1, false);
  if (o.maxConcurrency !== undefined) base.maxConcurrency = checkCount("maxConcurrency", o.maxConcurrency, 1, false);
  return base;
}

/** The default resources of a task: one CPU. Shared, so the hot path can recognise it by identity. */
export const DEFAULT_RESOURCES: Readonly<Resources> = Object.freeze({ cpu: 1 });

const resolvedCache = new WeakMap<TaskOptions, ResolvedTaskOptions>();

/** Fills in defaults. Memoized per options object: a remote function's options are one object for all its calls. */
export function resolveTaskOptions(o: TaskOptions): ResolvedTaskOptions {
  let r = resolvedCache.get(o);
  if (!r) {
    const streaming = o.numReturns === "streaming";
    if (o.generatorBackpressure !== undefined && !streaming) {
      throw new LoomError(`option generatorBackpressure (${o.generatorBackpressure}) applies only with numReturns: "streaming"`);
    }
    r = {
      numReturns: streaming ? 1 : (o.numReturns as number | undefined) ?? 1,
      streaming: streaming ? o.generatorBackpressure ?? 0 : undefined,
      maxRetries: o.maxRetries ?? 3,
      retryExceptions: o.retryExceptions ?? false,
      resources: o.resources ?? DEFAULT_RESOURCES,
      name: o.name,
      timeoutMs: o.timeoutMs,
    };
    resolvedCache.set(o, r);
  }
  return r;
}
