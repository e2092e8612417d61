// The messages of the cluster's wire (wire.ts carries them): one JSON header each, with a binary body where
// bytes travel. Three conversations:
//  - with the head (control): a node or driver registers, beats, asks for the node table, and hears of joins
//    and deaths. The head is never on the path of a task or an object.
//  - with a node (work): a driver asks it to run tasks and host actors; the node pulls their arguments from
//    whoever holds them and answers with the results.
//  - objects: any process that holds objects (nodes, drivers) serves `pull` in chunks.
// A request carries `rid`; its reply is `{ t: "reply", re: rid, ... }`, with `error` (a WireError-shaped
// object, see errors.ts toWire) when it failed.
import type { FunctionDescriptor } from "../remote.js";
import type { Resources } from "../options.js";
import type { ActorHandleDescriptor } from "../refs.js";
import type { NodeSummary } from "../api.js";

/** One node as the head knows it: rt.nodes()'s row (NodeSummary), and what the head needs to judge it. */
export interface NodeInfo extends NodeSummary {
  resources: Resources;
  /** Resources not in use, as the node last reported them. */
  available: Resources;
  /** Bumped each time the head declares the node dead; messages of an older epoch are refused. */
  epoch: number;
  pid: number;
  /** What it runs, as its last beat said (absent before its first beat, and for a node that does not say). */
  load?: NodeLoad;
}

/** A node's work in a heartbeat: counts only, a few numbers whatever it runs (no per-task traffic to the head). */
export interface NodeLoad {
  /** Tasks and actor calls on its runtime waiting for their arguments or a worker. */
  queued: number;
  /** Tasks and actor calls on a worker now. */
  running: number;
  /** Actors alive on it. */
  actors: number;
}

// ---- with the head ----

/**
 * → head. Reply: RegisterReply. With `nodeId` and `epoch`, a live node whose connection dropped takes its row
 * back; a node the head declared dead, or does not know, is refused (a restarted process registers anew).
 */
export interface RegisterRequest {
  t: "register";
  address: string;
  workers: number;
  resources: Resources;
  isDriver: boolean;
  isHead?: boolean;
  pid: number;
  nodeId?: string;
  epoch?: number;
}
export type RegisterReply =
  | { nodeId: string; epoch: number; nodeTimeoutMs: number; nodes: NodeInfo[]; names: NameEntry[] }
  | { refused: string };
/** → head, every nodeTimeoutMs / 5; no reply. The head answers a dead node's beat with Refused and closes. */
export interface Heartbeat { t: "heartbeat"; nodeId: string; epoch: number; available: Resources; load?: NodeLoad }
/** head → a node it will not hear from: declared dead, or an old epoch. The connection closes after it. */
export interface Refused { t: "refused"; reason: string }
/** → head. Reply: { nodes: NodeInfo[] }. */
export interface NodesRequest { t: "nodes" }
/**
 * → head, when a node starts to drain (a graceful stop). Reply: {}. The head tells everyone (NodeDraining): owners
 * of results it holds take them back before it leaves, and nobody places new work there.
 */
export interface DrainingNotice { t: "draining"; nodeId: string }
/** → head, before a node leaves on purpose (drained). Reply: {}. */
export interface LeavingNotice { t: "leaving"; nodeId: string }
/** head → everyone registered. */
export interface NodeAdded { t: "node-added"; node: NodeInfo }
export interface NodeDied { t: "node-died"; nodeId: string; epoch: number; reason: string }
export interface NodeDraining { t: "node-draining"; nodeId: string }

/** A named actor's row at the head: who claimed the name, and what a lookup returns (the handle, where it lives). */
export interface NameEntry {
  name: string;
  /** The node id of the process that claimed it (a driver, or a node creating an actor); its death releases the name. */
  owner: string;
  value: unknown;
}
/** → head, by a registered process (the owner). Reply: { ok: true } or { ok: false, holder: NameEntry }. */
export interface ClaimName { t: "claim-name"; name: string; value: unknown }
/** → head, by the owner. Reply: { released: boolean }. */
export interface ReleaseName { t: "release-name"; name: string }
/** → head. Reply: { entry?: NameEntry }. */
export interface LookupName { t: "lookup-name"; name: string }
/** head → everyone registered, after a claim succeeded: each process keeps the table for getActor. */
export interface NameClaimed { t: "name-claimed"; entry: NameEntry }
/** head → everyone registered, after the owner released a name (a name whose owner died goes with its node-died). */
export interface NameReleased { t: "name-released"; name: string; owner: string }

// ---- with a node ----

/** Where to pull an argument from: the object's key and the address of a process holding it. */
export interface ObjectSource { key: string; from: string; size?: number }

/**
 * → node: run one task. Body: the task's argument payload (arg-codec's encoded list), whose refs name objects by
 * the submitter's ids; `refs` maps each such id (as a string) to where it can be pulled.
 * Reply: { results: ResultInfo[] } with the inline results' bytes concatenated in the body; or { error }.
 */
export interface RunTask {
  t: "run-task";
  /** The submitter's node id and task id, for logs and errors. */
  owner: string;
  taskId: number;
  fn: FunctionDescriptor;
  name: string;
  /** sha256 of the module file as the submitter sees it (module functions), checked by the node. */
  moduleHash?: string;
  options: RemoteTaskOptions;
  refs: Record<string, ObjectSource>;
  /** The submitter's attempt: a streaming generator's yields name it, so those of an older attempt are told apart. */
  attempt?: number;
  /**
   * The submitter knows another node with a free worker: a node with none free hands the task back unstarted
   * (its error's code is SPILLBACK) rather than queue it. A draining node hands every task back (`draining: true`).
   */
  spill?: boolean;
}

/** The code of a run-task's error when the node handed the task back unstarted: place it elsewhere. */
export const SPILLBACK = "ERR_SPILLBACK";

export interface RemoteTaskOptions {
  numReturns: number;
  maxRetries: number;
  retryExceptions: boolean;
  resources: Resources;
  timeoutMs?: number;
  /** A streaming generator: its generatorBackpressure (0: none). Its one return is its end (the count of yields). */
  streaming?: number;
}

/**
 * node → the submitter of a streaming task, on the connection its run-task came by, before the reply: its
 * `index`-th yield, inline in the body (small, holding no refs) or held on the node under `key` until released.
 */
export interface StreamYield { t: "stream-yield"; taskId: number; attempt: number; index: number; flags: number; size: number; key?: string }
/** node → submitter: the generator (with generatorBackpressure) goes on once `need` of its yields are taken. */
export interface StreamWait { t: "stream-wait"; taskId: number; attempt: number; need: number }
/** submitter → node: `taken` yields of the generator were taken by its consumer (-1: go on freely). */
export interface StreamAck { t: "stream-ack"; owner: string; taskId: number; taken: number }

/** One return of a remote task or call: its bytes came inline (in order, in the reply's body) or wait under `key` to be pulled. */
export interface ResultInfo { flags: number; size: number; key?: string }

/** → node: start an actor. Body: the constructor's payload. Reply: {} or { error }. */
export interface CreateActor {
  t: "actor-create";
  owner: string;
  actorKey: string;
  cls: FunctionDescriptor;
  methods: string[];
  moduleHash?: string;
  options: { maxConcurrency?: number; resources: Resources };
  refs: Record<string, ObjectSource>;
}
/** → node: one call, in submission order per actor. Body: its payload. Reply: as RunTask's. */
export interface CallActor {
  t: "actor-call";
  actorKey: string;
  taskId: number;
  method: string;
  options: RemoteTaskOptions;
  refs: Record<string, ObjectSource>;
  /** As RunTask's (a streaming method's yields name it). */
  attempt?: number;
}
/** → node. No reply. */
export interface KillActor { t: "actor-kill"; actorKey: string }
/**
 * → the process that owns an actor (a driver, or a node whose task created it): one call from a process that
 * holds a handle to it (foreign-actors.ts). The owner submits it as a call of its own. `retriesGiven`: the
 * caller named maxRetries (else the actor's maxTaskRetries apply). Body: its payload. Reply: as RunTask's, the
 * results the owner holds kept under `caller/taskId/returnIndex` until the caller releases them.
 */
export interface OwnedActorCall {
  t: "owned-actor-call";
  caller: string;
  actorId: number;
  taskId: number;
  method: string;
  options: RemoteTaskOptions;
  retriesGiven: boolean;
  refs: Record<string, ObjectSource>;
}
/** → the owner: kill one of its actors (noRestart), or crash it (it restarts within its maxRestarts). No reply. */
export interface OwnedActorKill { t: "owned-actor-kill"; actorId: number; noRestart: boolean }
/** → node: its submitter cancelled a task it runs (force: its worker dies). No reply; the task's reply follows. */
export interface CancelTask { t: "cancel"; owner: string; taskId: number; force: boolean }

// ---- objects ----

/** → any holder. Reply: { flags, size, hasRefs } with bytes [offset, offset + length) in the body; or { error }. */
export interface Pull { t: "pull"; key: string; offset: number; length: number }
/** → a holder: drop these objects (the owner has its copy, or nothing needs them). No reply. */
export interface Release { t: "release"; keys: string[] }

/** Bytes a pull asks for at most: objects move in chunks this size. */
export const PULL_CHUNK_BYTES = 4 * 2 ** 20;
/** Results up to this size travel inline with the reply; bigger ones are pulled. */
export const INLINE_RESULT_BYTES = 256 * 1024;

export type { ActorHandleDescriptor };
