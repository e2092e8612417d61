// The driver's own tasks, from submission to cancellation: a task, an actor or an actor call made in the driver
// (a child of DRIVER_TASK_ID) is encoded, filed with the task manager and dispatched; a cancel or a withdrawal
// (a node handing back work it never started) finds the task behind a ref or generator and ends it. The
// facade (runtime.ts) checks the arguments and that the runtime is open before calling these.
import { TaskCancelledError } from "../errors.js";
import { childTaskId, formatTaskId, handleCountActor, DRIVER_TASK_ID } from "../ids.js";
import type { ActorHandleDescriptor, ActorOwner, ObjectRef } from "../refs.js";
import { makeActorHandle, type ActorHandle, type FunctionDescriptor } from "../remote.js";
import { resolveTaskOptions, DEFAULT_RESOURCES, type TaskOptions, type ActorOptions } from "../options.js";
import { isObjectRefGenerator, type ObjectRefGenerator } from "../streaming/object-ref-generator.js";
import type { TaskEntry } from "../tasks/task-entry.js";
import { merged } from "../merged.js";
import type { DriverContext } from "./driver-context.js";

/** What `.remote()` returns: the task's return refs, or a streaming generator's ObjectRefGenerator. */
function returnRefsOrStream(d: DriverContext, entry: TaskEntry): ObjectRef | ObjectRef[] | ObjectRefGenerator {
  return entry.options.streaming === undefined ? d.tasks.returnRefs(entry) : d.streams.open(entry.id, d.runtime);
}

export function submitDriverTask(d: DriverContext, fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[] | ObjectRefGenerator {
  const resolved = resolveTaskOptions(options);
  const taskId = childTaskId(DRIVER_TASK_ID, d.tasks.driverChildren++);
  if (resolved.resources !== DEFAULT_RESOURCES && !d.cluster) d.resources.noteIfInfeasible(resolved.resources, taskId, resolved.name ?? fn.name);
  const { payload, deps, nested, sharedKey } = d.args.encodeArgs(args);
  const entry = d.tasks.newTask(taskId, DRIVER_TASK_ID, "task", d.functions.functionId(fn), resolved.name ?? fn.name, payload, deps, nested, resolved);
  // Set only when there is one: a property added to every entry after its literal cost a backing store each.
  if (sharedKey !== undefined) entry.sharedKey = sharedKey;
  const refs = returnRefsOrStream(d, entry);
  d.dispatcher.dispatch(entry);
  return refs;
}

export function createDriverActor(d: DriverContext, cls: FunctionDescriptor, methods: string[], args: unknown[], options: ActorOptions & TaskOptions): ActorHandle {
  const taskId = childTaskId(DRIVER_TASK_ID, d.tasks.driverChildren++);
  const { payload, deps, nested, sharedKey } = d.args.encodeArgs(args);
  const actor = d.actors.createActorEntry(taskId, DRIVER_TASK_ID, cls, methods, payload, deps, nested, options);
  actor.create.sharedKey = sharedKey;
  const descriptor = d.actors.descriptorOf(actor);
  return d.refs.trackHandle(makeActorHandle(d.runtime, descriptor), handleCountActor(descriptor));
}

/** A call on an actor: this process's own, or (`foreign`) one another process of the cluster owns. */
export function submitDriverActorCall(
  d: DriverContext, desc: ActorHandleDescriptor, method: string, args: unknown[], options: TaskOptions, foreign: boolean,
): ObjectRef | ObjectRef[] | ObjectRefGenerator {
  const actor = foreign ? undefined : d.actors.get(desc.actorId);
  const taskId = childTaskId(DRIVER_TASK_ID, d.tasks.driverChildren++);
  const { payload, deps, nested, sharedKey } = d.args.encodeArgs(args);
  const resolved = resolveTaskOptions(merged(options, { maxRetries: options.maxRetries ?? actor?.options.maxTaskRetries ?? 0 }));
  const entry = d.tasks.newTask(taskId, DRIVER_TASK_ID, "actor-method", -1, `${actor?.className ?? desc.className}.${method}`, payload, deps, nested, resolved);
  if (sharedKey !== undefined) entry.sharedKey = sharedKey;
  entry.actorId = desc.actorId;
  entry.method = method;
  if (foreign) d.cluster!.foreign.fileCall(entry, desc as ActorHandleDescriptor & { owner: ActorOwner }, options.maxRetries);
  const refs = returnRefsOrStream(d, entry);
  d.dispatcher.dispatch(entry);
  return refs;
}

/** Cancels the task behind a checked ref or generator of this runtime (see Runtime.cancel). */
export function cancelDriverTask(d: DriverContext, ref: ObjectRef | ObjectRefGenerator, force: boolean): void {
  if (isObjectRefGenerator(ref)) {
    d.tasks.cancelTask(ref.taskId, force);
    const task = d.tasks.get(ref.taskId);
    if (task?.state === "cancelled") d.streams.cancelled(ref.taskId, new TaskCancelledError(`task ${task.name} (${formatTaskId(task.id)}) was cancelled`));
    return;
  }
  d.tasks.cancelTask(d.streams.producerOf(ref.id), force);
}

/** Cancels the task behind `ref` only if no worker has taken it yet (see Runtime.withdraw). */
export function withdrawDriverTask(d: DriverContext, ref: ObjectRef | ObjectRefGenerator): boolean {
  const taskId = isObjectRefGenerator(ref) ? ref.taskId : d.streams.producerOf(ref.id);
  if (!d.tasks.cancelTask(taskId, false, true)) return false;
  const task = d.tasks.get(taskId);
  if (isObjectRefGenerator(ref) && task) d.streams.cancelled(taskId, new TaskCancelledError(`task ${task.name} (${formatTaskId(task.id)}) was withdrawn`));
  return true;
}
