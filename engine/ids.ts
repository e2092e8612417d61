// Ids: branded numbers, deterministic from their parent. A task id derives from its parent's id and its
// submission index, so a re-executed parent submits children with the same ids and finished ones are reused.
// Object ids are task id * 64 + return index. Raw numbers appear only at the WebAssembly boundary (lo/hi).

export type TaskId = number & { readonly __brand: "TaskId" };
export type ObjectId = number & { readonly __brand: "ObjectId" };
export type ActorId = number & { readonly __brand: "ActorId" };
export type WorkerId = number & { readonly __brand: "WorkerId" };

/** Returns per task, so return index 0..62; index 63 counts an actor's handles (actorHandleObjectId). */
export const MAX_RETURNS = 63;
export const RETURN_SLOTS = 64;
/** Ids of nested tasks live above this bit; the driver's own children count up from 1 below it. */
const NESTED_BASE = 2 ** 45;
const NESTED_SPAN = 2 ** 45;
/** The driver is the root task: its children get sequential ids. */
export const DRIVER_TASK_ID = 0 as TaskId;

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The id of the `index`-th child (task, put or actor) submitted by run `run` of task `parent`. A retry is a new
 * run, so its children are new tasks; a rebuild repeats the run that finished, so it finds its children again.
 */
export function childTaskId(parent: TaskId, index: number, run = 0): TaskId {
  if (parent === DRIVER_TASK_ID) {
    if (index + 1 >= NESTED_BASE) throw new RangeError("driver task ids exhausted");
    return (index + 1) as TaskId;
  }
  const lo = parent % 2 ** 32;
  const hi = Math.floor(parent / 2 ** 32);
  const a = mix32(lo ^ mix32(hi + 0x9e3779b9) ^ mix32(index * 0x27d4eb2d + 1) ^ (run === 0 ? 0 : mix32(run * 0x61c88647 + 0x5bd1e995)));
  const b = mix32(a ^ mix32(index + 0x165667b1) ^ hi) % 2 ** 13;
  return (NESTED_BASE + (b * 2 ** 32 + a) % NESTED_SPAN) as TaskId;
}

export function objectIdOf(task: TaskId, returnIndex: number): ObjectId {
  return (task * RETURN_SLOTS + returnIndex) as ObjectId;
}
/** Yields of a streaming generator are numbered above every child index a task could use. */
const STREAM_ITEM_BASE = 2 ** 31;
/**
 * The object of a streaming generator's `index`-th yield. The same for every run of the task, so a retried
 * generator's yields land on the objects its earlier run already sealed, and the consumer sees each index once.
 */
export function streamItemId(task: TaskId, index: number): ObjectId {
  return objectIdOf(childTaskId(task, STREAM_ITEM_BASE + index), 0);
}
/**
 * Return index MAX_RETURNS (63) of an actor's creation task names no stored object: its row in the object table
 * counts the actor's handles wherever they are (the driver's, workers', nested in task arguments and stored
 * values), as Ray counts an actor's handles through its creation object. When the count ends, so does an
 * unnamed actor (ReferenceCounter.decRef).
 */
export function actorHandleObjectId(actor: ActorId): ObjectId {
  return objectIdOf(actor as unknown as TaskId, MAX_RETURNS);
}
/** Where the actors named by handleCountActor's hash start: above every task id (driver children and nested). */
const OWNED_HANDLE_BASE = NESTED_BASE + NESTED_SPAN;
/**
 * The actor id whose handle row (actorHandleObjectId) counts handles of the actor `desc` names. Without an owner
 * (a standalone runtime) it is the actor's id. In a cluster, ids minted by different processes collide (every
 * driver's first child is task 1), so the row is keyed by the owner too: a hash of the owner's node id and the
 * actor id into 46 bits above every task id, the same in every thread of every process.
 */
export function handleCountActor(desc: { actorId: ActorId; owner?: { nodeId: string } }): ActorId {
  if (!desc.owner) return desc.actorId;
  const text = `${desc.owner.nodeId}/${desc.actorId}`;
  let a = 0x811c9dc5, b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x85ebca6b);
  }
  const lo = mix32(a), hi = mix32(b ^ lo) % 2 ** 14;
  return (OWNED_HANDLE_BASE + hi * 2 ** 32 + lo) as ActorId;
}
export function isActorHandleObject(id: ObjectId): boolean {
  return id % RETURN_SLOTS === MAX_RETURNS;
}
export function actorOfHandleObject(id: ObjectId): ActorId {
  return Math.floor(id / RETURN_SLOTS) as ActorId;
}
export function taskIdOfObject(object: ObjectId): TaskId {
  return Math.floor(object / RETURN_SLOTS) as TaskId;
}
export function returnIndexOf(object: ObjectId): number {
  return object % RETURN_SLOTS;
}
export function idLo(id: number): number {
  return id % 2 ** 32 | 0;
}
export function idHi(id: number): number {
  return Math.floor(id / 2 ** 32) | 0;
}
export function formatTaskId(id: TaskId): string {
  return `t${id.toString(16)}`;
}
export function formatObjectId(id: ObjectId): string {
  return `o${taskIdOfObject(id).toString(16)}.${returnIndexOf(id)}`;
}
