// ObjectRef and the brand that recognises refs and actor handles across module copies (a task module may
// import Loom by package name while the worker runs another copy of the same files).
import type { ObjectId, ActorId } from "./ids.js";
import { LoomError } from "./errors.js";

export const REF_BRAND = Symbol.for("loom.ObjectRef");
export const ACTOR_BRAND = Symbol.for("loom.ActorHandle");
/** The runtime an actor handle belongs to (a non-enumerable property of the handle). */
export const ACTOR_OWNER = Symbol("loom.ActorHandle.owner");

/**
 * Every actor handle made in this thread, by any copy of this module (they share it through the global registry
 * of symbols). The brand alone is not proof: `{ ...handle }` copies it, and any object can carry it. Entries live
 * as long as their handle.
 */
const made: WeakSet<object> = ((globalThis as Record<symbol, unknown>)[Symbol.for("loom.madeRefsAndHandles")] ??= new WeakSet()) as WeakSet<object>;

/** Something that can resolve refs and count them: the driver runtime or a worker's runtime. */
export interface RefOwner {
  /** Called once per ObjectRef instance made in this thread; returns what the finalizer needs. */
  trackRef(ref: ObjectRef): void;
}

/**
 * A future: the id of an object that a task will make (or that `put` made). Not thenable, as in Ray: read its
 * value with `rt.get(ref)`, or pass the ref to another task, which then runs once the value exists.
 * @example
 * const ref = m.add.remote(1, 2);       // ObjectRef<number>
 * const next = m.add.remote(ref, 10);   // a data edge: add runs when ref is ready
 * console.log(await rt.get(next));      // 13
 */
export class ObjectRef<T = unknown> {
  /** @internal carries T for inference; never set */
  declare readonly __type?: T;
  /** The object's id (its task's id and return index). */
  readonly id: ObjectId;
  /** @internal recognises refs across copies of Loom (on the prototype: see REF_TOKEN) */
  declare readonly [REF_BRAND]: object;
  /** The runtime (driver or worker) that made it: ids restart in every runtime, so a ref means nothing elsewhere. */
  #owner: RefOwner | undefined;
  /** @internal refs are made by the runtime (`remote`, `put`), never by users. `track`: counted by its owner
   *  (see RefOwner.trackRef); false for refs the caller counts itself. */
  constructor(id: ObjectId, owner?: RefOwner, track = true) {
    this.id = id;
    this.#owner = owner;
    if (track) owner?.trackRef(this);
  }
  /** The runtime that made `ref`; undefined for a ref made without one or by another copy of this module. */
  static ownerOf(ref: ObjectRef): RefOwner | undefined {
    return #owner in ref ? ref.#owner : undefined;
  }
  /**
   * `ObjectRef(<id>)`, for logs.
   * @example console.log(`waiting for ${ref}`);
   */
  toString(): string {
    return `ObjectRef(${this.id})`;
  }
  /**
   * `{ objectRef: <id> }`: a ref in JSON output names its object (it does not turn back into a ref).
   * @example JSON.stringify({ result: ref }); // '{"result":{"objectRef":4096}}'
   */
  toJSON(): { objectRef: number } {
    return { objectRef: this.id };
  }
}

/**
 * Whether a value is an ObjectRef (of any copy of Loom loaded in this thread).
 * @example const value = isObjectRef(x) ? await rt.get(x) : x;
 */
export function isObjectRef(value: unknown): value is ObjectRef {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[REF_BRAND] === REF_TOKEN;
}

/**
 * What ObjectRef.prototype carries under REF_BRAND, one object per thread shared by every copy of this module
 * (through the global registry of symbols), so a ref made by one copy is a ref to another. On the prototype, not
 * the instance: `{ ...ref }` and structured clones do not copy it, and making a ref costs no per-instance mark
 * (a WeakSet entry per ref cost about 1 µs, a seventh of a trivial task's driver time).
 */
const REF_TOKEN: object = ((globalThis as Record<symbol, unknown>)[Symbol.for("loom.refToken")] ??= Object.freeze({})) as object;
Object.defineProperty(ObjectRef.prototype, REF_BRAND, { value: REF_TOKEN, enumerable: false, writable: false });

/** The process of a cluster that created an actor (its owner): its node id, and where it serves calls. */
export interface ActorOwner {
  nodeId: string;
  address: string;
}

/** The serializable part of an actor handle. */
export interface ActorHandleDescriptor {
  /** The id the owner gave it. */
  actorId: ActorId;
  className: string;
  methods: string[];
  /**
   * Set on a cluster: the process that owns the actor. Another process that holds the handle sends its calls
   * there (engine/cluster/foreign-actors.ts); without it (one machine) the actor is this runtime's.
   */
  owner?: ActorOwner;
}

export function isActorHandle(value: unknown): value is { [ACTOR_BRAND]: ActorHandleDescriptor } {
  return typeof value === "object" && value !== null && typeof (value as Record<symbol, unknown>)[ACTOR_BRAND] === "object" &&
    made.has(value);
}

/** Records a handle as one this engine made (see `made`); called once, on the object users hold. */
export function markActorHandle<T extends object>(handle: T): T {
  made.add(handle);
  return handle;
}

/**
 * Throws when `value`, a ref or an actor handle, was made by a runtime other than `owner` (one that was shut
 * down, or a second runtime): its id would name some other object or actor here.
 */
export function checkOwnedBy(owner: object, value: object, path: string): void {
  const maker = isObjectRef(value) ? ObjectRef.ownerOf(value as ObjectRef) : (value as Record<symbol, unknown>)[ACTOR_OWNER];
  if (maker === undefined || maker === owner) return;
  const what = isObjectRef(value) ? `an ObjectRef (${String(value)})` : "an actor handle";
  throw new LoomError(`${path} is ${what} made by another Loom runtime (one that was shut down, or a second one); ` +
    "refs and actor handles belong to the runtime that made them");
}
