// ObjectRef and the brand that recognises refs and actor handles across module copies (a task module may
// import Loom by package name while the worker runs another copy of the same files).
import type { ObjectId, ActorId } from "./ids.js";

export const REF_BRAND = Symbol.for("loom.ObjectRef");
export const ACTOR_BRAND = Symbol.for("loom.ActorHandle");

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
  /** @internal recognises refs across copies of Loom */
  readonly [REF_BRAND] = true;
  /** @internal refs are made by the runtime (`remote`, `put`), never by users. */
  constructor(id: ObjectId, owner?: RefOwner) {
    this.id = id;
    owner?.trackRef(this);
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
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[REF_BRAND] === true;
}

/** The serializable part of an actor handle. */
export interface ActorHandleDescriptor {
  actorId: ActorId;
  className: string;
  methods: string[];
}

export function isActorHandle(value: unknown): value is { [ACTOR_BRAND]: ActorHandleDescriptor } {
  return typeof value === "object" && value !== null && typeof (value as Record<symbol, unknown>)[ACTOR_BRAND] === "object";
}
