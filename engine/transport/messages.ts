// Control messages between the driver and its workers, typed once. Tasks themselves never travel this way:
// they go through the core's queues in shared memory; these carry what is rare or needs a SharedArrayBuffer.
import type { ObjectId, TaskId, ActorId } from "../ids.js";
import type { FunctionDescriptor } from "../remote.js";
import type { TaskOptions, ActorOptions } from "../options.js";
import type { WireError } from "../errors.js";
import type { ActorHandleDescriptor, ActorOwner } from "../refs.js";

/** A task submitted from inside a worker; the driver registers it exactly as a driver submission. */
export interface WireSubmission {
  taskId: TaskId;
  parentId: TaskId;
  fn: FunctionDescriptor;
  /** Encoded argument list (value codec bytes, ready for the arena). */
  payload: Uint8Array;
  deps: ObjectId[];
  /** Refs nested inside the arguments: the driver holds them while the task can still read them. */
  nested: ObjectId[];
  options: TaskOptions;
  /** `owner`: the handle's (on a cluster), which may be another process's. */
  actorCall?: { actorId: ActorId; method: string; owner?: ActorOwner; className?: string };
  actorCreate?: { actorId: ActorId; methods: string[]; options: ActorOptions & TaskOptions };
  /** SharedArrayBuffers the arguments share with the task, named in the payload under the key `taskId`. */
  shared?: SharedArrayBuffer[];
}

/** A result written by a worker, for the driver to seal (see TaskCompleter.beginSeals). */
export interface SealRecord {
  id: ObjectId;
  location: number;
  size: number;
  flags: number;
}

export type DriverToWorker =
  | { t: "fn"; id: number; fn: FunctionDescriptor }
  | { t: "object"; id: ObjectId; segment?: SharedArrayBuffer; error?: WireError }
  /** The resources task `taskId` lent while its arguments were rebuilt are its own again (see "args-lost"). */
  | { t: "resume"; taskId: TaskId }
  /** `timeoutMs`: aborted because it ran longer than that (else cancelled). */
  | { t: "abort"; taskId: TaskId; timeoutMs?: number }
  | { t: "actor-create"; actorId: ActorId; slot: number; fnId: number; checkpoint?: Uint8Array; checkpointSeq: number; checkpointEvery: number; maxConcurrency?: number; segments?: Array<[ObjectId, SharedArrayBuffer]> }
  /** `segments`: those of the call's arguments already sealed, so the thread need not ask for them. */
  | { t: "actor-call"; actorId: ActorId; slot: number; replay: boolean; seq: number; segments?: Array<[ObjectId, SharedArrayBuffer]> }
  | { t: "actor-drop"; actorId: ActorId }
  /** `taken` yields of the streaming generator `taskId` were taken by its consumer (Infinity: go on freely). */
  | { t: "stream-ack"; taskId: TaskId; taken: number }
  | { t: "drop-segments"; ids: ObjectId[] }
  /** SharedArrayBuffers a task's arguments share with it, named by `key` in its payload (see Runtime.encodeArgs). */
  | { t: "shared"; key: number; buffers: SharedArrayBuffer[] }
  | { t: "shared-drop"; key: number }
  /** A named actor was made (descriptor) or died (null): workers keep the names for current().getActor. */
  | { t: "actor-name"; name: string; actor: ActorHandleDescriptor | null }
  /** This process joined a cluster as `owner`: the actors its workers create name it in their handles. */
  | { t: "cluster-identity"; owner: ActorOwner };

export type WorkerToDriver =
  | { t: "ready" }
  /**
   * `checkpoint`: an actor's checkpoint taken after this call, before its result was sealed. `held`: the arena list
   * (WORKER_HELD) that named the seals' blocks in the thread's worker record; the driver frees it.
   */
  | { t: "done"; slot: number; seals?: SealRecord[]; checkpoint?: { actorId: ActorId; seq: number; state: Uint8Array }; held?: number }
  /**
   * Arena memory the thread gives back for the driver to free: `location`, a block it wrote whose seal was lost (or
   * whose object is gone), still named by its worker record; `held`, a held list whose deferred seals it dropped.
   * Freed by the driver, not the thread, so that a thread dying at any point leaves them named somewhere.
   */
  | { t: "drop"; location?: number; held?: number }
  | { t: "submit"; spec: WireSubmission }
  | { t: "put"; id: ObjectId; parentId: TaskId; location: number; size: number; flags: number; segment?: SharedArrayBuffer; sum?: number; refs: ObjectId[] }
  | { t: "segment"; id: ObjectId; segment: SharedArrayBuffer; sum?: number; refs: ObjectId[] }
  | { t: "contains"; id: ObjectId; refs: ObjectId[] }
  | { t: "want"; id: ObjectId }
  /**
   * Run `run` of task `taskId` found a top-level argument lost after it was admitted: it waits for the rebuild,
   * which may need the resources it holds, so it lends them ("args-lost") and asks for them back once its
   * arguments are readable ("args-back"); its function starts at the driver's "resume".
   */
  | { t: "args-lost"; taskId: TaskId; run: number }
  | { t: "args-back"; taskId: TaskId; run: number }
  /** A streaming generator's `index`-th yield, written at location/segment, for the driver to register and seal. */
  | { t: "yield"; taskId: TaskId; index: number; id: ObjectId; location: number; size: number; flags: number; segment?: SharedArrayBuffer; sum?: number; refs: ObjectId[] }
  /** The generator `taskId` pauses until `need` of its yields are taken (generatorBackpressure). */
  | { t: "stream-wait"; taskId: TaskId; need: number }
  /** A ref an actor call decoded, which the actor may keep: held for this thread until a "refs" report drops it. */
  | { t: "borrow"; id: ObjectId }
  /** Objects this thread put and holds no ObjectRef to any more (see WorkerRefCounter.trackRef). */
  | { t: "refs"; drop: ObjectId[] }
  | { t: "cancel"; id: ObjectId; force: boolean }
  | { t: "kill-actor"; actorId: ActorId; noRestart: boolean; owner?: ActorOwner };
