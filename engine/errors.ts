// The error tree: every error Loom raises is a LoomError with a literal `name` and a stable `code`.
// The code is the identity that survives crossing a thread: the error codec rebuilds the class from it.

export class LoomError extends Error {
  override name = "LoomError";
  readonly code: string = "ERR_LOOM";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface TaskErrorFields {
  remoteName: string;
  remoteStack: string;
  taskId: string;
  functionName: string;
  cause: unknown;
}

/** The remote function threw. Dependents fail with the same error without running. */
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

export class WorkerCrashedError extends LoomError {
  override name = "WorkerCrashedError";
  override readonly code = "ERR_WORKER_CRASHED";
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
/** The task (or actor call) ran longer than its timeoutMs. */
export class TaskTimeoutError extends LoomError {
  override name = "TaskTimeoutError";
  override readonly code = "ERR_TASK_TIMEOUT";
  readonly taskId: string;
  readonly functionName: string;
  readonly timeoutMs: number;
  constructor(message: string, fields: { taskId: string; functionName: string; timeoutMs: number }) {
    super(message);
    this.taskId = fields.taskId;
    this.functionName = fields.functionName;
    this.timeoutMs = fields.timeoutMs;
  }
}
export class ObjectStoreFullError extends LoomError {
  override name = "ObjectStoreFullError";
  override readonly code = "ERR_OBJECT_STORE_FULL";
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
  /** The original thrown value, structured-cloned when possible. */
  cause?: unknown;
}

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
      remoteStack: error.remoteStack, cause: cloneableCause(error.cause),
    };
  }
  if (error instanceof LoomError) {
    return {
      code: error.code, name: error.name, message: error.message, stack: error.stack ?? "",
      path: error instanceof SerializationError ? error.path : undefined,
      // A Loom error's cause is what stopped it (a ReconstructionError's ObjectLostError): it crosses as one too.
      cause: error.cause === undefined ? undefined : error.cause instanceof Error ? toWire(error.cause) : cloneableCause(error.cause),
    };
  }
  if (error instanceof Error) {
    return { code: "ERR_REMOTE", name: error.name, message: error.message, stack: error.stack ?? "", cause: cloneableCause(error) };
  }
  return { code: "ERR_REMOTE", name: "Error", message: String(error), stack: "", cause: cloneableCause(error) };
}

function cloneableCause(value: unknown): unknown {
  try {
    structuredClone(value);
    return value;
  } catch {
    return value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : String(value);
  }
}

/** A user's thrown value, wrapped as the TaskError its caller sees. */
export function taskErrorFrom(thrown: unknown, taskId: string, functionName: string): WireError {
  if (thrown instanceof LoomError) return toWire(thrown);
  const remote = thrown instanceof Error ? thrown : new Error(String(thrown));
  return {
    code: "ERR_TASK", name: "TaskError",
    message: `Task ${functionName} (${taskId}) threw ${remote.name}: ${remote.message}`,
    stack: "", taskId, functionName, remoteName: remote.name, remoteStack: remote.stack ?? "",
    cause: cloneableCause(thrown),
  };
}

const byCode: Record<string, new (message: string, options?: { cause?: unknown }) => LoomError> = {
  ERR_WORKER_CRASHED: WorkerCrashedError,
  ERR_ACTOR_DIED: ActorDiedError,
  ERR_OBJECT_LOST: ObjectLostError,
  ERR_RECONSTRUCTION: ReconstructionError,
  ERR_GET_TIMEOUT: GetTimeoutError,
  ERR_TASK_CANCELLED: TaskCancelledError,
  ERR_OBJECT_STORE_FULL: ObjectStoreFullError,
  ERR_LOOM: LoomError,
};

/** Rebuilds the error class named by a wire error's code, in the current thread. */
export function fromWire(wire: WireError): LoomError {
  let error: LoomError;
  if (wire.code === "ERR_TASK") {
    error = new TaskError(wire.message, {
      remoteName: wire.remoteName ?? "Error", remoteStack: wire.remoteStack ?? "",
      taskId: wire.taskId ?? "", functionName: wire.functionName ?? "", cause: wire.cause,
    });
  } else if (wire.code === "ERR_TASK_TIMEOUT") {
    error = new TaskTimeoutError(wire.message, { taskId: wire.taskId ?? "", functionName: wire.functionName ?? "", timeoutMs: wire.timeoutMs ?? 0 });
  } else if (wire.code === "ERR_SERIALIZATION") {
    error = new SerializationError(wire.message, wire.path ?? "");
  } else if (wire.code === "ERR_REMOTE") {
    error = new TaskError(wire.message, {
      remoteName: wire.name, remoteStack: wire.stack, taskId: "", functionName: "", cause: wire.cause,
    });
  } else {
    const Ctor = byCode[wire.code] ?? LoomError;
    error = new Ctor(wire.message, wire.cause === undefined ? undefined : { cause: isWireError(wire.cause) ? fromWire(wire.cause) : wire.cause });
  }
  if (wire.stack) error.stack = `${error.name}: ${error.message}\n    [remote] ${wire.stack.split("\n").slice(1).join("\n")}`;
  return error;
}

function isWireError(value: unknown): value is WireError {
  return typeof value === "object" && value !== null && typeof (value as WireError).code === "string" &&
    typeof (value as WireError).message === "string" && typeof (value as WireError).name === "string";
}
