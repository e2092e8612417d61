// The driver: owns the core's memory, the workers, the task table (specs, retries, lineage), the object
// table's JS side (reference counts, waiters), the actors and the graph. Submissions are written into the
// core's task table and armed there; workers take them from the ready queue and seal results in shared
// memory; the driver learns of finished tasks through the done queue.
import { StreamTable } from "../streaming/stream-table.js";
import { ObjectRefGenerator, isObjectRefGenerator } from "../streaming/object-ref-generator.js";
import { encodeArgs, PayloadSlab, type EncodedArgs } from "../serialization/arg-codec.js";
import os from "node:os";
import { EventEmitter } from "eventemitter3";
import * as L from "../../core-wasm/shared/layout.js";
import { Core } from "../wasm/core.js";
import { ObjectStore } from "../object-store/object-store.js";
import { encodeValue, writeEncoded, type DecodeHooks, type EncodedValue } from "../serialization/value-codec.js";
import {
  LoomError, ActorDiedError, WorkerCrashedError, TaskCancelledError, ObjectLostError, ReconstructionError, ObjectStoreFullError,
  TaskTimeoutError,
  toWire, fromWire, withCallerFrames, userStack, type WireError,
} from "../errors.js";
import {
  childTaskId, objectIdOf, taskIdOfObject, idLo, idHi, formatTaskId, formatObjectId, DRIVER_TASK_ID, RETURN_SLOTS,
  type ObjectId, type TaskId, type ActorId,
} from "../ids.js";
import { ObjectRef, isObjectRef, isActorHandle, checkOwnedBy, ACTOR_BRAND, type ActorHandleDescriptor, type RefOwner } from "../refs.js";
import {
  RemoteFunction, makeActorHandle, wrapModule, functionKey, type Backend, type FunctionDescriptor, type ActorHandle,
  type ModuleWrappers,
} from "../remote.js";
import {
  checkResources, resolveTaskOptions, DEFAULT_RESOURCES, type TaskOptions, type ActorOptions, type ResolvedTaskOptions, type Resources,
} from "../options.js";
import type { WorkerToDriver, WireSubmission } from "../transport/messages.js";
import { WorkerPool } from "./worker-pool.js";
import { CrashControl, type CrashReport } from "./crash-control.js";
import { TaskTimeouts, type TimeoutHost } from "./task-timeouts.js";
import type { CrashPoint } from "../worker/crash-points.js";
import { IdTable } from "./id-table.js";
import { SpillManager } from "../object-store/spill-manager.js";
import { SegmentPool } from "../object-store/segment-pool.js";
import { setCurrent, clearCurrent } from "../current.js";
import { checkWaitArgs, checkTimeout, checkGetOptions, describeArgument } from "../api-checks.js";
import { withTimeout, waitForReady } from "../wait.js";
import { ImmutabilityChecker } from "../object-store/immutability-checker.js";

/** Options of `init`. */
export interface InitOptions {
  /** Worker threads (default: `os.availableParallelism()`). */
  workers?: number;
  /** Capacity of the shared-memory object store in bytes (default: a quarter of RAM, at most 8 GiB). */
  objectStoreBytes?: number;
  /** Where objects spill when the store is full (default: a temporary directory). */
  spillDir?: string;
  /** Custom resources this node offers, beside `cpu` (which defaults to `workers`). */
  resources?: Record<string, number>;
  /** Serve the live dashboard (engine/dashboard) on 127.0.0.1: true for port 8265, or { port } (0: any free port). */
  dashboard?: boolean | { port?: number };
  /**
   * Detect writes into stored objects through the views `get` returns (a checksum per object held in a
   * segment, compared on reads and at shutdown; see ObjectMutatedError). Default: on when NODE_ENV is "test".
   */
  checkImmutable?: boolean;
}

/** What inspect() returns: plain data, copied out of the driver's tables. */
export interface RuntimeInspection {
  /** ms since 1970 that task start and end times count from. */
  epoch: number;
  workers: Array<{ alive: boolean }>;
  running: Array<{ taskId: string; name: string; worker: number; started: number }>;
  actors: Array<{ actorId: number; className: string; name?: string; state: "pending" | "alive" | "dead"; worker: number; restarts: number; pendingCalls: number }>;
  resources: Resources;
  used: Resources;
  spilledBytes: number;
}

export type TaskKind = "task" | "actor-create" | "actor-method" | "put";
export type EdgeKind = "data" | "control" | "stateful";

export interface GraphNode {
  id: string;
  name: string;
  kind: TaskKind;
  state: string;
  worker?: number;
  start?: number;
  end?: number;
  attempts?: number;
}
export interface GraphEdge { from: string; to: string; kind: EdgeKind }

/**
 * A task's place in the graph, kept per task on the hot path: numbers and shared strings only. The public
 * GraphNode (with its formatted id) is made when graph() is read.
 */
class GraphRecord {
  worker: number | undefined = undefined;
  start: number | undefined = undefined;
  end: number | undefined = undefined;
  attempts: number | undefined;
  constructor(readonly taskId: TaskId, readonly name: string, readonly kind: TaskKind, public state: string, attempts?: number) {
    this.attempts = attempts;
  }
  toNode(): GraphNode {
    const node: GraphNode = { id: formatTaskId(this.taskId), name: this.name, kind: this.kind, state: this.state };
    if (this.worker !== undefined) node.worker = this.worker;
    if (this.start !== undefined) node.start = this.start;
    if (this.end !== undefined) node.end = this.end;
    if (this.attempts !== undefined) node.attempts = this.attempts;
    return node;
  }
}
const EDGE_KINDS: EdgeKind[] = ["data", "control", "stateful"];

interface TaskEntry {
  id: TaskId;
  /**
   * Lineage liveness: live return objects plus retained tasks that consume its returns. The entry (its spec,
   * which a rebuild re-executes) is kept while this is above zero.
   */
  lineageRefs: number;
  /** Producers of its arguments, whose lineage it keeps alive. */
  lineageParents: TaskId[];
  /** Held while this entry's lineage is kept: put() arguments (they cannot be rebuilt) and the results of the
   *  children it submitted from its worker (a re-execution reuses them). */
  heldPuts: ObjectId[];
  /** Objects this task put from its worker: held until it ends. */
  ownedPuts: ObjectId[];
  parentId: TaskId;
  kind: TaskKind;
  fnId: number;
  name: string;
  /** Encoded argument list: kept as lineage while the task's results may be needed. */
  payload: Uint8Array;
  deps: ObjectId[];
  nestedRefs: ObjectId[];
  options: ResolvedTaskOptions;
  slot: number;
  state: "pending" | "running" | "finished" | "failed" | "cancelled";
  /** Retries spent (a rebuild starts a fresh budget). */
  attempts: number;
  /**
   * Which run this is: its children's ids derive from it. A retry is a new run (runs counts those handed out);
   * a rebuild repeats the run that finished, so a finished child is found and reused, not run again.
   */
  run: number;
  runs: number;
  actorId?: ActorId;
  method?: string;
  /** The key of the SharedArrayBuffers its arguments share with it (see encodeArgs). */
  sharedKey?: number;
  /** The timeout watch of its current attempt (see TaskTimeouts); a newer one replaces it. */
  watch?: object;
  /** Its attempt overstayed timeoutMs and will be retried when it ends (retryExceptions). */
  timedOut?: boolean;
  /** Resources held while it runs through admission. */
  admitted: boolean;
  /** Called once when this run settles (see finishTask): rebuilds of yields lost while it ran. */
  afterRun?: Array<() => void>;
  node?: GraphRecord;
  replay?: boolean;
  seq?: number;
}

/** Told when an object is sealed (with its id: one waiter can wait for many objects) or cannot come back. */
interface SealWaiter {
  resolve(id: ObjectId): void;
  reject(error: Error): void;
}

interface ObjectEntry {
  id: ObjectId;
  /** Address of the core's entry; 0 once freed. */
  entry: number;
  refs: number;
  isPut: boolean;
  sealedHere: boolean;
  freeWhenSealed: boolean;
  contains: ObjectId[];
  /** Counted in its creating task's lineageRefs. */
  lineageCounted: boolean;
}

interface ActorEntry {
  id: ActorId;
  fnId: number;
  className: string;
  methods: string[];
  create: TaskEntry;
  options: ActorOptions & TaskOptions;
  worker: number;
  state: "alive" | "dead";
  restarts: number;
  /** Calls since the last checkpoint, in submission order. */
  log: TaskEntry[];
  checkpoint?: { seq: number; state: Uint8Array };
  seq: number;
  name?: string;
  lastCall?: TaskId;
  deathError?: WireError;
  resources: Resources;
  /** A handle of it went into a task's arguments or a stored value: it is never terminated for lost handles. */
  escaped?: boolean;
  /** The driver's handles are all gone: it ends once its pending calls finish (see handleGone). */
  terminateWhenIdle?: boolean;
  /**
   * Its resources did not fit when it was made: neither its constructor nor its calls are sent to a thread
   * until they do (they are held for its whole life, as in Ray), and calls wait in its log meanwhile.
   */
  awaitingResources?: boolean;
}

const NO_SLOT = -1;
const GRAPH_LIMIT = 100_000;
/** How long an evicted object's arena block stays unused before it is freed (see evict). */
const EVICTED_BLOCK_QUARANTINE_MS = 1_000;
/** How many forgotten actors' death errors are kept for calls through their old handles. */
const DEAD_ACTORS_KEPT = 4096;
/** A shared empty list for fields that are usually empty (saves an allocation per task); frozen, so a push throws. */
const NONE: never[] = Object.freeze([]) as unknown as never[];
const PARK_TIMEOUT_MS = 20;
/** How long a latency-mode get polls shared memory before it waits (see pollSealed). */
const POLL_US = 150;
const POLL_MAX_MISSES = 4;
const POLL_PROBE_EVERY = 16;
const SAFETY_POLL_MS = 25;
/** A slot's payload: [header bytes u32][pad], the JSON header, then the encoded argument list (8-aligned). */
export const PAYLOAD_PREFIX = 8;


export class Runtime implements Backend, RefOwner {
  readonly events = new EventEmitter();
  readonly faults: Faults;
  readonly workerCount: number;
  readonly objectStoreBytes: number;
  private readonly core: Core;
  private readonly store: ObjectStore;
  private readonly spill: SpillManager;
  private readonly pool: WorkerPool;
  private readonly hooks: DecodeHooks;
  private readonly tasks = new IdTable<TaskEntry>();
  /** A task's first return (taskId * RETURN_SLOTS) is dense; other returns go to the table's Map. */
  private readonly objects = new IdTable<ObjectEntry>(RETURN_SLOTS);
  private readonly actors = new Map<ActorId, ActorEntry>();
  private readonly namedActors = new Map<string, ActorId>();
  /** Actors waiting for their resources, in creation order (see ActorEntry.awaitingResources). */
  private actorsAwaitingResources: ActorEntry[] = [];
  private readonly functionIds = new Map<string, number>();
  private readonly functionIdOf = new WeakMap<FunctionDescriptor, number>();
  /** Task payloads stay in the driver (lineage), never posted: small ones share chunks. */
  private readonly payloads = new PayloadSlab();
  private readonly functionList: FunctionDescriptor[] = [];
  private readonly slotOwner: (TaskEntry | undefined)[];
  private readonly freeSlots: number[] = [];
  /** Tasks waiting for a free slot, oldest first (a queue: shift() on a big array is linear). */
  private readonly backlog = new Backlog<TaskEntry>();
  private backlogDrainScheduled = false;
  private readonly admitWaiting: TaskEntry[] = [];
  /** Waiters by object id (an IdTable: a get of 100k refs registers 100k of them, in id order). */
  private readonly sealWaiters = new IdTable<SealWaiter[]>(RETURN_SLOTS);
  private readonly workerWants = new Map<ObjectId, Set<number>>();
  private readonly pendingSegments = new Map<ObjectId, Array<() => void>>();
  private readonly totalResources: Resources;
  private readonly usedResources: Resources = {};
  private readonly finalizer = new FinalizationRegistry<ObjectId>((id) => this.decRef(id));
  /** Streaming generators and the objects they yielded (see engine/streaming). */
  private readonly streams = new StreamTable({
    hold: (id) => this.incRef(id),
    release: (id) => this.decRef(id),
    refFor: (id) => new ObjectRef(id, this),
    ack: (worker, taskId, taken) => this.pool.post(worker, { t: "stream-ack", taskId, taken }),
    ended: (taskId) => this.getOne(objectIdOf(taskId, 0)) as Promise<number>,
  });
  /** The task whose lineage makes an object: its id's task, or for a streaming generator's yield, the generator. */
  private producerOf(id: ObjectId): TaskId {
    return this.streams.hasItems ? this.streams.producerOf(id) ?? taskIdOfObject(id) : taskIdOfObject(id);
  }
  /** Crash points armed through faults.crashAt (see crash-control.ts). */
  readonly crashes: CrashControl;
  private graphNodes: GraphRecord[] = [];
  /** Edges as parallel arrays of task ids and kinds (an index into EDGE_KINDS): three numbers per edge. */
  private graphEdgeFrom: number[] = [];
  private graphEdgeTo: number[] = [];
  private graphEdgeKind: number[] = [];
  private readonly i32: Int32Array;
  private readonly droppedSegments: ObjectId[] = [];
  /** Per worker index: the objects that thread put and may still hold refs to; one ref each (see "put"). */
  private readonly workerPuts: Array<Set<ObjectId>> = [];
  /**
   * Holds the results of a task a worker submitted; its thread has refs to them (it may read them after their
   * dependents ended, or keep them in an actor's state):
   * 1. Submitted by a plain task: the parent's lineage holds them until the parent is forgotten, so a
   *    re-execution of the parent reuses its finished children instead of running them again (SPEC).
   * 2. Otherwise (an actor call): held for the thread like its puts, until it reports them dropped or dies.
   */
  private holdResultsForThread(index: number, child: TaskEntry, parentId: TaskId): void {
    const parent = this.tasks.get(parentId);
    if (parent && parent.kind === "task") {
      if (this.heldByParent.has(child)) return; // a re-executed parent submitting it again
      this.heldByParent.add(child);
      if (parent.heldPuts === NONE) parent.heldPuts = [];
      for (let i = 0; i < child.options.numReturns; i++) {
        const id = objectIdOf(child.id, i);
        this.incRef(id);
        parent.heldPuts.push(id);
      }
      return;
    }
    for (let i = 0; i < child.options.numReturns; i++) this.holdForThread(index, objectIdOf(child.id, i), parentId);
  }
  /** Children whose results their parent's lineage holds (see holdResultsForThread). */
  private readonly heldByParent = new WeakSet<TaskEntry>();
  private holdForThread(index: number, id: ObjectId, parentId: TaskId): void {
    const held = this.workerPuts[index] ??= new Set();
    if (held.has(id)) return;
    held.add(id);
    this.incRef(id);
    const parent = this.tasks.get(parentId);
    if (parent && parent.kind === "task" && (parent.state === "pending" || parent.state === "running")) {
      if (parent.ownedPuts === NONE) parent.ownedPuts = [];
      parent.ownedPuts.push(id);
    }
  }
  private releaseWorkerPut(index: number, id: ObjectId): void {
    if (this.workerPuts[index]?.delete(id)) this.decRef(id);
  }
  private driverChildren = 0;
  private actorLoad: number[];
  private parked = false;
  private parkToken = 0;
  private closed = false;
  private keepAlive: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly startTime = performance.now();
  /** Where the dashboard serves; undefined while it is off. */
  dashboardUrl: string | undefined = undefined;
  /** Set by attachDashboard; closed at shutdown. */
  private dashboard: { close(): Promise<void> } | undefined;
  /** Only with checkImmutable; undefined otherwise, so the default path pays one check for undefined. */
  private readonly immutability: ImmutabilityChecker | undefined;

  constructor(options: InitOptions = {}) {
    const workers = options.workers ?? os.availableParallelism();
    if (!Number.isInteger(workers) || workers < 1) throw new LoomError(`init: invalid workers ${String(options.workers)} (expected an integer >= 1)`);
    const store = options.objectStoreBytes ?? Math.min(Math.floor(os.totalmem() / 4), 8 * 2 ** 30);
    if (!Number.isFinite(store) || store < 1024 * 1024) throw new LoomError(`init: invalid objectStoreBytes ${String(options.objectStoreBytes)} (expected at least 1 MiB)`);
    this.workerCount = workers;
    this.objectStoreBytes = store;
    this.totalResources = { cpu: workers, ...(options.resources ? checkResources("resources", options.resources) : {}) };
    const arenaBytes = Math.min(256 * 2 ** 20, Math.max(16 * 2 ** 20, 2 ** Math.floor(Math.log2(store / 4))));
    const { core, handle } = Core.create({ taskSlots: 1 << 15, objectCapacity: 1 << 21, arenaBytes });
    this.core = core;
    this.i32 = core.i32;
    new Float64Array(core.memory.buffer, L.CORE_BASE + L.CTL_EPOCH, 1)[0] = Date.now();
    this.store = new ObjectStore(core, store, new SegmentPool(Math.min(store / 4, 2 ** 30)));
    if (options.spillDir !== undefined && (typeof options.spillDir !== "string" || options.spillDir === "")) {
      throw new LoomError(`init: invalid spillDir ${String(options.spillDir)} (expected a directory path)`);
    }
    this.spill = new SpillManager(store, options.spillDir);
    this.slotOwner = new Array(core.plan.taskSlots);
    for (let s = core.plan.taskSlots - 1; s >= 0; s--) this.freeSlots.push(s);
    this.hooks = {
      ref: (id) => new ObjectRef(id, this),
      actor: (d) => makeActorHandle(this, d),
    };
    this.actorLoad = new Array(workers).fill(0);
    this.pool = new WorkerPool(handle, store, {
      message: (i, m) => this.onWorkerMessage(i, m),
      exit: (i, generation) => this.onWorkerExit(i, generation),
      error: (i, e) => this.emit("worker:error", { worker: i, error: e }),
    });
    for (let i = 0; i < workers; i++) {
      this.pool.spawn(i);
      this.emit("worker:started", { worker: i });
    }
    this.crashes = new CrashControl(this.i32);
    this.timeouts = new TaskTimeouts(core, this.timeoutHost());
    this.faults = new Faults(this);
    if (options.checkImmutable) this.immutability = new ImmutabilityChecker((id) => this.tasks.get(this.producerOf(id))?.name);
    setCurrent(this);
    this.park();
  }

  // ---- the public API (SPEC.md) ----

  remote<F extends (...args: any[]) => any>(fn: F): RemoteFunction<F> {
    this.checkOpen();
    if (typeof fn !== "function") throw new LoomError(`remote(): expected a function, got ${typeof fn}`);
    const source = fn.toString();
    if (/^class[\s{]/.test(source)) throw new LoomError("remote(): classes become actors through rt.module(url); inline remote() takes a function");
    if (/\[native code\]/.test(source)) throw new LoomError(`remote(): ${fn.name || "the function"} is native or bound; pass a self-contained function`);
    return new RemoteFunction<F>(this, { kind: "inline", source, name: fn.name || "anonymous" });
  }

  async module<M = Record<string, unknown>>(url: URL | string): Promise<ModuleWrappers<M>> {
    this.checkOpen();
    // A .ts module in a driver started without tsx is handled by wrapModule (it registers tsx and retries).
    return (await wrapModule(this, url)) as ModuleWrappers<M>;
  }

  put<T>(value: T): ObjectRef<T> {
    this.checkOpen();
    if (isObjectRef(value)) throw new LoomError("put(): the value is already an ObjectRef; pass the ref itself");
    const encoded = encodeValue(value, "value", this);
    const taskId = childTaskId(DRIVER_TASK_ID, this.driverChildren++);
    const id = objectIdOf(taskId, 0);
    const where = this.store.writeEncoded(id, encoded, 0);
    const o = this.registerObject(id, true);
    this.holdContained(o, encoded.refs);
    this.seal(o, where);
    if (where.segment) this.segmentStored(id);
    this.recordNode(new GraphRecord(taskId, "put", "put", "finished"));
    const ref = new ObjectRef<T>(id, this);
    this.onSealed(id);
    return ref;
  }

  get<T>(ref: ObjectRef<T>, options?: { timeoutMs?: number }): Promise<T>;
  get<const T extends readonly ObjectRef[]>(refs: T, options?: { timeoutMs?: number }): Promise<{ -readonly [K in keyof T]: T[K] extends ObjectRef<infer V> ? V : never }>;
  get(refs: ObjectRef | readonly ObjectRef[], options: { timeoutMs?: number } = {}): Promise<unknown> {
    this.checkOpen();
    checkGetOptions(options);
    checkTimeout("get()", (options as { timeoutMs?: unknown }).timeoutMs);
    const check = (r: unknown, i?: number): ObjectRef => {
      if (!isObjectRef(r)) throw new LoomError(`get(): expected an ObjectRef${i === undefined ? "" : ` at refs[${i}]`}, got ${describeArgument(r)}`);
      checkOwnedBy(this, r, i === undefined ? "get(): the ref" : `get(): refs[${i}]`);
      return r;
    };
    if (Array.isArray(refs)) refs.forEach(check); else check(refs);
    // Fast path: everything is readable now; read it at once (no waiter, no keep-alive bookkeeping).
    const now = this.readAllNow(refs);
    if (now) return now;
    if (!Array.isArray(refs) && isObjectRef(refs) && this.pollSealed(refs.id)) {
      const polled = this.readAllNow(refs);
      if (polled) return polled;
    }
    const all = Array.isArray(refs) ? this.getMany(refs.map((r) => r.id)) : this.getOne((refs as ObjectRef).id);
    return withCallerFrames(this.tracked(withTimeout(all, options.timeoutMs)));
  }

  async wait<R extends ObjectRef>(refs: readonly R[], options: { numReturns?: number; timeoutMs?: number } = {}): Promise<{ ready: R[]; pending: R[] }> {
    this.checkOpen();
    const want = checkWaitArgs(refs, options);
    refs.forEach((r, i) => checkOwnedBy(this, r, `wait(): refs[${i}]`));
    if (want === 0) return { ready: [], pending: [] };
    return this.tracked(waitForReady(refs, want, options.timeoutMs, (r) => this.whenSealed(r.id)));
  }

  /** Cancels the task behind `ref`: queued, it never runs; running, its signal aborts (force: its worker dies). */
  cancel(ref: ObjectRef | ObjectRefGenerator, options: { force?: boolean } = {}): void {
    this.checkOpen();
    if (isObjectRefGenerator(ref)) {
      if (ObjectRefGenerator.ownerOf(ref) !== this) throw new LoomError("cancel(): the generator was made by another Loom runtime (one that was shut down, or a second one)");
      this.cancelTask(ref.taskId, options.force ?? false);
      const task = this.tasks.get(ref.taskId);
      if (task?.state === "cancelled") this.streams.cancelled(ref.taskId, new TaskCancelledError(`task ${task.name} (${formatTaskId(task.id)}) was cancelled`));
      return;
    }
    if (!isObjectRef(ref)) throw new LoomError(`cancel(): expected an ObjectRef, got ${describeArgument(ref)}`);
    checkOwnedBy(this, ref, "cancel(): the ref");
    this.cancelTask(this.producerOf(ref.id), options.force ?? false);
  }

  kill(handle: ActorHandle, options: { noRestart?: boolean } = {}): void {
    this.checkOpen();
    if (!isActorHandle(handle)) throw new LoomError(`kill(): expected an actor handle, got ${describeArgument(handle)}`);
    checkOwnedBy(this, handle, "kill(): the handle");
    this.killActor(handle[ACTOR_BRAND].actorId, options.noRestart ?? true);
  }

  getActor<T = any>(name: string): ActorHandle<T> {
    this.checkOpen();
    const id = this.namedActors.get(name);
    const a = id === undefined ? undefined : this.actors.get(id);
    if (!a || a.state === "dead") throw new LoomError(`getActor(): no live actor named ${JSON.stringify(name)}`);
    return makeActorHandle<T>(this, this.descriptorOf(a));
  }

  private descriptorOf(actor: ActorEntry): ActorHandleDescriptor {
    return { actorId: actor.id, className: actor.className, methods: actor.methods };
  }

  graph(): { nodes: GraphNode[]; edges: GraphEdge[] } {
    const edges: GraphEdge[] = [];
    for (let i = 0; i < this.graphEdgeFrom.length; i++) {
      edges.push({ from: formatTaskId(this.graphEdgeFrom[i] as TaskId), to: formatTaskId(this.graphEdgeTo[i] as TaskId), kind: EDGE_KINDS[this.graphEdgeKind[i]!]! });
    }
    return { nodes: this.graphNodes.map((n) => n.toNode()), edges };
  }

  /**
   * Bytes the store holds now: arena blocks, segments of live objects known to the driver, and segments of freed
   * objects kept for reuse (idleSegmentBytes; some may still be seen by views not yet collected).
   */
  storeUsage(): { arenaBytes: number; segmentBytes: number; idleSegmentBytes: number; objects: number } {
    let segmentBytes = 0;
    for (const s of this.store.segments.values()) segmentBytes += s.byteLength;
    return { arenaBytes: this.core.exports.arenaUsed(), segmentBytes, idleSegmentBytes: this.store.pool?.idleBytes ?? 0, objects: this.objects.size };
  }

  /** @internal Sizes of the driver's tables, for tests that check they do not grow without bound. */
  tableSizes(): { tasks: number; objects: number; actors: number } {
    return { tasks: this.tasks.size, objects: this.objects.size, actors: this.actors.size };
  }

  /** init() hands over the dashboard it started, so that shutdown() closes it. */
  attachDashboard(dashboard: { url: string; close(): Promise<void> }): void {
    this.dashboard = dashboard;
    this.dashboardUrl = dashboard.url;
  }

  /**
   * A read-only copy of the driver's tables for the dashboard, which polls it while a page is open. Running
   * tasks come from the core's task table (workers start tasks without telling the driver): one pass over the slots.
   */
  inspect(): RuntimeInspection {
    const running: RuntimeInspection["running"] = [];
    for (let slot = 0; slot < this.slotOwner.length; slot++) {
      const e = this.slotOwner[slot];
      if (!e || (e as { tombstone?: number }).tombstone !== undefined || this.core.taskField(slot, L.TASK_STATE) !== L.TASK_RUNNING) continue;
      running.push({ taskId: formatTaskId(e.id), name: e.name, worker: this.core.taskField(slot, L.TASK_WORKER), started: this.core.taskField(slot, L.TASK_STARTED) / 100 });
    }
    const actors: RuntimeInspection["actors"] = [];
    for (const a of this.actors.values()) {
      // Calls end in order, so the unfinished ones are the log's tail.
      let pendingCalls = 0;
      for (let i = a.log.length - 1; i >= 0 && a.log[i]!.state !== "finished" && a.log[i]!.state !== "failed"; i--) if (a.log[i]!.state !== "cancelled") pendingCalls++;
      const state = a.state === "dead" ? "dead" : a.awaitingResources ? "pending" : "alive";
      actors.push({ actorId: a.id, className: a.className, name: a.name, state, worker: a.worker, restarts: a.restarts, pendingCalls });
    }
    return {
      epoch: new Float64Array(this.core.memory.buffer, L.CORE_BASE + L.CTL_EPOCH, 1)[0]!,
      workers: this.pool.workers.map((w) => ({ alive: w?.alive ?? false })),
      running, actors, resources: { ...this.totalResources }, used: { ...this.usedResources }, spilledBytes: this.spill.bytesSpilled,
    };
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearCurrent(this);
    const error = new LoomError("the Loom runtime was shut down");
    for (const list of this.sealWaiters.values()) for (const w of list) w.reject(error);
    this.sealWaiters.clear();
    if (this.keepAlive) clearInterval(this.keepAlive);
    if (this.dashboard) await this.dashboard.close();
    const mutated = this.immutability?.checkAll((id) => this.store.segments.get(id));
    await this.pool.terminateAll();
    this.spill.close();
    this.store.pool?.clear();
    Atomics.notify(this.i32, Core.ctl(L.CTL_DONE_SEQ));
    if (mutated) throw mutated;
  }

  /** Inside a task, the task's cancellation signal; the driver has none. */
  get signal(): AbortSignal {
    throw new LoomError("current().signal is only defined inside a task or actor method, not in the driver");
  }

  get isShutdown(): boolean {
    return this.closed;
  }

  // ---- submission ----

  private checkOpen(): void {
    if (this.closed) throw new LoomError("the Loom runtime has been shut down; call init() again");
  }

  private functionId(fn: FunctionDescriptor): number {
    // By descriptor first: a remote function keeps one descriptor, and building the key costs a string per call.
    const known = this.functionIdOf.get(fn);
    if (known !== undefined) return known;
    const key = functionKey(fn);
    let id = this.functionIds.get(key);
    if (id === undefined) {
      id = this.functionList.length;
      this.functionList.push(fn);
      this.functionIds.set(key, id);
      this.pool.broadcast({ t: "fn", id, fn });
    }
    this.functionIdOf.set(fn, id);
    return id;
  }

  /** Encodes the arguments of a call the driver makes; big ones are put first (see arg-codec). */
  private encodeArgs(args: unknown[]): EncodedArgs & { sharedKey?: number } {
    const shared = this.sharedScratch;
    const encoded: EncodedArgs & { sharedKey?: number } = encodeArgs(args, this.putBigArgument, this.payloads.alloc, this, shared);
    if (shared.buffers.length) {
      // SharedArrayBuffers in the arguments are shared with the task, as postMessage shares them: every thread
      // gets them by message before the task can run, under a key its payload names.
      encoded.sharedKey = shared.key;
      this.sharedBuffers.set(shared.key, shared.buffers);
      this.pool.broadcast({ t: "shared", key: shared.key, buffers: shared.buffers });
      this.sharedScratch = { key: shared.key + 1, buffers: [] };
    }
    return encoded;
  }
  /** Reused while no argument list holds a SharedArrayBuffer (nearly always): no allocation per call. */
  private sharedScratch: { key: number; buffers: SharedArrayBuffer[] } = { key: 1, buffers: [] };
  /** Shared argument buffers by key, while the task that names them may still run (its lineage lives). */
  private readonly sharedBuffers = new Map<number, SharedArrayBuffer[]>();
  private readonly putBigArgument = (encoded: EncodedValue): ObjectRef => this.putEncodedFor(DRIVER_TASK_ID, encoded);


  private putEncodedFor(parent: TaskId, encoded: EncodedValue): ObjectRef {
    const taskId = parent === DRIVER_TASK_ID ? childTaskId(DRIVER_TASK_ID, this.driverChildren++) : childTaskId(parent, 1e9 + this.driverChildren++);
    const id = objectIdOf(taskId, 0);
    const where = this.store.writeEncoded(id, encoded, 0);
    const o = this.registerObject(id, true);
    this.holdContained(o, encoded.refs);
    this.seal(o, where);
    if (where.segment) this.segmentStored(id);
    return new ObjectRef(id, this);
  }

  submitTask(fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[] | ObjectRefGenerator {
    this.checkOpen();
    const resolved = resolveTaskOptions(options);
    const taskId = childTaskId(DRIVER_TASK_ID, this.driverChildren++);
    if (resolved.resources !== DEFAULT_RESOURCES) this.noteIfInfeasible(resolved.resources, taskId, resolved.name ?? fn.name);
    const { payload, deps, nested, sharedKey } = this.encodeArgs(args);
    const entry = this.newTask(taskId, DRIVER_TASK_ID, "task", this.functionId(fn), resolved.name ?? fn.name, payload, deps, nested, resolved);
    entry.sharedKey = sharedKey;
    const refs = this.returnRefsOrStream(entry);
    this.dispatch(entry);
    return refs;
  }

  /** What `.remote()` returns: the task's return refs, or a streaming generator's ObjectRefGenerator. */
  private returnRefsOrStream(entry: TaskEntry): ObjectRef | ObjectRef[] | ObjectRefGenerator {
    return entry.options.streaming === undefined ? this.returnRefs(entry) : this.streams.open(entry.id, this);
  }

  private returnRefs(entry: TaskEntry): ObjectRef | ObjectRef[] {
    const n = entry.options.numReturns;
    if (n === 1) return new ObjectRef(objectIdOf(entry.id, 0), this);
    return Array.from({ length: n }, (_, i) => new ObjectRef(objectIdOf(entry.id, i), this));
  }

  /**
   * A task or actor whose resources no node offers is not an error: it waits, since a node that offers them may
   * join (as in Ray). It is announced (task:infeasible) and warned about once per resource shape.
   */
  private noteIfInfeasible(resources: Resources, taskId: TaskId, what: string): void {
    const wanted = { cpu: 1, ...resources };
    const short = Object.entries(wanted).filter(([name, amount]) => amount > (this.totalResources[name] ?? 0));
    if (short.length === 0) return;
    this.emit("task:infeasible", { taskId: formatTaskId(taskId), name: what, resources: wanted });
    const shape = JSON.stringify(Object.entries(wanted).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
    if (this.warnedShapes.has(shape)) return;
    this.warnedShapes.add(shape);
    const offered = short.map(([name]) => `${name}=${this.totalResources[name] ?? 0}`).join(", ");
    process.emitWarning(`Loom: infeasible task: ${what} needs resources ${JSON.stringify(wanted)} but no node offers them ` +
      `(this runtime offers ${offered}); it waits until a node that has them joins, or until it is cancelled`,
    { code: "LOOM_INFEASIBLE_RESOURCES" });
  }
  private readonly warnedShapes = new Set<string>();

  private newTask(
    id: TaskId, parentId: TaskId, kind: TaskKind, fnId: number, name: string, payload: Uint8Array,
    deps: ObjectId[], nested: ObjectId[], options: ResolvedTaskOptions,
  ): TaskEntry {
    const entry: TaskEntry = {
      id, parentId, kind, fnId, name, payload, deps, nestedRefs: nested, options, slot: NO_SLOT, state: "pending", node: undefined,
      attempts: 0, run: 0, runs: 1, admitted: false, lineageRefs: 0, lineageParents: NONE, heldPuts: NONE, ownedPuts: NONE,
    };
    this.tasks.set(id, entry);
    for (const d of deps) {
      const producer = this.tasks.get(this.producerOf(d));
      if (producer && producer !== entry) {
        producer.lineageRefs++;
        if (entry.lineageParents === NONE) entry.lineageParents = [];
        entry.lineageParents.push(producer.id);
      } else if (this.objects.get(d)?.isPut) {
        this.incRef(d);
        if (entry.heldPuts === NONE) entry.heldPuts = [];
        entry.heldPuts.push(d);
      }
    }
    for (let i = 0; i < options.numReturns; i++) this.registerObject(objectIdOf(id, i), false);
    // The task holds its arguments until it finishes.
    for (const d of deps) this.incRef(d);
    for (const d of nested) this.incRef(d);
    entry.node = this.recordNode(new GraphRecord(id, name, kind, "pending", 0));
    if (parentId !== DRIVER_TASK_ID) this.recordEdge(parentId, id, 1);
    for (const d of deps) {
      const producer = this.producerOf(d);
      if (this.tasks.get(producer)?.kind !== "put") this.recordEdge(producer, id, 0);
    }
    this.inFlight++;
    this.updateKeepAlive();
    if (this.listening("task:submitted")) this.emit("task:submitted", { taskId: formatTaskId(id), name });
    return entry;
  }

  /**
   * Records a graph node. The graph keeps the most recent GRAPH_LIMIT nodes (and their edges): a million-task
   * job should not keep a million graph nodes alive for an export nobody reads.
   */
  private recordNode(node: GraphRecord): GraphRecord {
    this.graphNodes.push(node);
    if (this.graphNodes.length > GRAPH_LIMIT) {
      const gone = new Set(this.graphNodes.slice(0, GRAPH_LIMIT / 2).map((n) => n.taskId as number));
      this.graphNodes = this.graphNodes.slice(GRAPH_LIMIT / 2);
      const from: number[] = [], to: number[] = [], kind: number[] = [];
      for (let i = 0; i < this.graphEdgeFrom.length; i++) {
        if (gone.has(this.graphEdgeFrom[i]!) || gone.has(this.graphEdgeTo[i]!)) continue;
        from.push(this.graphEdgeFrom[i]!); to.push(this.graphEdgeTo[i]!); kind.push(this.graphEdgeKind[i]!);
      }
      this.graphEdgeFrom = from; this.graphEdgeTo = to; this.graphEdgeKind = kind;
      this.graphTruncated = true;
    }
    return node;
  }

  /** Records an edge; kind is an index into EDGE_KINDS (0 data, 1 control, 2 stateful). */
  private recordEdge(from: TaskId, to: TaskId, kind: number): void {
    this.graphEdgeFrom.push(from);
    this.graphEdgeTo.push(to);
    this.graphEdgeKind.push(kind);
  }
  /** True once old nodes were dropped from the graph. */
  graphTruncated = false;

  /** Writes a task into a free slot of the core and arms it on its arguments (or queues it for a slot). */
  private dispatch(entry: TaskEntry, rebuilding = false): void {
    if (entry.kind === "actor-create" || entry.kind === "actor-method") return this.dispatchActorTask(entry);
    const slot = this.takeSlot(entry);
    if (slot === NO_SLOT) { this.toBacklog(entry); return; }
    const ex = this.core.exports;
    const needsAdmission = !isDefaultResources(entry.options.resources);
    this.core.setTaskField(slot, L.TASK_TARGET, needsAdmission ? L.TARGET_ADMIT : L.TARGET_READY);
    const scratch = this.core.plan.scratch;
    let n = 0;
    for (const d of entry.deps) {
      let e = ex.objFind(idLo(d), idHi(d));
      if (e === 0 || ex.objState(e) === L.OBJ_LOST) {
        try {
          e = this.recover(d);
        } catch (error) {
          // An argument that cannot come back (a lost put, released lineage): the task fails with its error,
          // as its dependents will; .remote() itself never throws for it. A rebuild stopped this way is a
          // ReconstructionError whose cause is what stopped it.
          this.releaseSlot(slot);
          this.sealError(entry, rebuilding ? reconstructionFailure(entry, d, error as Error) : error as Error);
          this.finishTask(entry, "failed", -1);
          return;
        }
      }
      this.i32[(scratch >> 2) + n++] = e;
    }
    const edges = n ? ex.arenaAlloc(n * L.EDGE_BYTES) : 0;
    this.core.setTaskField(slot, L.TASK_EDGES, edges);
    entry.state = "pending";
    if (ex.taskArm(slot, scratch, n)) this.notifyWorkers(1);
    if (needsAdmission) this.drainAdmissions();
  }

  /** Claims a slot and writes the fixed part and the payload; NO_SLOT when the core is full for now. */
  private takeSlot(entry: TaskEntry): number {
    if (this.freeSlots.length === 0) return NO_SLOT;
    const header = this.headerFor(entry);
    const argsAt = PAYLOAD_PREFIX + Math.ceil(header.length / 8) * 8;
    const at = this.core.exports.arenaAlloc(argsAt + entry.payload.length);
    if (at === 0) return NO_SLOT;
    const slot = this.freeSlots.pop()!;
    const u8 = this.core.u8;
    u8[at] = header.length & 0xff; u8[at + 1] = header.length >>> 8 & 0xff; u8[at + 2] = header.length >>> 16 & 0xff; u8[at + 3] = 0;
    u8.set(header, at + PAYLOAD_PREFIX);
    this.core.u8.set(entry.payload, at + argsAt);
    const c = this.core;
    c.setTaskField(slot, L.TASK_ID_LO, idLo(entry.id));
    c.setTaskField(slot, L.TASK_ID_HI, idHi(entry.id));
    c.setTaskField(slot, L.TASK_PAYLOAD, at);
    c.setTaskField(slot, L.TASK_PAYLOAD_LEN, entry.payload.length);
    c.setTaskField(slot, L.TASK_RETURNS, entry.options.numReturns);
    c.setTaskField(slot, L.TASK_ATTEMPT, entry.attempts);
    c.setTaskField(slot, L.TASK_RUN, entry.run);
    c.setTaskField(slot, L.TASK_OUTCOME, L.OUTCOME_NONE);
    c.setTaskField(slot, L.TASK_EDGES, 0);
    c.setTaskField(slot, L.TASK_GENERATION, c.taskField(slot, L.TASK_GENERATION) + 1);
    this.slotOwner[slot] = entry;
    entry.slot = slot;
    if (entry.options.timeoutMs !== undefined && !entry.replay) this.watchTimeout(entry, slot);
    if (!this.parked) this.park(); // a slot in use will report: make sure someone listens
    return slot;
  }

  /** The JSON header of a slot payload; the same for every call of one function with one set of options. */
  private headerFor(entry: TaskEntry): Buffer {
    const cached = this.headers.get(entry.fnId);
    if (cached && cached.options === entry.options && cached.name === entry.name && cached.method === entry.method) return cached.bytes;
    const bytes = Buffer.from(JSON.stringify({
      f: entry.fnId, n: entry.name, x: entry.options.retryExceptions, m: entry.options.maxRetries, am: entry.method,
      g: entry.options.streaming,
    }));
    this.headers.set(entry.fnId, { options: entry.options, name: entry.name, method: entry.method, bytes });
    return bytes;
  }
  private readonly headers = new Map<number, { options: ResolvedTaskOptions; name: string; method?: string; bytes: Buffer }>();

  private releaseSlot(slot: number): void {
    const ex = this.core.exports;
    const payload = this.core.taskField(slot, L.TASK_PAYLOAD);
    if (payload) ex.arenaFree(payload);
    const edges = this.core.taskField(slot, L.TASK_EDGES);
    if (edges) ex.arenaFree(edges);
    this.core.setTaskField(slot, L.TASK_PAYLOAD, 0);
    this.core.setTaskField(slot, L.TASK_EDGES, 0);
    Atomics.store(this.i32, (this.core.plan.taskTable + slot * L.TASK_BYTES + L.TASK_STATE) >> 2, L.TASK_FREE);
    const owner = this.slotOwner[slot];
    if (owner && owner.slot === slot) owner.slot = NO_SLOT;
    this.slotOwner[slot] = undefined;
    this.freeSlots.push(slot);
    this.drainBacklog();
  }

  /**
   * Starts waiting tasks, oldest first, while slots and arena space last. It stops at the first whose payload
   * still does not fit (dispatching it again would only put it back, forever) and resumes when a slot or an
   * object frees space. With no task running, nothing else can free arena space soon: a payload that fits the
   * arena's free bytes but none of its free blocks then fails with ObjectStoreFullError instead of waiting.
   */
  private drainBacklog(): void {
    // Not re-entered: a dispatch can end tasks (a lost argument fails one; parking drains the done queue) and so
    // free slots; the loop running now takes those slots too. A nested drain under it shifted entries the outer
    // loop then took for its own, and put back an undefined one.
    if (this.drainingBacklog) return;
    this.drainingBacklog = true;
    try {
      this.drainBacklogNow();
    } finally {
      this.drainingBacklog = false;
    }
  }
  private drainingBacklog = false;
  /** The entry toBacklog queued last (see drainBacklogNow). */
  private lastBacklogged: TaskEntry | undefined;

  /** Queues a task that found no slot or no arena block; with no slot in use, nothing else would look again. */
  private toBacklog(entry: TaskEntry): void {
    this.lastBacklogged = entry;
    this.backlog.push(entry);
    if (!this.drainingBacklog && this.freeSlots.length === this.core.plan.taskSlots) this.scheduleBacklogDrain();
  }

  /** One drain of the backlog on a later turn, however many frees and submissions ask for it meanwhile. */
  private scheduleBacklogDrain(): void {
    if (this.backlogDrainScheduled) return;
    this.backlogDrainScheduled = true;
    setImmediate(() => { this.backlogDrainScheduled = false; if (!this.closed) this.drainBacklog(); });
  }

  private drainBacklogNow(): void {
    while (this.backlog.length && this.freeSlots.length) {
      const entry = this.backlog.shift()!;
      this.lastBacklogged = undefined;
      this.dispatch(entry);
      // Started, or failed: go on. (Its dispatch may have queued others, say an argument's rebuild; they wait.)
      if (this.lastBacklogged !== entry) continue;
      const tail = this.backlog.pop(); // entry, queued last by its dispatch
      if (tail !== entry) { if (tail !== undefined) this.backlog.push(tail); this.backlog.remove(entry); }
      this.backlog.unshift(entry);
      if (this.freeSlots.length !== this.core.plan.taskSlots || !this.failUnplaceable(this.backlog.shift()!)) break;
    }
  }

  /** A task whose payload no free arena block can take while nothing runs: fails it (true), or puts it back. */
  private failUnplaceable(entry: TaskEntry): boolean {
    const need = PAYLOAD_PREFIX + Math.ceil(this.headerFor(entry).length / 8) * 8 + entry.payload.length;
    const arenaBytes = this.core.plan.arenaEnd - this.core.plan.arenaStart;
    const free = arenaBytes - this.core.exports.arenaUsed();
    const largest = 2 ** L.ARENA_MAX_SHIFT - L.BLOCK_HEADER;
    if (need <= largest && free < 2 * need) {
      // The arena is full of live objects: space comes back as they are freed (see freeObject).
      this.backlog.unshift(entry);
      return false;
    }
    this.sealError(entry, new ObjectStoreFullError(need > largest
      ? `task ${entry.name} (${formatTaskId(entry.id)}): its arguments encode to ${need} bytes, more than the arena's largest block (${largest}); pass big values as put() refs`
      : `task ${entry.name} (${formatTaskId(entry.id)}): no free arena block takes its ${need}-byte payload (${free} of ${arenaBytes} arena bytes are free, in smaller blocks)`));
    this.finishTask(entry, "failed", -1);
    return true;
  }

  /** Tasks with resources beyond one CPU start only when those resources are free. */
  private drainAdmissions(): void {
    if (this.actorsAwaitingResources.length) this.admitActors();
    const ex = this.core.exports;
    for (let slot = ex.admitPop(); slot >= 0; slot = ex.admitPop()) {
      const entry = this.slotOwner[slot];
      if (!entry) continue;
      // Cancelled while it waited for its arguments: nobody will run it, so its slot is free now.
      if (entry.state === "cancelled") this.releaseSlot(slot);
      else this.admitWaiting.push(entry);
    }
    for (let i = 0; i < this.admitWaiting.length; i++) {
      const entry = this.admitWaiting[i];
      if (!this.fits(entry.options.resources)) continue;
      this.admitWaiting.splice(i--, 1);
      this.acquire(entry.options.resources);
      entry.admitted = true;
      ex.queuePush(this.core.plan.readyQueue, entry.slot);
      Atomics.add(this.i32, Core.ctl(L.CTL_READY_SEQ), 1);
      this.notifyWorkers(1);
    }
  }

  /** Starts the actors whose resources now fit, oldest first: the constructor, then every call they hold. */
  private admitActors(): void {
    this.actorsAwaitingResources = this.actorsAwaitingResources.filter((actor) => {
      if (actor.state === "dead") return false;
      if (!this.fits(actor.resources)) return true;
      actor.awaitingResources = false;
      this.acquire(actor.resources);
      this.dispatchActorTask(actor.create);
      for (const call of actor.log) if (call.state === "pending") this.dispatchActorTask(call);
      return false;
    });
  }

  private fits(r: Resources): boolean {
    for (const [k, v] of Object.entries(r)) if ((this.usedResources[k] ?? 0) + v > (this.totalResources[k] ?? 0) + 1e-9) return false;
    return true;
  }
  private acquire(r: Resources): void {
    for (const [k, v] of Object.entries(r)) this.usedResources[k] = (this.usedResources[k] ?? 0) + v;
  }
  private releaseResources(r: Resources): void {
    for (const [k, v] of Object.entries(r)) this.usedResources[k] = (this.usedResources[k] ?? 0) - v;
  }

  /** Wakes idle workers once per burst of submissions (a notify costs microseconds; a loop submits thousands). */
  private notifyWorkers(n: number): void {
    this.wakeCount += n;
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    queueMicrotask(this.wake);
  }
  private wakeCount = 0;
  private wakeScheduled = false;
  private readonly wake = (): void => {
    this.wakeScheduled = false;
    const n = this.wakeCount;
    this.wakeCount = 0;
    if (Atomics.load(this.i32, Core.ctl(L.CTL_IDLE_WORKERS)) > 0) Atomics.notify(this.i32, Core.ctl(L.CTL_READY_SEQ), n);
  };

  // ---- timeouts (SPEC "Timeouts"; the watch itself is task-timeouts.ts) ----

  private watchTimeout(entry: TaskEntry, slot: number): void {
    const token = {};
    entry.watch = token;
    this.timeouts.watch(entry, slot, entry.options.timeoutMs!, token);
  }

  private readonly timeouts: TaskTimeouts<TaskEntry>;
  private timeoutHost(): TimeoutHost<TaskEntry> {
    return {
      holds: (entry, slot, generation, token) => entry.watch === token && this.slotOwner[slot] === entry &&
        this.core.taskField(slot, L.TASK_GENERATION) === generation && !this.closed,
      expire: (entry, _slot, worker) => this.expireAttempt(entry, worker),
      graceOver: (entry, _slot, worker) => {
        if (entry.kind === "actor-method") this.killActor(entry.actorId!, false, `its call ${entry.name} ran past its timeoutMs`);
        else void this.faults.killWorker(worker);
      },
    };
  }

  /**
   * An attempt ran longer than its timeoutMs: its code is told (its signal aborts, its CPU slot is freed), and
   * its ref rejects with TaskTimeoutError, or with retryExceptions it runs again once this attempt ends.
   */
  private expireAttempt(entry: TaskEntry, worker: number): void {
    const timeoutMs = entry.options.timeoutMs!;
    const abort = { t: "abort" as const, taskId: entry.id, timeoutMs };
    const limit = entry.options.maxRetries;
    if (entry.options.retryExceptions && (limit === -1 || entry.attempts < limit)) {
      entry.timedOut = true;
      this.pool.post(worker, abort);
      return;
    }
    // Sealed before the worker hears of it: told first, the task may return and seal its value within
    // microseconds, on its own thread, while this one is still here.
    this.sealError(entry, new TaskTimeoutError(`task ${entry.name} (${formatTaskId(entry.id)}) ran longer than its timeoutMs (${timeoutMs} ms)`,
      { taskId: formatTaskId(entry.id), functionName: entry.name, timeoutMs }));
    this.finishTask(entry, "failed", worker);
    this.pool.post(worker, abort);
    // Never replayed: a restarted actor must not run the call that overstayed again.
    const actor = entry.kind === "actor-method" ? this.actors.get(entry.actorId!) : undefined;
    if (actor) actor.log = actor.log.filter((call) => call !== entry);
  }

  // ---- completion: the done queue ----

  /** Waits for the done queue without blocking the event loop (the main thread must never block). */
  private park(): void {
    if (this.parked || this.closed) return;
    // Idle: nothing can report. Stop waiting, so that a script that never calls shutdown() can exit.
    if (this.inFlight <= 0 && this.freeSlots.length === this.core.plan.taskSlots && this.backlog.length === 0 &&
        this.core.exports.queueLength(this.core.plan.doneQueue) === 0) return;
    const parkedIdx = Core.ctl(L.CTL_DRIVER_PARKED);
    const seqIdx = Core.ctl(L.CTL_DONE_SEQ);
    Atomics.store(this.i32, parkedIdx, 1);
    const seq = Atomics.load(this.i32, seqIdx);
    // A report pushed before the sequence read is in the queue now; one pushed after changes the sequence.
    if (this.core.exports.queueLength(this.core.plan.doneQueue) > 0) {
      Atomics.store(this.i32, parkedIdx, 0);
      // One drain per turn, however many dispatches call park() meanwhile (each used to queue its own).
      if (!this.drainScheduled) {
        this.drainScheduled = true;
        setImmediate(this.drainLater);
      }
      return;
    }
    this.parked = true;
    // The timeout bounds the cost of a missed wake-up (a notify racing the park) to a few milliseconds.
    const r = Atomics.waitAsync(this.i32, seqIdx, seq, PARK_TIMEOUT_MS);
    const resume = () => {
      this.parked = false;
      Atomics.store(this.i32, parkedIdx, 0);
      if (this.closed) return;
      this.drainDone();
      this.park();
    };
    if (r.async) {
      // A safety net: under load on Node 20 a waitAsync was seen to stay unresolved; poll while parked.
      const token = ++this.parkToken;
      r.value.then(() => { if (token === this.parkToken) { this.parkToken++; resume(); } });
      const poll = setTimeout(() => { if (token === this.parkToken) { this.parkToken++; resume(); } }, SAFETY_POLL_MS);
      poll.unref();
    } else resume();
  }

  private drainScheduled = false;
  private readonly drainLater = (): void => {
    this.drainScheduled = false;
    this.drainDone();
    this.park();
  };

  private drainDone(): void {
    const ex = this.core.exports;
    for (let slot = ex.donePop(); slot >= 0; slot = ex.donePop()) this.onTaskDone(slot);
    this.drainAdmissions();
    this.flushDroppedSegments();
  }

  private onTaskDone(slot: number): void {
    const entry = this.slotOwner[slot];
    const outcome = this.core.taskField(slot, L.TASK_OUTCOME);
    const worker = this.core.taskField(slot, L.TASK_WORKER);
    if (!entry) return;
    if ((entry as { tombstone?: number }).tombstone !== undefined) { this.releaseSlot(slot); return; }
    const started = this.core.taskField(slot, L.TASK_STARTED) / 100;
    if (entry.node && outcome !== L.OUTCOME_SKIPPED) {
      entry.node.start = started;
      entry.node.worker = worker;
      // Workers take tasks from shared memory without telling the driver; the start is reported with the end.
      if (this.listening("task:started")) this.emit("task:started", { taskId: formatTaskId(entry.id), name: entry.name, worker, time: started });
    }
    if (entry.admitted) { this.releaseResources(entry.options.resources); entry.admitted = false; }
    this.releaseSlot(slot);
    if (outcome === L.OUTCOME_SKIPPED) return;
    if (entry.timedOut) {
      // It returned within the grace period: a value stands; anything else is the timed-out attempt, retried.
      entry.timedOut = false;
      if (outcome !== L.OUTCOME_OK && entry.state !== "cancelled") {
        entry.attempts++;
        entry.run = entry.runs++;
        this.emit("task:retried", { taskId: formatTaskId(entry.id), name: entry.name, attempt: entry.attempts, reason: "timeout" });
        this.dispatch(entry);
        return;
      }
    }
    if (outcome === L.OUTCOME_RETRY && entry.state !== "cancelled") {
      entry.attempts++;
      entry.run = entry.runs++;
      this.emit("task:retried", { taskId: formatTaskId(entry.id), name: entry.name, attempt: entry.attempts, reason: "exception" });
      this.dispatch(entry);
      return;
    }
    if (entry.replay) { entry.replay = false; return; }
    this.finishTask(entry, outcome === L.OUTCOME_OK ? "finished" : "failed", worker);
  }

  private finishTask(entry: TaskEntry, state: "finished" | "failed" | "cancelled", worker: number): void {
    if (entry.state === "finished" || entry.state === "failed" || entry.state === "cancelled") {
      for (let i = 0; i < entry.options.numReturns; i++) this.onSealed(objectIdOf(entry.id, i));
      return;
    }
    entry.state = state;
    if (entry.kind === "actor-method" && !entry.replay) {
      const actor = this.actors.get(entry.actorId!);
      if (actor?.terminateWhenIdle) queueMicrotask(() => this.terminateIfIdle(actor));
    }
    if (this.immutability && entry.deps.length > 0) {
      this.immutability.readByTask(entry.deps, `${entry.name} (${formatTaskId(entry.id)})`, (id) => this.store.segments.get(id));
    }
    const now = performance.now() - this.startTime;
    if (entry.node) {
      entry.node.state = state;
      entry.node.end = now;
      if (entry.node.start === undefined || entry.node.start > now) entry.node.start = now;
      if (worker >= 0) entry.node.worker = worker;
      entry.node.attempts = entry.attempts + (state === "cancelled" ? 0 : 1);
    }
    this.inFlight--;
    this.updateKeepAlive();
    for (const d of entry.deps) this.decRef(d);
    for (const d of entry.nestedRefs) if (entry.kind !== "actor-create") this.decRef(d);
    for (const d of entry.ownedPuts) for (let w = 0; w < this.workerPuts.length; w++) this.releaseWorkerPut(w, d);
    entry.ownedPuts = NONE;
    if (state === "failed") this.emit("task:failed", { taskId: formatTaskId(entry.id), name: entry.name, worker });
    else if (state === "finished" && this.listening("task:finished")) {
      this.emit("task:finished", { taskId: formatTaskId(entry.id), name: entry.name, worker, time: now });
    }
    for (let i = 0; i < entry.options.numReturns; i++) this.onSealed(objectIdOf(entry.id, i));
    const afterRun = entry.afterRun;
    if (afterRun) { entry.afterRun = undefined; for (const f of afterRun) queueMicrotask(f); }
  }

  // ---- objects: registration, readiness, reference counts ----

  private registerObject(id: ObjectId, isPut: boolean): ObjectEntry {
    let o = this.objects.get(id);
    if (!o) {
      const entry = this.core.exports.objInsert(idLo(id), idHi(id));
      if (entry === 0) throw new LoomError("the object table is full; release ObjectRefs you no longer need");
      o = { id, entry, refs: 0, isPut, sealedHere: false, freeWhenSealed: false, contains: NONE, lineageCounted: false };
      this.objects.set(id, o);
    } else if (o.entry === 0) {
      o.entry = this.core.exports.objInsert(idLo(id), idHi(id));
      if (o.entry === 0) throw new LoomError("the object table is full; release ObjectRefs you no longer need");
    }
    if (!isPut && !o.lineageCounted) {
      const task = this.tasks.get(this.producerOf(id));
      if (task) { task.lineageRefs++; o.lineageCounted = true; }
    }
    return o;
  }

  /** Seals an object the driver wrote; if someone sealed it first, frees this copy. Returns tasks released. */
  private seal(o: ObjectEntry, where: { location: number; size: number; flags: number }): number {
    const released = this.core.exports.objSeal(o.entry, where.location, where.size, where.flags);
    if (released >= 0) return released;
    this.store.release(o.id, where.location, where.flags & ~L.FLAG_SEGMENT);
    return 0;
  }

  private holdContained(o: ObjectEntry, refs: ObjectId[]): void {
    if (refs.length === 0) return;
    if (o.contains === NONE) o.contains = [];
    for (const r of refs) { this.incRef(r); o.contains.push(r); }
  }

  trackRef(ref: ObjectRef): void {
    const o = this.objects.get(ref.id);
    if (o) o.refs++;
    else this.objects.set(ref.id, { id: ref.id, entry: 0, refs: 1, isPut: false, sealedHere: false, freeWhenSealed: false, contains: NONE, lineageCounted: false });
    this.finalizer.register(ref, ref.id);
  }

  /**
   * Takes a hold that a later decRef gives back. A hold on an object that is not known now (freed, or not yet
   * registered) is kept on a placeholder entry, as trackRef does: registerObject fills it in when the object is
   * registered (or rebuilt) again, so the hold is not lost, and the matching decRef cannot free a later
   * registration that others hold.
   */
  private incRef(id: ObjectId): void {
    const o = this.objects.get(id);
    if (o) o.refs++;
    else this.objects.set(id, { id, entry: 0, refs: 1, isPut: false, sealedHere: false, freeWhenSealed: false, contains: NONE, lineageCounted: false });
  }

  private decRef(id: ObjectId): void {
    const o = this.objects.get(id);
    if (!o) return;
    if (--o.refs > 0) return;
    const task = this.tasks.get(this.producerOf(id));
    const sealed = o.entry !== 0 && this.core.exports.objState(o.entry) === L.OBJ_SEALED;
    if (!sealed && task && task.state === "pending" || task?.state === "running") { o.freeWhenSealed = true; return; }
    this.freeObject(o);
  }

  private freeObject(o: ObjectEntry): void {
    if (this.closed) return;
    const ex = this.core.exports;
    if (o.entry !== 0) {
      const flags = ex.objFlags(o.entry);
      const location = ex.objLocation(o.entry);
      if (this.immutability && flags & L.FLAG_SEGMENT) this.immutability.released(o.id, this.store.segments.get(o.id));
      if (ex.objState(o.entry) === L.OBJ_SEALED) this.store.release(o.id, location, flags);
      if (flags & L.FLAG_SEGMENT) this.spill.discard(o.id);
      if (flags & L.FLAG_SEGMENT) this.droppedSegments.push(o.id);
      ex.objRemove(o.entry);
    }
    this.objects.delete(o.id);
    // Freed arena space may let a waiting task's payload in (see drainBacklog): try once this turn is over.
    if (this.backlog.length) this.scheduleBacklogDrain();
    for (const r of o.contains) this.decRef(r);
    if (o.lineageCounted) this.releaseLineage(this.tasks.get(this.producerOf(o.id)));
    if (this.streams.hasItems) this.streams.forgetItem(o.id);
  }

  /** Drops one lineage reference; a task nothing can need any more is forgotten, and so, in turn, its producers. */
  private releaseLineage(task: TaskEntry | undefined): void {
    if (!task || --task.lineageRefs > 0) return;
    if (task.state === "pending" || task.state === "running") return;
    if (task.kind === "actor-create" && this.actors.get(task.actorId!)?.create === task) return; // a restart runs it again
    if (task.kind === "actor-method" && this.replayable(task)) return; // a restart or a rebuild replays it
    this.forgetTask(task);
  }

  /** Removes a settled task nothing needs: its producers' lineage and the puts it held are released in turn. */
  private forgetTask(task: TaskEntry): void {
    if (this.tasks.get(task.id) !== task) return;
    this.tasks.delete(task.id);
    if (task.sharedKey !== undefined && this.sharedBuffers.delete(task.sharedKey)) {
      this.pool.broadcast({ t: "shared-drop", key: task.sharedKey });
    }
    for (const p of task.lineageParents) this.releaseLineage(this.tasks.get(p));
    for (const d of task.heldPuts) this.decRef(d);
    task.heldPuts = NONE;
  }

  /** An actor call its live actor may still replay: made after the actor's last checkpoint. */
  private replayable(call: TaskEntry): boolean {
    const actor = this.actors.get(call.actorId!);
    return actor !== undefined && actor.state === "alive" && (call.seq === undefined || call.seq > (actor.checkpoint?.seq ?? 0));
  }

  /** Actor calls and constructors are forgotten once their actor no longer needs them and nothing reads them. */
  private forgetIfUnneeded(task: TaskEntry): void {
    if (task.lineageRefs <= 0 && task.state !== "pending" && task.state !== "running") this.forgetTask(task);
  }

  private flushDroppedSegments(): void {
    if (this.droppedSegments.length === 0) return;
    this.pool.broadcast({ t: "drop-segments", ids: this.droppedSegments.splice(0) });
  }

  /** A segment object entered memory: spill the least recently used others if the store is over capacity. */
  private segmentStored(id: ObjectId): void {
    const segment = this.store.segments.get(id);
    if (!segment) return;
    this.immutability?.stored(id, segment);
    this.spill.stored(id, segment.byteLength);
    // Recycled segments waiting for reuse count against the store's bound too; they go before any object spills.
    this.store.pool?.trim(Math.max(0, this.objectStoreBytes - this.spill.bytesInMemory));
    for (const victim of this.spill.victims(id)) this.spillObject(victim);
  }

  /**
   * Moves one sealed segment object to its spill file. Views already handed out keep their memory (a view
   * pins it until collected); every thread drops its handle, and the next read restores the object.
   */
  private spillObject(id: ObjectId): void {
    const o = this.objects.get(id);
    const ex = this.core.exports;
    const segment = this.store.segments.get(id);
    if (!o || o.entry === 0 || !segment || ex.objState(o.entry) !== L.OBJ_SEALED || !(ex.objFlags(o.entry) & L.FLAG_SEGMENT)) {
      this.spill.forget(id);
      return;
    }
    this.spill.spill(id, segment);
    this.store.dropSegment(id);
    this.droppedSegments.push(id);
    ex.objSetState(o.entry, L.OBJ_SPILLED);
    this.emit("object:spilled", { objectId: id, bytes: segment.byteLength });
  }

  /** Reads a spilled object back into memory (and spills others if that goes over capacity). */
  private restoreIfSpilled(id: ObjectId): void {
    const o = this.objects.get(id);
    if (!o || o.entry === 0 || this.core.exports.objState(o.entry) !== L.OBJ_SPILLED || !this.spill.isSpilled(id)) return;
    this.store.keepSegment(id, this.spill.restore(id, this.store.pool!));
    this.core.exports.objSetState(o.entry, L.OBJ_SEALED);
    for (const victim of this.spill.victims(id)) this.spillObject(victim);
  }

  /** Resolves when the object is sealed and readable in this thread (its segment known). */
  whenSealed(id: ObjectId): Promise<void> {
    this.restoreIfSpilled(id);
    if (this.isReadable(id)) return Promise.resolve();
    return new Promise((resolve, reject) => this.addSealWaiter(id, { resolve: () => resolve(), reject }));
  }

  /** Adds a waiter for an object not readable now, and starts its rebuild if it is lost or was freed. */
  private addSealWaiter(id: ObjectId, waiter: SealWaiter): void {
    this.fileSealWaiter(id, waiter);
    const o = this.objects.get(id);
    if (!o || o.entry === 0 || this.core.exports.objState(o.entry) === L.OBJ_LOST) {
      try { this.recover(id); } catch (error) { this.rejectWaiters(id, error as Error); }
    }
  }

  private isReadable(id: ObjectId): boolean {
    const o = this.objects.get(id);
    if (!o || o.entry === 0) return false;
    const ex = this.core.exports;
    if (ex.objState(o.entry) !== L.OBJ_SEALED) return false;
    return !(ex.objFlags(o.entry) & L.FLAG_SEGMENT) || this.store.segments.has(id);
  }

  private onSealed(id: ObjectId): void {
    if (!this.isReadable(id)) {
      // Lost while its task's end was still on its way to us: the waiters need a rebuild now.
      const o = this.objects.get(id);
      const waited = this.sealWaiters.has(id) || this.workerWants.has(id);
      if (waited && o && o.entry !== 0 && this.core.exports.objState(o.entry) === L.OBJ_LOST) {
        try { this.recover(id); } catch (error) { this.rejectWaiters(id, error as Error); }
      }
      return;
    }
    const o = this.objects.get(id)!;
    const list = this.sealWaiters.get(id);
    if (list) {
      this.sealWaiters.delete(id);
      for (const w of list) w.resolve(id);
    }
    const wants = this.workerWants.get(id);
    if (wants) {
      this.workerWants.delete(id);
      for (const w of wants) this.pool.post(w, { t: "object", id, segment: this.store.segmentToSend(id) });
    }
    if (o.freeWhenSealed && o.refs <= 0) this.freeObject(o);
  }

  private rejectWaiters(id: ObjectId, error: Error): void {
    const list = this.sealWaiters.get(id);
    this.sealWaiters.delete(id);
    for (const w of list ?? []) w.reject(error);
    const wants = this.workerWants.get(id);
    this.workerWants.delete(id);
    for (const w of wants ?? []) this.pool.post(w, { t: "object", id, error: toWire(error) });
  }

  /** The values of refs that are all readable right now (settled promise), or undefined if any must wait. */
  private readAllNow(refs: ObjectRef | readonly ObjectRef[]): Promise<unknown> | undefined {
    const list = Array.isArray(refs) ? refs : [refs];
    if (list.length > 256) return undefined;
    for (const r of list) if (!isObjectRef(r) || !this.isReadable(r.id)) return undefined;
    const values: unknown[] = [];
    for (const r of list) {
      this.spill.touch(r.id);
      const o = this.objects.get(r.id)!;
      const got = this.store.read(r.id, o.entry, this.hooks);
      if (got.error) return Promise.reject(got.error);
      const mutated = this.immutability?.read(r.id, this.store.segments.get(r.id), userStack);
      if (mutated) return Promise.reject(mutated);
      values.push(got.value);
    }
    return Promise.resolve(Array.isArray(refs) ? values : values[0]);
  }

  /**
   * Latency mode: with no more tasks in flight than workers, a get polls the object's state in shared memory
   * for up to POLL_US before it waits. A worker seals straight into shared memory, so a short task's result
   * is read here without two thread wake-ups through event loops (the done record is taken later, as usual).
   * Polls that keep missing (long tasks) back off to one probe in POLL_PROBE_EVERY gets.
   */
  private pollSealed(id: ObjectId): boolean {
    if (this.inFlight > this.workerCount) return false;
    if (this.pollMisses >= POLL_MAX_MISSES && ++this.pollSkipped % POLL_PROBE_EVERY !== 0) return false;
    const o = this.objects.get(id);
    if (!o || o.entry === 0) return false;
    if (this.wakeScheduled) this.wake(); // the workers must hear of the task now, not after this poll
    const ex = this.core.exports;
    const deadline = performance.now() + POLL_US / 1000;
    do {
      if (ex.objState(o.entry) === L.OBJ_SEALED) { this.pollMisses = 0; return true; }
    } while (performance.now() < deadline);
    this.pollMisses++;
    return false;
  }
  private pollMisses = 0;
  private pollSkipped = 0;

  /**
   * Reads many objects behind one promise (a get of 100k refs should not cost 100k promises): each object is
   * held until the get settles; it rejects as soon as one of them is an error, else resolves once all are sealed.
   */
  private getMany(ids: ObjectId[]): Promise<unknown[]> {
    for (const id of ids) { this.incRef(id); this.spill.touch(id); }
    return new Promise<unknown[]>((resolve, reject) => {
      let pending = 1; // the registration loop below holds one, so a synchronous settle cannot finish early
      let settled = false;
      const release = () => { for (const id of ids) this.decRef(id); };
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        release();
        reject(error);
      };
      const oneDone = () => {
        if (settled || --pending > 0) return;
        settled = true;
        try {
          resolve(ids.map((id) => this.readNow(id)));
        } catch (error) {
          reject(error);
        } finally {
          release();
        }
      };
      // One waiter for all of them: it is told which object was sealed.
      /** Rejects the get at once if the readable object `id` holds an error; true when it did. */
      const failedOn = (id: ObjectId): boolean => {
        if (!this.isErrorValue(id)) return false;
        try { this.readNow(id); } catch (error) { fail(error as Error); }
        return true;
      };
      const waiter: SealWaiter = {
        resolve: (id) => {
          if (settled || failedOn(id)) return;
          oneDone();
        },
        reject: fail,
      };
      for (const id of ids) {
        if (settled) break;
        this.restoreIfSpilled(id);
        if (this.isReadable(id)) {
          failedOn(id);
          continue;
        }
        pending++;
        this.addSealWaiter(id, waiter);
      }
      oneDone();
    });
  }

  private isErrorValue(id: ObjectId): boolean {
    const o = this.objects.get(id);
    return o !== undefined && o.entry !== 0 && (this.core.exports.objFlags(o.entry) & L.FLAG_ERROR) !== 0;
  }

  /** The value of a readable object (restored from disk if it was spilled since); throws its error. */
  private readNow(id: ObjectId): unknown {
    this.restoreIfSpilled(id); // other reads may have spilled it again since it became readable
    const o = this.objects.get(id);
    if (!o || o.entry === 0) throw new ObjectLostError(`object ${id} was freed before it could be read`);
    const r = this.store.read(id, o.entry, this.hooks);
    if (r.error) throw r.error;
    const mutated = this.immutability?.read(id, this.store.segments.get(id), userStack);
    if (mutated) throw mutated;
    return r.value;
  }

  /** Reads one object; a pending get holds the object, so dropping the last ref meanwhile cannot free it. */
  private async getOne(id: ObjectId): Promise<unknown> {
    this.incRef(id);
    this.spill.touch(id);
    try {
      await this.whenSealed(id);
      return this.readNow(id);
    } finally {
      this.decRef(id);
    }
  }

  private tracked<T>(p: Promise<T>): Promise<T> {
    this.inFlight++;
    this.updateKeepAlive();
    const done = () => { this.inFlight--; this.updateKeepAlive(); };
    p.then(done, done);
    return p;
  }

  /** Keeps the process alive while work is outstanding; workers are unref'd so an idle driver can exit. */
  private updateKeepAlive(): void {
    if (this.inFlight > 0 && !this.keepAlive && !this.closed) {
      this.keepAlive = setInterval(() => {}, 1 << 30);
      this.park();
    }
    else if (this.inFlight <= 0 && this.keepAlive) { clearInterval(this.keepAlive); this.keepAlive = undefined; }
  }

  // ---- recovery (lineage) ----

  /**
   * Rebuilds a lost object by re-executing the task that made it; returns its (reopened) core entry.
   * 1. A put object cannot be re-executed: ObjectLostError. 2. Without its task's lineage: ReconstructionError.
   * 3. A task already re-running: nothing to do. 4. Otherwise reopen its returns and dispatch it again;
   *    its own lost arguments are rebuilt first by the same path when it is dispatched.
   */
  recover(id: ObjectId): number {
    const taskId = this.producerOf(id);
    const o = this.objects.get(id);
    const task = this.tasks.get(taskId);
    // Evicted objects were announced by evict(); objects found missing (freed, then needed) are announced here.
    const announced = o !== undefined && o.entry !== 0 && this.core.exports.objState(o.entry) === L.OBJ_LOST;
    if (o?.isPut || task?.kind === "put" || (!task && o && !o.isPut && taskId < 2 ** 45 && taskId > 0 && this.isPutId(id))) {
      throw new ObjectLostError(`object ${id} was made by put() and is lost; put objects cannot be rebuilt`);
    }
    if (!task) throw new ReconstructionError(`object ${id} is lost and its lineage was released (nothing referenced it)`);
    if (taskId !== taskIdOfObject(id)) {
      this.reopenYield(id);
      if (task.state === "pending" || task.state === "running") {
        // A yield lost while its generator still runs: this run made it already and will not make it again.
        // Rebuild it once the run has ended.
        (task.afterRun ??= []).push(() => { try { this.recover(id); } catch (error) { this.rejectWaiters(id, error as Error); } });
        return this.registerObject(id, false).entry;
      }
    }
    if (task.kind === "actor-create") {
      throw new ReconstructionError(`object ${id} is the creation marker of actor ${task.name} and is lost; it is not rebuilt`);
    }
    if (task.kind === "actor-method") return this.rebuildActorResult(task, id, announced);
    const obj = this.registerObject(id, false);
    if (task.state === "pending" || task.state === "running") return obj.entry;
    const reopened = this.reopenReturns(task);
    task.state = "pending";
    task.attempts = 0;
    this.inFlight++;
    if (!announced) this.emit("object:lost", { objectId: id, taskId: formatTaskId(taskId) });
    const rebuilt = () => {
      for (const rid of reopened) this.decRef(rid);
      this.emit("object:rebuilt", { objectId: id, taskId: formatTaskId(taskId) });
    };
    task.node && (task.node.state = "rebuilding");
    this.whenSealedNoRecover(id).then(rebuilt, () => {});
    // Hold its arguments until it ends, exactly the references finishTask drops again (top-level and nested),
    // before dispatch: dispatch can end it at once (an argument that cannot come back fails it), and finishTask
    // must not drop holds it never took. An argument that was freed keeps its hold on a placeholder (incRef);
    // dispatch registers and rebuilds it.
    for (const d of task.deps) this.incRef(d);
    for (const d of task.nestedRefs) this.incRef(d);
    this.dispatch(task, true);
    return obj.entry;
  }

  /**
   * Reopens every return of a task about to run again, so that the re-execution can seal them; returns those
   * reopened, each held by the rebuild until it seals (the caller drops the holds then).
   */
  private reopenReturns(task: TaskEntry): ObjectId[] {
    const ex = this.core.exports;
    const reopened: ObjectId[] = [];
    for (let i = 0; i < task.options.numReturns; i++) {
      const rid = objectIdOf(task.id, i);
      const ro = this.registerObject(rid, false);
      const state = ex.objState(ro.entry);
      if (state === L.OBJ_LOST || state === L.OBJ_PENDING) ex.objReopen(ro.entry);
      else if (state === L.OBJ_SEALED) continue;
      ro.refs++;
      reopened.push(rid);
      ro.freeWhenSealed = false;
    }
    return reopened;
  }

  /** A lost yield of a streaming generator: reopened, so the generator's re-execution seals it again. */
  private reopenYield(id: ObjectId): void {
    const o = this.registerObject(id, false);
    const ex = this.core.exports;
    if (ex.objState(o.entry) === L.OBJ_LOST) ex.objReopen(o.entry);
    o.freeWhenSealed = false;
  }

  private putIds = new Set<ObjectId>();
  private isPutId(id: ObjectId): boolean { return this.putIds.has(id); }

  /** Actor calls whose results a replay is rebuilding now, by task id: a second loss waits for the same replay. */
  private readonly actorRebuilds = new Set<TaskId>();

  /**
   * Rebuilds a lost result of an actor call by replaying the actor's stateful chain on a replica, so the live
   * actor (its state, its queue, its restarts) is untouched:
   * 1. The call must still be in the actor's log (made after its last checkpoint) and the actor alive: else
   *    ReconstructionError naming why.
   * 2. A fresh instance is built like the actor's (its constructor arguments, restored from its checkpoint),
   *    hosted under a new actor id on some thread, and replays the logged calls before the lost one without
   *    keeping their results; the lost call itself runs for real and seals into the reopened returns.
   * 3. When they are sealed the replica is dropped. A replica whose thread dies is restarted like any actor.
   */
  private rebuildActorResult(task: TaskEntry, id: ObjectId, announced: boolean): number {
    const actor = this.actors.get(task.actorId!);
    const obj = this.registerObject(id, false);
    if (this.actorRebuilds.has(task.id)) return obj.entry;
    if (task.state === "pending" || task.state === "running") return obj.entry; // its first run will seal it
    if (!actor || actor.state === "dead") {
      throw new ReconstructionError(`object ${id} was made by ${task.name} and is lost; its actor is dead, so its chain cannot be replayed`);
    }
    const upTo = actor.log.indexOf(task);
    if (upTo < 0) {
      throw new ReconstructionError(`object ${id} was made by ${task.name} (call ${task.seq}) and is lost; only calls after the actor's last checkpoint (call ${actor.checkpoint?.seq ?? 0}) can be replayed`);
    }
    const reopened = this.reopenReturns(task);
    this.actorRebuilds.add(task.id);
    if (!announced) this.emit("object:lost", { objectId: id, taskId: formatTaskId(task.id) });

    const replicaTaskId = childTaskId(DRIVER_TASK_ID, this.driverChildren++);
    const replicaId = replicaTaskId as unknown as ActorId;
    const create = this.newTask(replicaTaskId, DRIVER_TASK_ID, "actor-create", actor.fnId, `${actor.className} (replay)`,
      actor.create.payload, actor.create.deps, [], resolveTaskOptions({}));
    create.actorId = replicaId;
    const marker = this.objects.get(objectIdOf(replicaTaskId, 0));
    if (marker) marker.freeWhenSealed = true; // nobody holds a replica's creation marker
    // Copies of the logged calls under the replica: same task ids (so the lost call seals the same objects),
    // no graph nodes of their own; only the lost call keeps its result and holds its arguments while it runs.
    const log: TaskEntry[] = actor.log.slice(0, upTo + 1).map((call) => ({
      ...call, actorId: replicaId, slot: NO_SLOT, node: undefined, ownedPuts: NONE, replay: call !== task,
      state: call === task ? "pending" as const : call.state, attempts: 0,
      options: call === task ? { ...call.options, maxRetries: -1 } : call.options,
    }));
    const target = log[log.length - 1]!;
    for (const d of target.deps) this.incRef(d);
    for (const d of target.nestedRefs) this.incRef(d);
    this.inFlight++;
    const replica: ActorEntry = {
      id: replicaId, fnId: actor.fnId, className: actor.className, methods: actor.methods, create,
      options: { maxRestarts: 3 }, worker: this.placeActor(), state: "alive", restarts: 0, log,
      checkpoint: actor.checkpoint, seq: actor.checkpoint?.seq ?? 0, resources: {},
    };
    this.actors.set(replicaId, replica);
    const done = () => {
      this.actorRebuilds.delete(task.id);
      for (const rid of reopened) this.decRef(rid);
      if (this.actors.get(replicaId) === replica) {
        this.actors.delete(replicaId);
        if (replica.state === "alive") { this.pool.post(replica.worker, { t: "actor-drop", actorId: replicaId }); this.actorLoad[replica.worker]--; }
      }
    };
    this.whenSealedNoRecover(id).then(() => {
      done();
      this.emit("object:rebuilt", { objectId: id, taskId: formatTaskId(task.id) });
    }, done);
    this.dispatch(create);
    for (const call of log) this.dispatchActorTask(call);
    return obj.entry;
  }

  private whenSealedNoRecover(id: ObjectId): Promise<void> {
    if (this.isReadable(id)) return Promise.resolve();
    return new Promise((resolve, reject) => this.fileSealWaiter(id, { resolve: () => resolve(), reject }));
  }

  private fileSealWaiter(id: ObjectId, waiter: SealWaiter): void {
    const list = this.sealWaiters.get(id);
    if (list) list.push(waiter); else this.sealWaiters.set(id, [waiter]);
  }

  /** Drops a stored object as a lost node would (fault injection). */
  evict(ref: ObjectRef): boolean {
    checkOwnedBy(this, ref, "faults.evict(): the ref");
    const o = this.objects.get(ref.id);
    if (!o || o.entry === 0) return false;
    const ex = this.core.exports;
    if (ex.objState(o.entry) !== L.OBJ_SEALED) return false;
    const flags = ex.objFlags(o.entry);
    const location = ex.objLocation(o.entry);
    ex.objSetState(o.entry, L.OBJ_LOST);
    if (flags & L.FLAG_SEGMENT) {
      this.store.release(o.id, location, flags);
      this.spill.forget(o.id);
      this.droppedSegments.push(o.id);
      this.flushDroppedSegments();
    } else if (location !== 0) {
      // A worker may be reading it right now (it saw it sealed an instant ago, with a ref it holds): a block
      // freed at once could be reused by the next seal and decoded as this object's value. Unlike a free (no
      // ref left, so no reader), an eviction waits until any such read is long over.
      setTimeout(() => { if (!this.closed) this.core.exports.arenaFree(location); }, EVICTED_BLOCK_QUARANTINE_MS).unref();
    }
    if (o.isPut) this.putIds.add(o.id);
    this.emit("object:lost", { objectId: o.id, taskId: formatTaskId(this.producerOf(o.id)), reason: "evicted" });
    return true;
  }

  // ---- cancellation ----

  private cancelTask(taskId: TaskId, force: boolean): void {
    const entry = this.tasks.get(taskId);
    if (entry?.state === "cancelled" && force) {
      // Cancelled before without force and still running (its code may never settle): force kills its worker now.
      const slot = entry.slot;
      if (slot !== NO_SLOT && this.slotOwner[slot] === entry && this.core.taskField(slot, L.TASK_STATE) === L.TASK_RUNNING) {
        void this.faults.killWorker(this.core.taskField(slot, L.TASK_WORKER));
      }
      return;
    }
    if (!entry || entry.state === "finished" || entry.state === "failed" || entry.state === "cancelled") return;
    const error = new TaskCancelledError(`task ${entry.name} (${formatTaskId(taskId)}) was cancelled`);
    const slot = entry.slot;
    if (slot !== NO_SLOT) {
      const ex = this.core.exports;
      const prev = ex.taskCasState(slot, L.TASK_PENDING, L.TASK_CANCELLED);
      const prev2 = prev === L.TASK_PENDING ? prev : ex.taskCasState(slot, L.TASK_READY, L.TASK_CANCELLED);
      if (prev2 === L.TASK_RUNNING) {
        const worker = this.core.taskField(slot, L.TASK_WORKER);
        // Seal the cancellation first: the aborted task may finish within microseconds of the signal.
        this.sealError(entry, error);
        this.finishTask(entry, "cancelled", worker);
        if (force) this.faults.killWorker(worker);
        else this.pool.post(worker, { t: "abort", taskId }); // it may still finish; its ref rejects anyway, as in Ray
        return;
      }
    } else {
      this.backlog.remove(entry);
    }
    this.sealError(entry, error);
    this.finishTask(entry, "cancelled", -1);
    // Waiting for resources (perhaps ones no node offers): it never starts, so its slot is free now.
    const waiting = this.admitWaiting.indexOf(entry);
    if (waiting >= 0) {
      this.admitWaiting.splice(waiting, 1);
      this.releaseSlot(slot);
    }
  }

  /** "finished" or "failed" when every return of `entry` is sealed in the core (a value or an error), else undefined. */
  private returnsSealed(entry: TaskEntry): "finished" | "failed" | undefined {
    const ex = this.core.exports;
    let failed = false;
    for (let i = 0; i < entry.options.numReturns; i++) {
      const id = objectIdOf(entry.id, i);
      const e = ex.objFind(idLo(id), idHi(id));
      if (e === 0) return undefined;
      const state = ex.objState(e);
      if (state !== L.OBJ_SEALED && state !== L.OBJ_SPILLED) return undefined;
      if (ex.objFlags(e) & L.FLAG_ERROR) failed = true;
    }
    return failed ? "failed" : "finished";
  }

  /** The driver seals a task's returns with an error (cancelled, crashed, actor died). */
  private sealError(entry: TaskEntry, error: Error): void {
    const ex = this.core.exports;
    let released = 0;
    for (let i = 0; i < entry.options.numReturns; i++) {
      const id = objectIdOf(entry.id, i);
      const o = this.registerObject(id, false);
      if (ex.objState(o.entry) === L.OBJ_SEALED) continue;
      const where = this.store.writeError(id, error);
      released += this.seal(o, where);
    }
    this.notifyWorkers(released);
  }

  // ---- workers: messages and deaths ----

  private onWorkerMessage(index: number, m: WorkerToDriver): void {
    switch (m.t) {
      case "ready": break;
      case "done": {
        if (m.checkpoint) this.onCheckpoint(m.checkpoint.actorId, m.checkpoint.seq, m.checkpoint.state);
        // Seals deferred by the worker until the driver had read the task's own messages.
        for (const r of m.seals ?? []) this.notifyWorkers(this.seal(this.registerObject(r.id, false), r));
        this.onTaskDone(m.slot);
        this.drainAdmissions();
        break;
      }
      case "submit": this.submitFromWorker(index, m.spec); break;
      case "put": {
        const o = this.registerObject(m.id, true);
        if (m.segment) { this.store.keepSegment(m.id, m.segment); this.segmentStored(m.id); }
        this.holdContained(o, m.refs);
        // Held for the thread that put it until it reports its refs dropped (an actor's state may keep them), or
        // the plain task that put it ends (if the ref escapes in its result, the result holds it), or it dies.
        this.holdForThread(index, m.id, m.parentId);
        this.seal(o, m);
        this.recordNode(new GraphRecord(taskIdOfObject(m.id), "put", "put", "finished"));
        this.onSealed(m.id);
        break;
      }
      case "segment": {
        this.store.keepSegment(m.id, m.segment);
        this.segmentStored(m.id);
        const o = this.objects.get(m.id);
        if (o) this.holdContained(o, m.refs);
        this.onSealed(m.id);
        break;
      }
      case "contains": {
        const o = this.objects.get(m.id);
        if (o) this.holdContained(o, m.refs);
        break;
      }
      case "want": {
        this.restoreIfSpilled(m.id);
        this.spill.touch(m.id);
        if (this.isReadable(m.id)) {
          this.pool.post(index, { t: "object", id: m.id, segment: this.store.segmentToSend(m.id) });
          break;
        }
        let set = this.workerWants.get(m.id);
        if (!set) { set = new Set(); this.workerWants.set(m.id, set); }
        set.add(index);
        const o = this.objects.get(m.id);
        if (!o || o.entry === 0 || this.core.exports.objState(o.entry) === L.OBJ_LOST) {
          try { this.recover(m.id); } catch (error) { this.rejectWaiters(m.id, error as Error); }
        }
        break;
      }
      case "yield": this.onYield(m); break;
      case "stream-wait": this.streams.wantRoom(index, m.taskId, m.need); break;
      case "borrow": this.holdForThread(index, m.id, DRIVER_TASK_ID); break;
      case "refs": for (const id of m.drop) this.releaseWorkerPut(index, id); break;
      case "cancel": this.cancelTask(this.producerOf(m.id), m.force); break;
      case "kill-actor": this.killActor(m.actorId, m.noRestart); break;
    }
  }

  /**
   * A streaming generator's yield, written by its worker: registered under the generator's lineage, sealed, and
   * handed to its stream. A yield nobody holds (a rebuild's repeat of one long dropped) is freed again at once.
   */
  private onYield(m: Extract<WorkerToDriver, { t: "yield" }>): void {
    this.streams.noteItem(m.taskId, m.id);
    const o = this.registerObject(m.id, false);
    if (this.core.exports.objState(o.entry) === L.OBJ_SEALED) {
      this.store.release(m.id, m.location, m.flags & ~L.FLAG_SEGMENT); // sealed first by an earlier run: keep that
      return;
    }
    if (m.segment) { this.store.keepSegment(m.id, m.segment); this.segmentStored(m.id); }
    this.holdContained(o, m.refs);
    this.notifyWorkers(this.seal(o, m));
    const kept = this.streams.arrived(m.taskId, m.index);
    this.onSealed(m.id);
    if (!kept && o.refs <= 0 && this.objects.get(m.id) === o) this.freeObject(o);
  }

  private submitFromWorker(index: number, spec: WireSubmission): void {
    if (this.closed) return;
    const existing = this.tasks.get(spec.taskId);
    if (existing) {
      // A re-executed parent submits the same child again: reuse it; it is not run twice. Its new refs there
      // hold its results again.
      if (!spec.actorCreate) this.holdResultsForThread(index, existing, spec.parentId);
      return;
    }
    if (spec.actorCreate) {
      this.createActorEntry(spec.taskId, spec.parentId, spec.fn, spec.actorCreate.methods, spec.payload, spec.deps, spec.nested, spec.actorCreate.options);
      return;
    }
    if (spec.actorCall) {
      const actor = this.actors.get(spec.actorCall.actorId);
      const resolved = resolveTaskOptions(spec.options);
      const entry = this.newTask(spec.taskId, spec.parentId, "actor-method", -1, `${actor?.className ?? "actor"}.${spec.actorCall.method}`, spec.payload, spec.deps, spec.nested, resolved);
      entry.actorId = spec.actorCall.actorId;
      entry.method = spec.actorCall.method;
      this.holdResultsForThread(index, entry, spec.parentId);
      this.dispatch(entry);
      return;
    }
    const resolved = resolveTaskOptions(spec.options);
    const entry = this.newTask(spec.taskId, spec.parentId, "task", this.functionId(spec.fn), resolved.name ?? spec.fn.name, spec.payload, spec.deps, spec.nested, resolved);
    this.holdResultsForThread(index, entry, spec.parentId);
    if (resolved.resources !== DEFAULT_RESOURCES) this.noteIfInfeasible(resolved.resources, entry.id, entry.name);
    this.dispatch(entry);
  }

  private onWorkerExit(index: number, generation: number): void {
    if (this.closed) return;
    const w = this.pool.workers[index];
    if (w && w.generation !== generation) return;
    this.emit("worker:died", { worker: index });
    this.crashes.threadDied();
    // Anything the dead thread had started must be retried, failed, or (actors) restarted elsewhere.
    const ex = this.core.exports;
    for (let slot = 0; slot < this.slotOwner.length; slot++) {
      const entry = this.slotOwner[slot];
      if (!entry || entry.kind !== "task") continue;
      const state = this.core.taskField(slot, L.TASK_STATE);
      if (state !== L.TASK_RUNNING || this.core.taskField(slot, L.TASK_WORKER) !== index) continue;
      if (entry.admitted) { this.releaseResources(entry.options.resources); entry.admitted = false; }
      const sealed = this.returnsSealed(entry);
      if (sealed !== undefined && entry.state !== "cancelled") {
        // Died after sealing its results, before its end was taken: callers may have read them. It finished.
        this.releaseSlot(slot);
        this.finishTask(entry, sealed, index);
        continue;
      }
      const limit = entry.options.maxRetries;
      const settled = entry.state === "cancelled" || entry.state === "failed" || entry.state === "finished";
      if (!settled && (limit === -1 || entry.attempts < limit || entry.timedOut)) {
        entry.timedOut = false;
        entry.attempts++;
        entry.run = entry.runs++;
        this.core.setTaskField(slot, L.TASK_ATTEMPT, entry.attempts);
        this.core.setTaskField(slot, L.TASK_RUN, entry.run);
        if (entry.options.timeoutMs !== undefined) this.watchTimeout(entry, slot);
        this.emit("task:retried", { taskId: formatTaskId(entry.id), name: entry.name, attempt: entry.attempts, reason: "worker died" });
        if (!isDefaultResources(entry.options.resources)) {
          this.core.setTaskField(slot, L.TASK_TARGET, L.TARGET_ADMIT);
        }
        ex.taskRequeue(slot);
        this.notifyWorkers(1);
        if (!isDefaultResources(entry.options.resources)) this.drainAdmissions();
      } else {
        this.releaseSlot(slot);
        if (!settled) {
          const death = this.pool.deathOf(index);
          this.sealError(entry, new WorkerCrashedError(`task ${entry.name} (${formatTaskId(entry.id)}): its worker ${index} died (${death.reason}) and ${limit} retries are spent`, { cause: death.cause }));
          this.finishTask(entry, "failed", index);
        }
      }
    }
    // Its refs died with it: whatever else needs those objects holds them itself (arguments, containers).
    const held = this.workerPuts[index];
    if (held) { this.workerPuts[index] = new Set(); for (const id of held) this.decRef(id); }
    this.pool.spawn(index);
    // The replacement knows no functions yet: give it every definition before it can take a task.
    this.functionList.forEach((fn, id) => this.pool.post(index, { t: "fn", id, fn }));
    for (const [key, buffers] of this.sharedBuffers) this.pool.post(index, { t: "shared", key, buffers });
    for (const [name, id] of this.namedActors) this.pool.post(index, { t: "actor-name", name, actor: this.descriptorOf(this.actors.get(id)!) });
    this.emit("worker:started", { worker: index });
    this.actorLoad[index] = 0;
    for (let slot = 0; slot < this.slotOwner.length; slot++) {
      if ((this.slotOwner[slot] as { tombstone?: number } | undefined)?.tombstone === index) this.releaseSlot(slot);
    }
    for (const actor of this.actors.values()) {
      if (actor.state === "alive" && !actor.awaitingResources && actor.worker === index) this.restartActor(actor, `its worker ${index} died`, false);
    }
  }

  // ---- actors ----

  createActor(cls: FunctionDescriptor, methods: string[], args: unknown[], options: ActorOptions & TaskOptions): ActorHandle {
    this.checkOpen();
    const taskId = childTaskId(DRIVER_TASK_ID, this.driverChildren++);
    const { payload, deps, nested, sharedKey } = this.encodeArgs(args);
    const actor = this.createActorEntry(taskId, DRIVER_TASK_ID, cls, methods, payload, deps, nested, options);
    actor.create.sharedKey = sharedKey;
    const handle = makeActorHandle(this, { actorId: actor.id, className: actor.className, methods });
    if (options.name === undefined) this.handleFinalizer.register(handle, actor.id);
    return handle;
  }

  /**
   * As in Ray, an unnamed actor whose handles are all gone is terminated once its pending calls finish. The
   * driver sees its own handle die; a handle that ever went into a task's arguments or a stored value may live
   * on where the driver cannot see, so that actor is kept (escaped).
   */
  private readonly handleFinalizer = new FinalizationRegistry<ActorId>((id) => this.handleGone(id));
  private handleGone(id: ActorId): void {
    const actor = this.actors.get(id);
    if (!actor || this.closed || actor.state === "dead" || actor.escaped || actor.name !== undefined) return;
    actor.terminateWhenIdle = true;
    this.terminateIfIdle(actor);
  }
  private terminateIfIdle(actor: ActorEntry): void {
    if (!actor.terminateWhenIdle || actor.state === "dead" || actor.escaped) return;
    const busy = actor.create.state === "pending" || actor.create.state === "running" ||
      actor.log.some((call) => call.state === "pending" || call.state === "running");
    if (!busy) this.killActor(actor.id, true, "its handles are all gone");
  }
  /** Called by the value codec when this runtime encodes an actor handle (see handleGone). */
  actorEncoded(descriptor: ActorHandleDescriptor): void {
    const actor = this.actors.get(descriptor.actorId);
    if (actor) actor.escaped = true;
  }

  private createActorEntry(
    taskId: TaskId, parentId: TaskId, cls: FunctionDescriptor, methods: string[], payload: Uint8Array,
    deps: ObjectId[], nested: ObjectId[], options: ActorOptions & TaskOptions,
  ): ActorEntry {
    const actorId = taskId as unknown as ActorId;
    if (options.name !== undefined) {
      const existing = this.namedActors.get(options.name);
      if (existing !== undefined && this.actors.get(existing)?.state === "alive") {
        throw new LoomError(`an actor named ${JSON.stringify(options.name)} already exists; pick another name or kill it first`);
      }
    }
    const resources = options.resources ?? {};
    this.noteIfInfeasible({ cpu: 0, ...resources }, taskId, cls.name);
    const fnId = this.functionId(cls);
    // Refs nested in the constructor's arguments are held for the actor's life: a restart decodes them again.
    const create = this.newTask(taskId, parentId, "actor-create", fnId, cls.name, payload, deps, nested, resolveTaskOptions({}));
    create.actorId = actorId;
    const actor: ActorEntry = {
      id: actorId, fnId, className: cls.name, methods, create, options, worker: this.placeActor(), state: "alive",
      restarts: 0, log: [], seq: 0, name: options.name, resources,
    };
    this.actors.set(actorId, actor);
    if (options.name !== undefined) {
      this.namedActors.set(options.name, actorId);
      this.pool.broadcast({ t: "actor-name", name: options.name, actor: this.descriptorOf(actor) });
    }
    if (this.fits(resources)) {
      this.acquire(resources);
      this.dispatch(create);
    } else {
      actor.awaitingResources = true;
      this.actorsAwaitingResources.push(actor);
    }
    return actor;
  }

  /** The worker hosting the fewest actors. */
  private placeActor(exclude = -1): number {
    let best = -1;
    for (let i = 0; i < this.workerCount; i++) {
      if (i === exclude && this.workerCount > 1) continue;
      if (best < 0 || this.actorLoad[i] < this.actorLoad[best]) best = i;
    }
    this.actorLoad[best]++;
    return best;
  }

  submitActorCall(desc: ActorHandleDescriptor, method: string, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[] | ObjectRefGenerator {
    this.checkOpen();
    const actor = this.actors.get(desc.actorId);
    const taskId = childTaskId(DRIVER_TASK_ID, this.driverChildren++);
    const { payload, deps, nested, sharedKey } = this.encodeArgs(args);
    const resolved = resolveTaskOptions({ ...options, maxRetries: options.maxRetries ?? actor?.options.maxTaskRetries ?? 0 });
    const entry = this.newTask(taskId, DRIVER_TASK_ID, "actor-method", -1, `${desc.className}.${method}`, payload, deps, nested, resolved);
    entry.sharedKey = sharedKey;
    entry.actorId = desc.actorId;
    entry.method = method;
    const refs = this.returnRefsOrStream(entry);
    this.dispatch(entry);
    return refs;
  }

  private dispatchActorTask(entry: TaskEntry): void {
    const actor = this.actors.get(entry.actorId!);
    if (entry.kind === "actor-method") {
      if (!actor || actor.state === "dead") {
        entry.state = "failed";
        const death = actor?.deathError ?? this.deadActors.get(entry.actorId!);
        this.sealError(entry, death ? fromWire(death) : new ActorDiedError(`actor ${entry.name.split(".")[0]} is dead`));
        this.finishTask(entry, "failed", -1);
        return;
      }
      if (entry.seq === undefined) {
        entry.seq = ++actor.seq;
        actor.log.push(entry);
        if (actor.lastCall !== undefined) this.recordEdge(actor.lastCall, entry.id, 2);
        actor.lastCall = entry.id;
      }
    }
    if (!actor) return;
    if (actor.awaitingResources) { entry.state = "pending"; return; } // sent in order once it is admitted
    const slot = this.takeSlot(entry);
    if (slot === NO_SLOT) { this.toBacklog(entry); return; }
    // Actor tasks go straight to the hosting thread (not through the shared ready queue), in order.
    Atomics.store(this.i32, (this.core.plan.taskTable + slot * L.TASK_BYTES + L.TASK_STATE) >> 2, L.TASK_READY);
    if (!entry.replay) entry.state = "running"; // a replayed call keeps its settled state
    const segments = this.segmentsFor(entry.deps);
    if (entry.kind === "actor-create") {
      this.pool.post(actor.worker, { t: "actor-create", actorId: actor.id, slot, fnId: actor.fnId, checkpoint: actor.checkpoint?.state, checkpointSeq: actor.checkpoint?.seq ?? 0, checkpointEvery: actor.options.checkpointEvery ?? 0, maxConcurrency: actor.options.maxConcurrency, segments });
    } else {
      this.pool.post(actor.worker, { t: "actor-call", actorId: actor.id, slot, replay: entry.replay ?? false, seq: entry.seq!, segments });
    }
  }

  /**
   * The segments of an actor task's arguments that are readable here, sent with the task to its thread: asked
   * for when the call starts instead, each cost a round trip through this thread's event loop, and a driver
   * busy submitting (say, encoding the next big arguments) left the actor idle until it was done.
   */
  private segmentsFor(deps: ObjectId[]): Array<[ObjectId, SharedArrayBuffer]> | undefined {
    let out: Array<[ObjectId, SharedArrayBuffer]> | undefined;
    for (const d of deps) {
      if (!this.isReadable(d) || !this.store.segments.has(d)) continue;
      this.spill.touch(d);
      (out ??= []).push([d, this.store.segmentToSend(d)!]); // pinned for the thread, which adopts it
    }
    return out;
  }

  private onCheckpoint(actorId: ActorId, seq: number, state: Uint8Array): void {
    const actor = this.actors.get(actorId);
    if (!actor) return;
    actor.checkpoint = { seq, state };
    // Calls up to the checkpoint need not be replayed again: nor kept, unless something still reads them.
    while (actor.log.length && actor.log[0].seq! <= seq) this.forgetIfUnneeded(actor.log.shift()!);
  }

  private killActor(actorId: ActorId, noRestart: boolean, why = "it was killed"): void {
    const actor = this.actors.get(actorId);
    if (!actor || actor.state === "dead") return;
    if (actor.awaitingResources && !noRestart) return; // never started: a crash has nothing to kill
    this.pool.post(actor.worker, { t: "actor-drop", actorId });
    this.actorLoad[actor.worker]--;
    if (noRestart) this.actorDied(actor, new ActorDiedError(`actor ${actor.className} was killed`));
    else this.restartActor(actor, why);
  }

  /**
   * Restarts an actor on another thread:
   * 1. If its restarts are spent, it dies: pending and future calls fail with ActorDiedError.
   * 2. Otherwise a fresh instance is created (restored from the last checkpoint, if any).
   * 3. Calls since that checkpoint are replayed in order: finished ones only to rebuild state (their results
   *    are kept), unfinished ones for real if their retries allow, else they fail with ActorDiedError.
   */
  private restartActor(actor: ActorEntry, why: string, threadAlive = true): void {
    const limit = actor.options.maxRestarts ?? 0;
    if (limit !== -1 && actor.restarts >= limit) {
      this.actorDied(actor, new ActorDiedError(`actor ${actor.className} died (${why}) and has no restarts left (maxRestarts=${limit})`), threadAlive);
      return;
    }
    actor.restarts++;
    const old = actor.worker;
    actor.worker = this.placeActor(old);
    this.emit("actor:restarted", { actorId: actor.id, className: actor.className, worker: actor.worker, restarts: actor.restarts });
    this.abandonSlots(actor, threadAlive, old);
    const create = actor.create;
    if (create.state === "finished" || create.state === "failed" || create.state === "cancelled") {
      // It will finish again: hold its arguments again (finishing releases them) and count it in flight.
      for (const d of create.deps) this.incRef(d);
      this.inFlight++;
    }
    create.state = "pending";
    this.redispatch(create);
    const died = new Set<TaskEntry>();
    for (const call of actor.log) {
      // Its results sealed but its end not taken yet: callers may have read them, so it finished (it is replayed,
      // never run again as a retry, which would apply it to the state twice).
      const sealed = call.state === "running" ? this.returnsSealed(call) : undefined;
      if (sealed !== undefined) this.finishTask(call, sealed, old);
      const finished = call.state === "finished" || call.state === "failed";
      if (finished) {
        call.replay = true;
        this.redispatch(call);
        continue;
      }
      if (call.state === "cancelled") continue;
      const retries = call.options.maxRetries;
      if (retries === -1 || call.attempts < retries) {
        call.attempts++;
        call.run = call.runs++;
        call.timedOut = false;
        this.redispatch(call);
      } else {
        this.sealError(call, new ActorDiedError(`actor ${actor.className} died (${why}) while running ${call.name}; maxTaskRetries=${retries}`));
        this.finishTask(call, "failed", old);
        died.add(call);
      }
    }
    // A call that died with the old instance never touched the state the new one rebuilds: never replay it.
    if (died.size) actor.log = actor.log.filter((call) => !died.has(call));
  }

  private redispatch(entry: TaskEntry): void {
    if (entry.slot !== NO_SLOT) this.releaseSlot(entry.slot);
    this.dispatchActorTask(entry);
  }

  /** Slots of this actor's tasks that were sent to the dead thread will never be reported: free them. */
  private abandonSlots(actor: ActorEntry, threadAlive: boolean, worker: number): void {
    // Calls that finished but whose "done" record the driver has not taken yet: settle them before freeing slots.
    this.drainDone();
    for (let slot = 0; slot < this.slotOwner.length; slot++) {
      const e = this.slotOwner[slot];
      if (!e || e.actorId !== actor.id || (e.kind !== "actor-method" && e.kind !== "actor-create")) continue;
      if (!threadAlive) { this.releaseSlot(slot); continue; }
      // The old thread still holds this slot (queued, running, or its message not read yet): it reports it skipped
      // or done; until then nobody else may use it.
      e.slot = NO_SLOT;
      this.slotOwner[slot] = { tombstone: worker, actorId: undefined, kind: "put", slot } as unknown as TaskEntry;
    }
  }

  private actorDied(actor: ActorEntry, error: ActorDiedError, threadAlive = true): void {
    actor.state = "dead";
    actor.deathError = toWire(error);
    if (!actor.awaitingResources) this.releaseResources(actor.resources);
    if (actor.name !== undefined && this.namedActors.get(actor.name) === actor.id) {
      this.namedActors.delete(actor.name);
      this.pool.broadcast({ t: "actor-name", name: actor.name, actor: null });
    }
    this.emit("actor:died", { actorId: actor.id, className: actor.className });
    this.abandonSlots(actor, threadAlive, actor.worker);
    for (const call of actor.log) {
      if (call.state === "pending" || call.state === "running") {
        this.sealError(call, error);
        this.finishTask(call, "failed", -1);
      }
    }
    if (actor.create.state === "pending" || actor.create.state === "running") {
      this.sealError(actor.create, error);
      this.finishTask(actor.create, "failed", -1);
    }
    // It will never be built again: the refs its constructor's arguments nested are free to go.
    for (const d of actor.create.nestedRefs) this.decRef(d);
    actor.create.nestedRefs = NONE;
    if (!actor.awaitingResources) this.drainAdmissions(); // what it held may start actors and tasks that wait
    this.forgetActor(actor);
  }

  /**
   * A dead actor is forgotten, so the driver's tables do not grow with the actors ever made: its entry, its
   * constructor and its logged calls (those whose results something still reads go when those are freed).
   * Later calls through a handle still fail with its death error, kept for the most recent deaths.
   */
  private forgetActor(actor: ActorEntry): void {
    if (this.actors.get(actor.id) !== actor) return;
    this.actors.delete(actor.id);
    this.deadActors.set(actor.id, actor.deathError!);
    if (this.deadActors.size > DEAD_ACTORS_KEPT) this.deadActors.delete(this.deadActors.keys().next().value!);
    for (const call of actor.log) this.forgetIfUnneeded(call);
    actor.log = [];
    // Nobody holds a ref to the creation marker: freeing it releases the constructor's lineage.
    const marker = this.objects.get(objectIdOf(actor.create.id, 0));
    if (marker && marker.refs <= 0) this.freeObject(marker);
    this.forgetIfUnneeded(actor.create);
  }
  /** Death errors of recently forgotten actors, oldest first (see forgetActor). */
  private readonly deadActors = new Map<ActorId, WireError>();

  // ---- used by Faults ----

  busyWorker(): number {
    for (let slot = 0; slot < this.slotOwner.length; slot++) {
      if (this.slotOwner[slot] && this.core.taskField(slot, L.TASK_STATE) === L.TASK_RUNNING) {
        const w = this.core.taskField(slot, L.TASK_WORKER);
        if (w >= 0) return w;
      }
    }
    return 0;
  }

  terminateWorker(index: number): Promise<number> {
    const w = this.pool.workers[index];
    if (!w || !w.alive) return Promise.resolve(index);
    return w.thread.terminate().then(() => index);
  }

  restartActorByFault(handle: ActorHandle): void {
    checkOwnedBy(this, handle, "faults.killActor(): the handle");
    this.killActor(handle[ACTOR_BRAND].actorId, false, "killed by faults.killActor");
  }

  /** Whether anyone listens: the hot path builds event payloads only then. */
  private listening(event: string): boolean {
    return this.events.listenerCount(event) > 0;
  }

  emit(event: string, payload: Record<string, unknown>): void {
    if (this.events.listenerCount(event) > 0) this.events.emit(event, payload);
  }
}

/** The fault-injection surface used by tests and demos. */
export class Faults {
  constructor(private readonly rt: Runtime) {}
  /** Kills a worker thread mid-flight, as a crash would (default: a busy one). */
  killWorker(index?: number): Promise<number> {
    if (index !== undefined && (!Number.isInteger(index) || index < 0 || index >= this.rt.workerCount)) {
      throw new LoomError(`faults.killWorker: no worker ${String(index)} (there are ${this.rt.workerCount}, 0-based)`);
    }
    return this.rt.terminateWorker(index ?? this.rt.busyWorker());
  }
  /** Drops a stored object without spilling; false when it is not stored (yet). */
  evict(ref: ObjectRef): boolean {
    if (!isObjectRef(ref)) throw new LoomError(`faults.evict: expected an ObjectRef, got ${describeArgument(ref)}`);
    return this.rt.evict(ref);
  }
  /**
   * Arms a crash point: the next `times` threads to reach `point` die there, as a crash would. Resolves with
   * what fired once every armed crash has (or at disarm()).
   */
  crashAt(point: CrashPoint, options: { times?: number } = {}): Promise<CrashReport> {
    if (typeof options !== "object" || options === null) throw new LoomError(`faults.crashAt: options must be an object, got ${String(options)}`);
    return this.rt.crashes.arm(point, options.times ?? 1);
  }
  /** Clears the armed crashes that have not fired; crashAt's promises resolve with what did. */
  disarm(): void {
    this.rt.crashes.disarm();
  }
  /** Crashes an actor; it restarts if its maxRestarts allows. */
  killActor(handle: ActorHandle): void {
    if (!isActorHandle(handle)) throw new LoomError(`faults.killActor: expected an actor handle, got ${describeArgument(handle)}`);
    this.rt.restartActorByFault(handle);
  }
}

/** Why a rebuild of `task` failed: the argument `lost` could not come back (itself a ReconstructionError, or its cause). */
function reconstructionFailure(task: TaskEntry, lost: ObjectId, error: Error): ReconstructionError {
  if (error instanceof ReconstructionError) return error;
  return new ReconstructionError(
    `task ${task.name} (${formatTaskId(task.id)}) could not be rebuilt: its argument ${formatObjectId(lost)} is lost (${error.message})`,
    { cause: error });
}

function isDefaultResources(r: Resources): boolean {
  const keys = Object.keys(r);
  return keys.length === 0 || keys.length === 1 && keys[0] === "cpu" && r.cpu === 1;
}


export type { EncodedValue };

/** A FIFO with O(1) shift and a lazy remove (removed items are skipped). */
class Backlog<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private removed = 0;
  get length(): number {
    return this.items.length - this.head - this.removed;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    while (this.head < this.items.length) {
      const item = this.items[this.head];
      this.items[this.head++] = undefined;
      if (item !== undefined) {
        if (this.head > 4096 && this.head * 2 > this.items.length) { this.items = this.items.slice(this.head); this.head = 0; }
        return item;
      }
      this.removed--;
    }
    return undefined;
  }
  /** Puts an item back at the head (the one shift() just gave, which could not start yet). */
  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }
  /** Takes the newest item (the one push() just added). */
  pop(): T | undefined {
    while (this.items.length > this.head) {
      const item = this.items.pop();
      if (item !== undefined) return item;
      this.removed--;
    }
    return undefined;
  }
  remove(item: T): void {
    const i = this.items.indexOf(item, this.head);
    if (i >= 0) { this.items[i] = undefined; this.removed++; }
  }
}
