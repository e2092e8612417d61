// The error tree: every error Loom raises is a LoomError with a literal `name` and a stable `code`.
// The code is the identity that survives crossing a thread: the error codec below rebuilds the class from it,
// and a task's thrown error is rebuilt as its own class too where this thread knows that class.
import { inspect } from "node:util";
import { sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** A rebuilt task error whose prototype chain is the thrown class: the Loom class it is an instance of too. */
const LOOM_CLASS = Symbol.for("loom.errorClass");

/** The root of every error Loom raises. `code` is stable (`ERR_TASK`, `ERR_OBJECT_LOST`, ...). */
export class LoomError extends Error {
  override name = "LoomError";
  readonly code: string = "ERR_LOOM";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  // A TaskError rebuilt as the thrown class (say `InsufficientFunds`) cannot also have TaskError's prototype;
  // it carries the Loom class instead, so `instanceof TaskError` and `instanceof LoomError` still hold.
  /** @internal */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const loomClass = typeof value === "object" && value !== null ? (value as Record<symbol, unknown>)[LOOM_CLASS] : undefined;
    return typeof loomClass === "function" && (loomClass === this || Function.prototype[Symbol.hasInstance].call(this, loomClass.prototype));
  }
}

export interface TaskErrorFields {
  remoteName: string;
  remoteStack: string;
  taskId: string;
  functionName: string;
  cause: unknown;
}

/**
 * The remote function threw. Where this thread knows the thrown class (a built-in error class, or one exported
 * by a module loaded with `rt.module`), the error is also `instanceof` that class and keeps its own fields;
 * `cause` is the thrown error rebuilt, with its cause chain. Dependents fail with the same error without running.
 * @example
 * try {
 *   await rt.get(m.withdraw.remote(account, 500));
 * } catch (error) {
 *   if (error instanceof InsufficientFunds) console.log(error.balance, error.taskId); // also a TaskError
 * }
 */
export class TaskError extends LoomError {
  override name = "TaskError";
  override readonly code = "ERR_TASK";
  readonly remoteName: string;
  readonly remoteStack: string;
  readonly taskId: string;
  readonly functionName: string;
  constructor(message: string, fields: TaskErrorFields) {
    super(message, { cause: fields.cause });
    this.remoteName = fields.remoteName;
    this.remoteStack = fields.remoteStack;
    this.taskId = fields.taskId;
    this.functionName = fields.functionName;
  }
}

/** The worker died (its exit code, or the uncaught error, is in the message and `cause`) and retries ran out. */
export class WorkerCrashedError extends LoomError {
  override name = "WorkerCrashedError";
  override readonly code = "ERR_WORKER_CRASHED";
}
/** The node running the task or hosting the actor died, and its retries or restarts ran out. */
export class NodeDiedError extends WorkerCrashedError {
  override name = "NodeDiedError";
  override readonly code = "ERR_NODE_DIED" as "ERR_WORKER_CRASHED";
}
export class ActorDiedError extends LoomError {
  override name = "ActorDiedError";
  override readonly code = "ERR_ACTOR_DIED";
}
export class ObjectLostError extends LoomError {
  override name = "ObjectLostError";
  override readonly code = "ERR_OBJECT_LOST";
}
export class ReconstructionError extends LoomError {
  override name = "ReconstructionError";
  override readonly code = "ERR_RECONSTRUCTION";
}
export class GetTimeoutError extends LoomError {
  override name = "GetTimeoutError";
  override readonly code = "ERR_GET_TIMEOUT";
}
export class SerializationError extends LoomError {
  override name = "SerializationError";
  override readonly code = "ERR_SERIALIZATION";
  /** Where in the value the problem is, e.g. `args[1].cb`. */
  readonly path: string;
  constructor(message: string, path: string) {
    super(message);
    this.path = path;
  }
}
export class TaskCancelledError extends LoomError {
  override name = "TaskCancelledError";
  override readonly code = "ERR_TASK_CANCELLED";
}
export class ObjectStoreFullError extends LoomError {
  override name = "ObjectStoreFullError";
  override readonly code = "ERR_OBJECT_STORE_FULL";
}
/** The task (or actor call) ran longer than its timeoutMs (SPEC "Timeouts"). */
export class TaskTimeoutError extends LoomError {
  override name = "TaskTimeoutError";
  override readonly code = "ERR_TASK_TIMEOUT";
  readonly taskId: string;
  readonly functionName: string;
  readonly timeoutMs: number;
  constructor(message: string, fields?: { taskId: string; functionName: string; timeoutMs: number }) {
    super(message);
    this.taskId = fields?.taskId ?? "";
    this.functionName = fields?.functionName ?? "";
    this.timeoutMs = fields?.timeoutMs ?? 0;
  }
}

/**
 * `checkImmutable` found a stored object changed after it was stored: something wrote into a value `get`
 * returned (a view on the stored object). Names the object, what made it, and where it was read.
 * @example
 * const w = await rt.get(weights);
 * w[0] = 1;                      // a bug: w is a view on the stored object
 * await rt.get(weights);         // with checkImmutable: rejects with ObjectMutatedError
 */
export class ObjectMutatedError extends LoomError {
  override name = "ObjectMutatedError";
  override readonly code = "ERR_OBJECT_MUTATED";
  /** The object's id. */
  readonly objectId: number;
  /** The task (or put) that made it. */
  readonly madeBy: string;
  /** Where it was read (the driver's get call sites, the tasks that took it as an argument), newest last. */
  readonly readAt: string[];
  constructor(message: string, fields?: { objectId: number; madeBy: string; readAt: string[] }) {
    super(message);
    this.objectId = fields?.objectId ?? -1;
    this.madeBy = fields?.madeBy ?? "";
    this.readAt = fields?.readAt ?? [];
  }
}

/** The shape an error takes between threads and inside stored objects. */
export interface WireError {
  code: string;
  name: string;
  message: string;
  stack: string;
  taskId?: string;
  functionName?: string;
  remoteName?: string;
  remoteStack?: string;
  path?: string;
  timeoutMs?: number;
  /** The error's cause (for a TaskError, the thrown value): an error description, or the value itself. */
  cause?: unknown;
}

/** An Error as it crosses threads: plain data, so it survives any encoding. */
interface ErrorDescription {
  [DESCRIBED]: true;
  className: string;
  name: string;
  message: string;
  stack: string;
  /** Own enumerable fields (`balance`), each cloneable or shown as a bounded inspect string. */
  fields: Record<string, unknown>;
  hasCause: boolean;
  cause?: unknown;
}

const DESCRIBED = "__loomError";
/** On an error rebuilt in a thread that does not know its class: that class's name, for the next crossing. */
const CLASS_NAME = Symbol("loom.className");
/** Deeper cause chains are cut here (a chain can be cyclic). */
const MAX_CAUSE_DEPTH = 8;
/** Thrown non-Errors are shown in messages through util.inspect, bounded so a huge value cannot flood a log. */
const INSPECT_CHARS = 500;

function isError(value: unknown): value is Error {
  return value instanceof Error || Object.prototype.toString.call(value) === "[object Error]";
}

/** A value as error messages show it: bounded util.inspect, on one line. */
export function showThrown(value: unknown): string {
  const text = inspect(value, { depth: 2, maxArrayLength: 10, maxStringLength: 200, breakLength: Infinity });
  return text.length > INSPECT_CHARS ? `${text.slice(0, INSPECT_CHARS)}…` : text;
}

function cloneable(value: unknown): unknown {
  try {
    structuredClone(value);
    return value;
  } catch {
    return showThrown(value);
  }
}

function describe(value: unknown, depth = 0): unknown {
  if (!isError(value)) return cloneable(value);
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === "message" || key === "stack" || key === "cause" || key === "name") continue;
    fields[key] = cloneable((value as unknown as Record<string, unknown>)[key]);
  }
  const hasCause = "cause" in value && depth < MAX_CAUSE_DEPTH;
  const description: ErrorDescription = {
    [DESCRIBED]: true,
    className: (value as unknown as Record<symbol, string>)[CLASS_NAME] ?? (typeof value.constructor === "function" ? value.constructor.name : "Error"),
    name: String(value.name),
    message: String(value.message),
    stack: String(value.stack ?? ""),
    fields,
    hasCause,
  };
  if (hasCause) description.cause = describe(value.cause, depth + 1);
  return description;
}

function isDescription(value: unknown): value is ErrorDescription {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[DESCRIBED] === true;
}

/** Error classes this thread can rebuild, by class name; a name two different classes share is ambiguous. */
const knownClasses = new Map<string, (new (...args: any[]) => Error) | null>();
for (const cls of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]) {
  knownClasses.set(cls.name, cls);
}
// Loom's own classes too: a cause chain may hold one (a ReconstructionError's ObjectLostError).
for (const cls of [LoomError, TaskError, WorkerCrashedError, NodeDiedError, ActorDiedError, ObjectLostError, ReconstructionError, GetTimeoutError,
  SerializationError, TaskCancelledError, ObjectStoreFullError, TaskTimeoutError, ObjectMutatedError]) {
  knownClasses.set(cls.name, cls as unknown as new (...args: any[]) => Error);
}

/** Registers an Error subclass exported by a module loaded with `rt.module`, so task errors of it are rebuilt as it. */
export function registerErrorClass(cls: new (...args: any[]) => Error): void {
  const known = knownClasses.get(cls.name);
  if (known === undefined) knownClasses.set(cls.name, cls);
  else if (known !== cls) knownClasses.set(cls.name, null);
}

export function isErrorClass(value: unknown): value is new (...args: any[]) => Error {
  return typeof value === "function" && (value === Error || value.prototype instanceof Error);
}

function knownClass(name: string): (new (...args: any[]) => Error) | undefined {
  return knownClasses.get(name) ?? undefined;
}

/** Makes an instance of `cls` without running its constructor (which may need arguments or have effects). */
function bareInstance(cls: new (...args: any[]) => Error, message: string): Error {
  return Reflect.construct(Error, [message], cls) as Error;
}

function setHidden(target: object, key: string | symbol, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}

function rebuild(value: unknown): unknown {
  if (!isDescription(value)) return value;
  const cls = knownClass(value.className);
  const error = bareInstance(cls ?? Error, value.message);
  if (!cls) setHidden(error, CLASS_NAME, value.className);
  if (error.name !== value.name) setHidden(error, "name", value.name);
  setHidden(error, "stack", value.stack);
  Object.assign(error, value.fields);
  if (value.hasCause) setHidden(error, "cause", rebuild(value.cause));
  return error;
}

// ---- stacks: the remote frames, then the caller's ----

/**
 * Where Loom's own frames come from, as URLs and paths: this directory, and when it is the compiled dist/engine,
 * the engine's sources too (stacks name those where source maps are on, as under tsx).
 */
const ENGINE_DIRS = ((): string[] => {
  const here = fileURLToPath(new URL("./", import.meta.url));
  const dirs = [here];
  const dist = here.lastIndexOf(`${sep}dist${sep}engine${sep}`);
  if (dist >= 0) dirs.push(`${here.slice(0, dist)}${sep}engine${sep}`);
  return dirs.flatMap((dir) => [dir, pathToFileURL(dir).href]);
})();
const FRAMES_ADDED = Symbol("loom.callerFrames");

function isEngineFrame(line: string): boolean {
  return ENGINE_DIRS.some((dir) => line.includes(dir)) && !/test-fixtures|\.test\./.test(line);
}

/** Frames of user code: not Loom's own and not Node's internals. */
function userFrames(stack: string): string[] {
  return stack.split("\n").filter((line) => /^\s+at /.test(line) && !isEngineFrame(line) && !/[( ]node:/.test(line));
}

/** Where user code called into Loom from, for messages: its first frame outside the engine. */
export function userStack(): string {
  const first = userFrames(new Error().stack ?? "")[0];
  return first ? `get ${first.trim()}` : "get in the driver (after an await)";
}

/**
 * Adds the frames of the code that awaited `get` below an error's remote frames. Called where the error reaches
 * that code: V8 keeps the awaiting async functions in a stack taken there.
 */
export function addCallerFrames(error: unknown): void {
  if (!(error instanceof LoomError) || (error as unknown as Record<symbol, unknown>)[FRAMES_ADDED]) return;
  const here = userFrames(new Error().stack ?? "");
  if (here.length === 0) return;
  setHidden(error, FRAMES_ADDED, true);
  error.stack = `${error.stack ?? `${error.name}: ${error.message}`}\n${here.join("\n")}`;
}

/** Awaits `p`; a rejection gets the frames of whoever awaits this (see addCallerFrames). */
export async function withCallerFrames<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (error) {
    addCallerFrames(error);
    throw error;
  }
}

/**
 * Formats an error's stack now, before the engine keeps the error past the call that made it. Until its stack is
 * first read, V8 holds the frames the error was made in, with their functions, and so every variable those
 * functions' closures capture: an error made inside a user's `rt.cancel(ref)` and kept on the task's row pinned
 * the caller's refs, which kept the row itself (their lineage) for ever.
 */
export function releaseCallSites<E extends Error>(error: E): E {
  void error.stack;
  return error;
}

// ---- the codec ----

export function toWire(error: unknown): WireError {
  if (error instanceof TaskTimeoutError) {
    return {
      code: error.code, name: error.name, message: error.message, stack: error.stack ?? "",
      taskId: error.taskId, functionName: error.functionName, timeoutMs: error.timeoutMs,
    };
  }
  if (error instanceof TaskError) {
    return {
      code: error.code, name: error.name, message: error.message, stack: error.stack ?? "",
      taskId: error.taskId, functionName: error.functionName, remoteName: error.remoteName,
      remoteStack: error.remoteStack, cause: describe(error.cause),
    };
  }
  if (error instanceof LoomError) {
    return {
      code: error.code, name: error.name, message: error.message, stack: error.stack ?? "",
      path: error instanceof SerializationError ? error.path : undefined,
      cause: "cause" in error ? describe(error.cause) : undefined,
    };
  }
  if (isError(error)) {
    return { code: "ERR_REMOTE", name: error.name, message: error.message, stack: error.stack ?? "", cause: describe(error) };
  }
  return { code: "ERR_REMOTE", name: "Error", message: showThrown(error), stack: "", cause: cloneable(error) };
}

/** A user's thrown value, wrapped as the TaskError its caller sees. */
export function taskErrorFrom(thrown: unknown, taskId: string, functionName: string): WireError {
  if (thrown instanceof LoomError) return toWire(thrown);
  const error = isError(thrown);
  const remoteName = error ? String(thrown.name) : typeof thrown === "object" && thrown !== null ? "a non-Error object" : `a ${typeof thrown}`;
  const what = error ? `${remoteName}: ${String(thrown.message)}` : showThrown(thrown);
  return {
    code: "ERR_TASK", name: "TaskError",
    message: `Task ${functionName} (${taskId}) threw ${what}`,
    stack: "", taskId, functionName, remoteName, remoteStack: error ? String(thrown.stack ?? "") : "",
    cause: describe(thrown),
  };
}

const byCode: Record<string, new (message: string, options?: { cause?: unknown }) => LoomError> = {
  ERR_WORKER_CRASHED: WorkerCrashedError,
  ERR_NODE_DIED: NodeDiedError,
  ERR_ACTOR_DIED: ActorDiedError,
  ERR_OBJECT_LOST: ObjectLostError,
  ERR_RECONSTRUCTION: ReconstructionError,
  ERR_GET_TIMEOUT: GetTimeoutError,
  ERR_TASK_CANCELLED: TaskCancelledError,
  ERR_OBJECT_STORE_FULL: ObjectStoreFullError,
  ERR_LOOM: LoomError,
};

/**
 * A TaskError that is also an instance of the thrown class: that class's prototype chain, the thrown error's
 * own fields, and TaskError's fields over them (so `code` stays ERR_TASK; the thrown one is on `cause`).
 */
function taskErrorAs(cls: new (...args: any[]) => Error, message: string, fields: ConstructorParameters<typeof TaskError>[1]): TaskError {
  const error = bareInstance(cls, message) as TaskError;
  const cause = fields.cause;
  if (isError(cause)) Object.assign(error, cause);
  for (const [key, value] of Object.entries({ name: "TaskError", code: "ERR_TASK", ...fields })) {
    if (key === "cause" || key === "name") setHidden(error, key, value);
    else Object.defineProperty(error, key, { value, writable: key !== "code", configurable: true, enumerable: true });
  }
  setHidden(error, LOOM_CLASS, TaskError);
  return error;
}

/** Rebuilds the error class named by a wire error's code (and a task's thrown class, where known) in this thread. */
export function fromWire(wire: WireError): LoomError {
  const cause = rebuild(wire.cause);
  let error: LoomError;
  if (wire.code === "ERR_TASK" || wire.code === "ERR_REMOTE") {
    const task = wire.code === "ERR_TASK";
    const fields = {
      remoteName: (task ? wire.remoteName : wire.name) ?? "Error", remoteStack: (task ? wire.remoteStack : wire.stack) ?? "",
      taskId: wire.taskId ?? "", functionName: wire.functionName ?? "", cause,
    };
    const cls = isError(cause) && cause.constructor !== Error && knownClass(cause.constructor.name) === cause.constructor
      ? cause.constructor as new (...args: any[]) => Error : undefined;
    error = cls ? taskErrorAs(cls, wire.message, fields) : new TaskError(wire.message, fields);
    const remote = userFrames(fields.remoteStack);
    const local = userFrames(new Error().stack ?? "");
    if (local.length > 0) setHidden(error, FRAMES_ADDED, true);
    error.stack = [`${error.name}: ${error.message}`, ...remote, ...local].join("\n");
    return error;
  }
  if (wire.code === "ERR_SERIALIZATION") {
    error = new SerializationError(wire.message, wire.path ?? "");
  } else if (wire.code === "ERR_TASK_TIMEOUT") {
    error = new TaskTimeoutError(wire.message, { taskId: wire.taskId ?? "", functionName: wire.functionName ?? "", timeoutMs: wire.timeoutMs ?? 0 });
  } else {
    const Ctor = byCode[wire.code] ?? LoomError;
    error = wire.cause === undefined ? new Ctor(wire.message) : new Ctor(wire.message, { cause });
  }
  if (wire.stack) error.stack = `${error.name}: ${error.message}\n    [remote] ${wire.stack.split("\n").slice(1).join("\n")}`;
  return error;
}
