// The driver's facade: the public API of SPEC.md, its argument checks, and the wiring of the owners that do
// the work (see engine/README.md): the task manager, the reference counter, the object directory and its seal
// waiters, lineage recovery, the actor manager, the scheduler (dispatch, admission, park/wake), the graph.
import { StreamTable } from "../streaming/stream-table.js";
import { ObjectRefGenerator, isObjectRefGenerator } from "../streaming/object-ref-generator.js";
import os from "node:os";
import { EventEmitter } from "eventemitter3";
import * as L from "../../core-wasm/shared/layout.js";
import { Core } from "../wasm/core.js";
import { ObjectStore } from "../object-store/object-store.js";
import { encodeValue, type EncodedValue } from "../serialization/value-codec.js";
import { LoomError, withCallerFrames } from "../errors.js";
import { childTaskId, objectIdOf, DRIVER_TASK_ID, type ObjectId } from "../ids.js";
import { ObjectRef, isObjectRef, isActorHandle, checkOwnedBy, ACTOR_BRAND, type ActorHandleDescriptor, type RefOwner } from "../refs.js";
import {
  RemoteFunction, makeActorHandle, wrapModule, type Backend, type FunctionDescriptor, type ActorHandle, type ModuleWrappers,
} from "../remote.js";
import { checkResources, type TaskOptions, type ActorOptions, type Resources } from "../options.js";
import { isDefaultResources } from "../scheduler/resource-ledger.js";
import { WorkerPool } from "../transport/worker-pool.js";
import { CrashControl } from "./crash-control.js";
import { Faults } from "./faults.js";
import { SpillManager } from "../object-store/spill-manager.js";
import { SegmentPool } from "../object-store/segment-pool.js";
import { ImmutabilityChecker } from "../object-store/immutability-checker.js";
import { setCurrent, clearCurrent } from "../current.js";
import { checkWaitArgs, checkTimeout, checkGetOptions, describeArgument, nameTakenMessage } from "../api-checks.js";
import { waitForReady } from "../wait.js";
import type { DriverContext } from "./driver-context.js";
import { RuntimeViews } from "./runtime-views.js";
import { submitDriverTask, createDriverActor, submitDriverActorCall, cancelDriverTask, withdrawDriverTask } from "./driver-tasks.js";
import type { InitOptions, RuntimeInspection } from "./runtime-types.js";
import { emitterSink } from "../graph/event-sink.js";
import { GraphRecorder, type GraphNode, type GraphEdge } from "../graph/graph-recorder.js";
import { ResourceLedger } from "../scheduler/resource-ledger.js";
import { TaskDispatcher } from "../scheduler/task-dispatcher.js";
import { ParkWake } from "../scheduler/park-wake.js";
import { TaskManager } from "../tasks/task-manager.js";
import { FunctionRegistry } from "../tasks/function-registry.js";
import { ArgumentEncoder } from "../tasks/argument-encoder.js";
import { ReferenceCounter } from "../refs/reference-counter.js";
import { ObjectDirectory } from "../object-store/object-directory.js";
import { SealWaiters } from "../object-store/seal-waiters.js";
import { ObjectReader } from "../object-store/object-reader.js";
import { RecoveryManager } from "../lineage/recovery-manager.js";
import { ActorManager } from "../actors/actor-manager.js";
import { WorkerProtocol } from "./worker-protocol.js";
import { exportRaw, exportWhenSealed, importAsNewObject, pullTarget } from "../object-store/raw-objects.js";
import type { RawObject } from "../object-store/raw-object.js";
import type { ClusterMembership } from "../cluster/driver-join.js";
import type { NodeSummary, TableSizes } from "../api.js";
import { clockOrigin } from "../clock.js";

export type { TaskKind } from "../tasks/task-entry.js";
export type { GraphNode, GraphEdge, EdgeKind } from "../graph/graph-recorder.js";
export { PAYLOAD_PREFIX } from "../tasks/task-entry.js";
export { Faults } from "./faults.js";
export type { EncodedValue };

export type { InitOptions, RuntimeInspection } from "./runtime-types.js";

export class Runtime implements Backend, RefOwner {
  readonly events = new EventEmitter();
  readonly faults: Faults;
  readonly workerCount: number;
  readonly objectStoreBytes: number;
  /** Crash points armed through faults.crashAt (see crash-control.ts). */
  readonly crashes: CrashControl;
  /** Where the dashboard serves; undefined while it is off. */
  dashboardUrl: string | undefined = undefined;
  /** Set by attachDashboard; closed at shutdown. */
  private dashboard: { close(): Promise<void> } | undefined;
  /** The owners, wired once here (see driver-context.ts). */
  private readonly d: DriverContext;
  /** Set by joinCluster when init was given an address. */
  private membership: ClusterMembership | undefined;
  private readonly offered: Record<string, number>;
  /** inspect(), tableSizes(), storeUsage(): read-only copies of the tables (runtime-views.ts). */
  private readonly views: RuntimeViews;

  constructor(options: InitOptions = {}) {
    // A driver that joins a cluster runs no tasks of its own unless given workers.
    const clustered = options.address !== undefined;
    const workers = options.workers ?? (clustered ? 0 : os.availableParallelism());
    if (!Number.isInteger(workers) || workers < (clustered ? 0 : 1)) throw new LoomError(`init: invalid workers ${String(options.workers)} (expected an integer >= ${clustered ? 0 : 1})`);
    const storeBytes = options.objectStoreBytes ?? Math.min(Math.floor(os.totalmem() / 4), 8 * 2 ** 30);
    if (!Number.isFinite(storeBytes) || storeBytes < 1024 * 1024) throw new LoomError(`init: invalid objectStoreBytes ${String(options.objectStoreBytes)} (expected at least 1 MiB)`);
    this.workerCount = workers;
    this.objectStoreBytes = storeBytes;
    this.offered = options.resources ? checkResources("resources", options.resources) : {};
    const totalResources = { cpu: workers, ...(options.resources ? checkResources("resources", options.resources) : {}) };
    const arenaBytes = Math.min(256 * 2 ** 20, Math.max(16 * 2 ** 20, 2 ** Math.floor(Math.log2(storeBytes / 4))));
    // A slot per KiB of arena (2^15-2^18): a 200k burst fits the core, not the driver's backlog (dispatched only as
    // others end, while workers idle); a full table's small payloads (128-byte blocks) take an eighth of the arena.
    const taskSlots = 1 << Math.min(18, Math.max(15, Math.floor(Math.log2(arenaBytes / 1024)))); // 1 <<, not 2 **: a double here made every TaskEntry.slot a boxed number
    const { core, handle } = Core.create({ taskSlots, objectCapacity: 1 << 21, arenaBytes, workers: Math.max(1, workers) });
    // The epoch workers stamp starts from and the driver's startTime are one instant on one clock (see clock.ts).
    const startTime = performance.now();
    new Float64Array(core.memory.buffer, L.CORE_BASE + L.CTL_EPOCH, 1)[0] = clockOrigin + startTime;
    const store = new ObjectStore(core, storeBytes, new SegmentPool(Math.min(storeBytes / 4, 2 ** 30)));
    if (options.spillDir !== undefined && (typeof options.spillDir !== "string" || options.spillDir === "")) {
      throw new LoomError(`init: invalid spillDir ${String(options.spillDir)} (expected a directory path)`);
    }
    const spill = new SpillManager(storeBytes, options.spillDir);
    this.crashes = new CrashControl(core.i32);
    this.faults = new Faults(this);
    const events = emitterSink(this.events);
    // Every field is named here, in one order, so the context keeps one shape; owners are filled in below.
    const d: { -readonly [K in keyof DriverContext]: DriverContext[K] } = this.d = {
      runtime: this, core, i32: core.i32, store, spill, transport: undefined!, events,
      immutability: undefined, crashes: this.crashes, faults: this.faults,
      workerCount: workers, objectStoreBytes: storeBytes, startTime, closed: false,
      graph: new GraphRecorder(), resources: new ResourceLedger(totalResources, events),
      functions: undefined!, args: undefined!, tasks: undefined!, refs: undefined!, objects: undefined!, waiters: undefined!,
      reader: undefined!, recovery: undefined!, actors: undefined!, dispatcher: undefined!, parkWake: undefined!, protocol: undefined!,
      streams: undefined!, cluster: undefined,
    };
    d.streams = new StreamTable({
      hold: (id) => d.refs.incRef(id),
      release: (id) => d.refs.decRef(id),
      refFor: (id) => new ObjectRef(id, this),
      // A generator on another node of a cluster is named by a negative "worker" (cluster-scheduler.ts).
      ack: (worker, taskId, taken) => worker < 0 ? d.cluster?.streamAck(taskId, taken) : d.transport.post(worker, { t: "stream-ack", taskId, taken }),
      ended: (taskId) => d.reader.getOne(objectIdOf(taskId, 0)) as Promise<number>,
    });
    d.functions = new FunctionRegistry(d);
    d.args = new ArgumentEncoder(d);
    d.tasks = new TaskManager(d);
    d.objects = new ObjectDirectory(d);
    d.refs = new ReferenceCounter(d.objects, d.tasks, (entry) => core.exports.objState(entry) === L.OBJ_SEALED, (id) => d.streams.producerOf(id), (id) => d.actors.handlesGone(id), (id) => d.actors.handleHeldByValue(id));
    d.waiters = new SealWaiters(d);
    d.reader = new ObjectReader(d);
    d.recovery = new RecoveryManager(d);
    d.actors = new ActorManager(d);
    d.dispatcher = new TaskDispatcher(d);
    d.parkWake = new ParkWake(d);
    d.protocol = new WorkerProtocol(d);
    const protocol = d.protocol;
    d.transport = new WorkerPool(handle, storeBytes, {
      message: (i, m) => protocol.onWorkerMessage(i, m),
      exit: (i, generation) => protocol.onWorkerExit(i, generation),
      error: (i, e) => this.emit("worker:error", { worker: i, error: e }),
    }, options.checkImmutable === true);
    for (let i = 0; i < workers; i++) {
      d.transport.spawn(i);
      this.emit("worker:started", { worker: i });
    }
    if (options.checkImmutable) d.immutability = new ImmutabilityChecker((id) => d.tasks.get(d.streams.producerOf(id))?.name);
    this.views = new RuntimeViews(d);
    setCurrent(this);
    d.parkWake.park();
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
    const taskId = childTaskId(DRIVER_TASK_ID, this.d.tasks.driverChildren++);
    const id = objectIdOf(taskId, 0);
    const where = this.d.store.writeEncoded(id, encoded, 0);
    const o = this.d.objects.registerObject(id, true);
    this.d.refs.holdContained(o, encoded.refs);
    this.d.objects.seal(o, where);
    if (where.segment) this.d.objects.segmentStored(id);
    this.d.graph.recordNode(taskId, "put", "put", "finished");
    const ref = new ObjectRef<T>(id, this);
    this.d.waiters.onSealed(id);
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
    const now = this.d.reader.readAllNow(refs);
    if (now) return now;
    if (!Array.isArray(refs) && isObjectRef(refs) && this.d.reader.pollSealed(refs.id)) {
      const polled = this.d.reader.readAllNow(refs);
      if (polled) return polled;
    }
    // The reader keeps the timeout itself: a timed-out get must let go of its holds on the objects (see getMany).
    const all = Array.isArray(refs)
      ? this.d.reader.getMany(refs.map((r) => r.id), options.timeoutMs)
      : this.d.reader.getOne((refs as ObjectRef).id, options.timeoutMs);
    return withCallerFrames(this.d.parkWake.tracked(all));
  }

  async wait<R extends ObjectRef>(refs: readonly R[], options: { numReturns?: number; timeoutMs?: number } = {}): Promise<{ ready: R[]; pending: R[] }> {
    this.checkOpen();
    const want = checkWaitArgs(refs, options);
    refs.forEach((r, i) => checkOwnedBy(this, r, `wait(): refs[${i}]`));
    if (want === 0) return { ready: [], pending: [] };
    return this.d.parkWake.tracked(waitForReady(refs, want, options.timeoutMs, (r) => this.d.waiters.whenSealed(r.id)));
  }

  /** Cancels the task behind `ref`: queued, it never runs; running, its signal aborts (force: its worker dies). */
  cancel(ref: ObjectRef | ObjectRefGenerator, options: { force?: boolean } = {}): void {
    this.checkOpen();
    if (isObjectRefGenerator(ref)) {
      if (ObjectRefGenerator.ownerOf(ref) !== this) throw new LoomError("cancel(): the generator was made by another Loom runtime (one that was shut down, or a second one)");
    } else {
      if (!isObjectRef(ref)) throw new LoomError(`cancel(): expected an ObjectRef, got ${describeArgument(ref)}`);
      checkOwnedBy(this, ref, "cancel(): the ref");
    }
    cancelDriverTask(this.d, ref, options.force ?? false);
  }

  /**
   * @internal Cancels the task behind `ref` only if no worker has taken it yet (a node hands such a task back to
   * its submitter when it drains): true when it never ran and now never will.
   */
  withdraw(ref: ObjectRef | ObjectRefGenerator): boolean {
    return !this.isShutdown && withdrawDriverTask(this.d, ref);
  }

  /** @internal Worker threads parked for want of work now (a node lets a queued task in when one is). */
  idleWorkers(): number {
    return this.isShutdown ? 0 : Atomics.load(this.d.i32, Core.ctl(L.CTL_IDLE_WORKERS));
  }

  /** @internal Whether a task asking `resources` beyond one CPU would be admitted now. */
  resourcesFree(resources: Resources): boolean {
    return isDefaultResources(resources) || this.d.resources.fits({ cpu: 1, ...resources });
  }

  kill(handle: ActorHandle, options: { noRestart?: boolean } = {}): void {
    this.checkOpen();
    if (!isActorHandle(handle)) throw new LoomError(`kill(): expected an actor handle, got ${describeArgument(handle)}`);
    checkOwnedBy(this, handle, "kill(): the handle");
    this.killByHandle(handle[ACTOR_BRAND], options.noRestart ?? true, "it was killed");
  }

  /** Kills (noRestart) or crashes an actor, here or (a handle from another process) through its owner. */
  private killByHandle(desc: ActorHandleDescriptor, noRestart: boolean, why: string): void {
    if (this.d.cluster?.foreign.isForeign(desc)) this.d.cluster.foreign.kill(desc, noRestart);
    else this.d.actors.killActor(desc.actorId, noRestart, why);
  }

  getActor<T = any>(name: string): ActorHandle<T> {
    this.checkOpen();
    const id = this.d.actors.namedActors.get(name);
    const a = id === undefined ? undefined : this.d.actors.get(id);
    // On a cluster, the names other processes hold are in the table the head keeps everyone told of (ours are
    // in our own, which knows of a death before the head's news of it comes back).
    const elsewhere = this.d.cluster?.link.names.lookup(name);
    const desc = a && a.state !== "dead" ? this.d.actors.descriptorOf(a) : elsewhere && this.d.cluster!.foreign.isForeign(elsewhere) ? elsewhere : undefined;
    if (!desc) throw new LoomError(`getActor(): no live actor named ${JSON.stringify(name)}`);
    // Named actors are never terminated for lost handles; a foreign one is counted by its owner, not here.
    return makeActorHandle<T>(this, desc);
  }

  graph(): { nodes: GraphNode[]; edges: GraphEdge[] } {
    return this.d.graph.graph();
  }

  /** True once old nodes were dropped from the graph. */
  get graphTruncated(): boolean {
    return this.d.graph.graphTruncated;
  }

  /**
   * Bytes the store holds now: arena blocks, segments of live objects known to the driver, and segments of freed
   * objects kept for reuse (idleSegmentBytes; some may still be seen by views not yet collected).
   */
  storeUsage(): { arenaBytes: number; segmentBytes: number; idleSegmentBytes: number; objects: number } {
    return this.views.storeUsage();
  }

  /** @internal Sizes of the driver's tables, for tests that check they do not grow without bound. */
  tableSizes(): TableSizes {
    return this.views.tableSizes();
  }

  /** init() hands over the dashboard it started, so that shutdown() closes it. */
  attachDashboard(dashboard: { url: string; close(): Promise<void> }): void {
    this.dashboard = dashboard;
    this.dashboardUrl = dashboard.url;
  }

  /** A read-only copy of the driver's tables for the dashboard, which polls it while a page is open. */
  inspect(): RuntimeInspection {
    return this.views.inspect();
  }

  /** Joins the cluster at `address` (init does this once, before handing the runtime out). */
  async joinCluster(address: string): Promise<void> {
    const { joinCluster } = await import("../cluster/driver-join.js");
    this.membership = await joinCluster(this.d, address, this.offered);
  }

  /**
   * @internal A node process's runtime takes the cluster's placement for the tasks its own tasks submit (they
   * may run on other nodes; this node owns their results). `head` is the node's registration; its work server
   * at `ownAddress` answers pulls of the keys `objectOfKey` recognizes.
   */
  async joinAsNode(head: import("../cluster/head-client.js").HeadClient, ownAddress: string, token: string | undefined): Promise<(key: string) => ObjectId | undefined> {
    const { attachScheduler } = await import("../cluster/driver-join.js");
    this.membership = await attachScheduler(this.d, head, ownAddress, token, () => {});
    const scheduler = this.membership.scheduler;
    return (key) => scheduler.objects.objectOfKey(key);
  }

  /** @internal Runs `submit` with what it submits kept on this node (the node service's submissions). */
  runHere<T>(submit: () => T): T {
    return this.d.cluster ? this.d.cluster.runHere(submit) : submit();
  }

  async nodes(): Promise<NodeSummary[]> {
    this.checkOpen();
    const summary = (n: NodeSummary): NodeSummary => ({
      nodeId: n.nodeId, address: n.address, state: n.state, isHead: n.isHead, isDriver: n.isDriver, workers: n.workers,
      resources: { ...n.resources }, available: Object.fromEntries(Object.keys(n.resources).map((k) => [k, n.available[k] ?? 0])),
    });
    if (this.membership) return (await this.membership.nodes()).map(summary);
    return [summary(this.views.standaloneNode())];
  }

  /** faults.killNode: SIGKILLs a node of this machine's cluster by the pid the head recorded. */
  async killNode(nodeId: string): Promise<void> {
    this.checkOpen();
    if (!this.membership) throw new LoomError("faults.killNode: this runtime is not part of a cluster (init({ address }))");
    return this.membership.killNode(nodeId);
  }

  async shutdown(): Promise<void> {
    if (this.d.closed) return;
    this.d.closed = true;
    const membership = this.membership;
    this.membership = undefined;
    if (membership) await membership.close().catch(() => {});
    clearCurrent(this);
    const error = new LoomError("the Loom runtime was shut down");
    this.d.waiters.rejectAll(error);
    if (this.d.parkWake.keepAlive) clearInterval(this.d.parkWake.keepAlive);
    if (this.dashboard) await this.dashboard.close();
    const mutated = this.d.immutability?.checkAll((id) => this.d.store.segments.get(id));
    await this.d.transport.terminateAll();
    this.d.spill.close();
    this.d.store.pool?.clear();
    Atomics.notify(this.d.i32, Core.ctl(L.CTL_DONE_SEQ));
    if (mutated) throw mutated;
  }

  /** Inside a task, the task's cancellation signal; the driver has none. */
  get signal(): AbortSignal {
    throw new LoomError("current().signal is only defined inside a task or actor method, not in the driver");
  }

  get isShutdown(): boolean {
    return this.d.closed;
  }

  private checkOpen(): void {
    if (this.d.closed) throw new LoomError("the Loom runtime has been shut down; call init() again");
  }

  submitTask(fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[] | ObjectRefGenerator {
    this.checkOpen();
    return submitDriverTask(this.d, fn, args, options);
  }

  createActor(cls: FunctionDescriptor, methods: string[], args: unknown[], options: ActorOptions & TaskOptions): ActorHandle {
    this.checkOpen();
    if (options.name !== undefined && this.d.actors.nameTaken(options.name)) throw new LoomError(nameTakenMessage(options.name));
    return createDriverActor(this.d, cls, methods, args, options);
  }

  submitActorCall(desc: ActorHandleDescriptor, method: string, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[] | ObjectRefGenerator {
    this.checkOpen();
    const foreign = this.d.cluster?.foreign.isForeign(desc) === true;
    if (foreign && options.numReturns === "streaming") throw new LoomError(`${desc.className}.${method}: numReturns "streaming" works on actors this process created, not on one another process of the cluster owns`);
    return submitDriverActorCall(this.d, desc, method, args, options, foreign);
  }

  terminateWorker(index: number): Promise<number> {
    if (!this.d.transport.alive(index)) return Promise.resolve(index);
    return this.d.transport.terminate(index).then(() => index);
  }

  restartActorByFault(handle: ActorHandle): void {
    checkOwnedBy(this, handle, "faults.killActor(): the handle");
    this.killByHandle(handle[ACTOR_BRAND], false, "killed by faults.killActor");
  }

  emit(event: string, payload: Record<string, unknown>): void {
    this.d.events.emit(event, payload);
  }

  // ---- seams the refs, handles and faults made here call back into ----

  /** RefOwner: counts a new ObjectRef made in the driver (see reference-counter.ts). */
  trackRef(ref: ObjectRef): void {
    this.d.refs.trackRef(ref);
  }

  /** Resolves when the object is sealed and readable in this thread (its segment known). */
  whenSealed(id: ObjectId): Promise<void> {
    return this.d.waiters.whenSealed(id);
  }

  /** Drops a stored object as a lost node would (fault injection). */
  evict(ref: ObjectRef): boolean {
    return this.d.objects.evict(ref);
  }

  busyWorker(): number {
    return this.d.dispatcher.busyWorker();
  }

  // ---- the cluster's seams (engine/cluster): objects as bytes ----

  /** @internal A sealed object's encoded bytes and flags, to answer a pull; undefined unless it is sealed here. */
  exportObject(id: ObjectId): RawObject | undefined {
    return exportRaw(this.d, id);
  }

  /**
   * @internal exportObject for a pull of one of this runtime's own objects (by id): an object still being made
   * here (a task's result a value names) is exported once it is sealed; undefined for one it does not know.
   */
  exportOwnObject(id: ObjectId): RawObject | undefined | Promise<RawObject | undefined> {
    return exportWhenSealed(this.d, id);
  }

  /** @internal Stores an encoded value as a new object of this runtime, as put() does (its refs held by it). */
  importEncoded(encoded: EncodedValue): ObjectRef {
    this.checkOpen();
    const ref = this.d.objects.putEncodedFor(DRIVER_TASK_ID, encoded);
    this.d.waiters.onSealed(ref.id);
    return ref;
  }

  /** @internal Memory to pull an object of `size` bytes into (a store segment), or undefined for small ones. */
  pullTarget(size: number): { segment: SharedArrayBuffer; view: Uint8Array } | undefined {
    return pullTarget(this.d, size);
  }

  /**
   * @internal Stores pulled bytes as a new object of this runtime, as put() does, and returns its ref. Bytes
   * pulled into a pullTarget segment are kept where they are.
   */
  importObject(flags: number, bytes: Uint8Array, pulledInto?: SharedArrayBuffer): ObjectRef {
    this.checkOpen();
    return importAsNewObject(this.d, flags, bytes, pulledInto);
  }
}
