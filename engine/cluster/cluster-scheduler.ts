// The driver's side of a cluster: where each task and actor runs (this process's workers or another node),
// sending remote work, bringing its results back into this store, and what a node's death does to the work it
// had. The submitter owns its results as on one machine: the task table, reference counts and lineage stay the
// driver's owners'; this class only moves work and bytes.
//
// Results and the objects nodes hold are RemoteObjects' (remote-objects.ts).
import * as L from "../../core-wasm/shared/layout.js";
import { LoomError, NodeDiedError, fromWire, type WireError } from "../errors.js";
import { objectIdOf, formatTaskId, isActorHandleObject, type ObjectId } from "../ids.js";
import type { DriverContext } from "../runtime/driver-context.js";
import type { TaskEntry } from "../tasks/task-entry.js";
import type { ActorEntry } from "../actors/actor-manager.js";
import type { FunctionDescriptor } from "../remote.js";
import type { Resources } from "../options.js";
import { RemoteObjects } from "./remote-objects.js";
import { ModuleHashes } from "./module-hashes.js";
import { ForeignActors } from "./foreign-actors.js";
import type { ObjectPuller } from "./object-transfer.js";
import type { Connection, Frame } from "./wire.js";
import { SPILLBACK, type NameEntry, type NodeInfo, type ObjectSource, type RemoteTaskOptions } from "./messages.js";
import type { ActorHandleDescriptor, ActorOwner } from "../refs.js";

type SchedulerDeps = Pick<DriverContext, "actors" | "closed" | "core" | "dispatcher" | "events" | "functions" | "objects" | "parkWake" | "recovery" | "refs" | "runtime" | "spill" | "store" | "streams" | "tasks" | "waiters" | "workerCount" | "resources">;

/** Times a task is sent again because an argument's holder was lost before the node could pull it. */
const MAX_ARGUMENT_RESENDS = 3;

/** Times a task may be refused by full nodes (spillback) before it is sent with no refusal allowed. */
const MAX_SPILLBACKS = 3;

/** Work sent to a node and not yet answered; `tasks` counts the plain tasks among it (each wants a worker). */
class InFlight extends Set<TaskEntry> {
  tasks = 0;
  override add(entry: TaskEntry): this {
    if (entry.kind === "task" && !this.has(entry)) this.tasks++;
    return super.add(entry);
  }
  override delete(entry: TaskEntry): boolean {
    if (entry.kind === "task" && this.has(entry)) this.tasks--;
    return super.delete(entry);
  }
  override clear(): void {
    this.tasks = 0;
    super.clear();
  }
}

interface RemoteNode {
  info: NodeInfo;
  /** Tasks and calls sent there and not yet answered. */
  running: InFlight;
  actors: Set<ActorEntry>;
  /** Set when its connection failed: not chosen again until the head says whether it lives. */
  suspectUntil: number;
  /** Set when it refused a task for having no free worker: counted full until then (or until a task there ends). */
  fullUntil: number;
  /** Set when it refused a task because it drains: never chosen again (it leaves). */
  draining: boolean;
  /** When `info.load` came from the head's table (performance.now()); older than two beats, it is not used. */
  loadAt: number;
  /** This process's tasks there when that load came: the rest of the load is other submitters' work. */
  ownAtLoad: number;
}

/** The driver's handle on the cluster: this node's id and address, and the connections to the others. */
export interface ClusterLink {
  readonly nodeId: string;
  /** host:port where this driver serves its objects. */
  readonly address: string;
  readonly nodeTimeoutMs: number;
  readonly puller: ObjectPuller;
  readonly names: ClusterNames;
}

/** The cluster's actor names: claimed and released at the head, looked up in the table it keeps everyone told of. */
export interface ClusterNames {
  claim(name: string, value: ActorHandleDescriptor): Promise<{ ok: true } | { ok: false; holder: NameEntry }>;
  release(name: string): Promise<unknown>;
  /** The live actor named `name` anywhere in the cluster, as last told. */
  lookup(name: string): ActorHandleDescriptor | undefined;
  entries(): Array<[string, ActorHandleDescriptor]>;
}

/** A task's attempt on a node: a newer attempt (after that node died) makes the older one's reply stale. */
const REMOTE = Symbol("remote attempt");
/** Set while a task placed here counts in the local load. */
const LOCAL = Symbol("counted locally");
/** A task another process placed on this node: it runs here, whatever this node's placement would say. */
const PINNED = Symbol("placed here by its submitter");
type RemoteTask = TaskEntry & { [REMOTE]?: { node: string; attempt: number }; [LOCAL]?: boolean; [PINNED]?: boolean };

export class ClusterScheduler {
  private readonly nodes = new Map<string, RemoteNode>();
  /** Local tasks and actor calls in flight, for the least-loaded choice. */
  private localLoad = 0;
  private attempts = 0;
  /** Per remote actor, the promise that its last message was sent: calls go out in order. */
  private readonly actorChains = new Map<ActorEntry, Promise<void>>();
  private readonly moduleHashes = new ModuleHashes();
  /** Tasks waiting for a node that can take them (none alive offers their resources yet). */
  private readonly waiting: TaskEntry[] = [];
  /** Results other nodes hold, and pulls of them. */
  readonly objects: RemoteObjects;
  private readonly resends = new WeakMap<TaskEntry, number>();
  /** Drivers, and owners of actors whose handles came here: not placed on, but their objects are pulled from them. */
  private readonly peers = new Map<string, { address: string; dead: boolean }>();
  /** Actors other processes own that this one calls. */
  readonly foreign: ForeignActors;
  /** Times each task was refused by a full node (see spilledBack). */
  private readonly spillbacks = new WeakMap<TaskEntry, number>();

  /** Set while a node's service submits work a driver placed here (see runHere). */
  private pinning = false;

  /** Runs `submit` with every task and actor it makes kept on this node (the node service's submissions). */
  runHere<T>(submit: () => T): T {
    const was = this.pinning;
    this.pinning = true;
    try {
      return submit();
    } finally {
      this.pinning = was;
    }
  }

  constructor(private readonly d: SchedulerDeps, readonly link: ClusterLink) {
    this.objects = new RemoteObjects(d, {
      nodeId: link.nodeId, address: link.address, puller: link.puller,
      liveAddress: (nodeId) => {
        const node = this.nodes.get(nodeId);
        if (node) return this.alive(node) ? node.info.address : undefined;
        const peer = this.peers.get(nodeId);
        return peer && !peer.dead ? peer.address : undefined;
      },
      draining: (nodeId) => this.nodes.get(nodeId)?.draining === true,
      madeRemotely: (id) => {
        const producer = this.d.tasks.get(this.d.streams.producerOf(id)) as RemoteTask | undefined;
        return producer?.[REMOTE] !== undefined && (producer.state === "running" || producer.state === "pending");
      },
    });
    this.foreign = new ForeignActors(d, {
      nodeId: link.nodeId, puller: link.puller, objects: this.objects,
      notePeer: (owner) => { if (!this.nodes.has(owner.nodeId) && !this.peers.has(owner.nodeId)) this.peers.set(owner.nodeId, { address: owner.address, dead: false }); },
      isDead: (nodeId) => this.nodes.get(nodeId)?.info.state === "dead" || this.peers.get(nodeId)?.dead === true,
      settled: (entry) => this.settled(entry),
      options: remoteOptions,
    });
  }

  // ---- the node table ----

  nodeAdded(info: NodeInfo): void {
    if (info.nodeId === this.link.nodeId) return;
    if (info.isDriver) { this.peers.set(info.nodeId, { address: info.address, dead: false }); return; }
    const known = this.nodes.get(info.nodeId);
    if (known) { known.info = info; return; }
    this.nodes.set(info.nodeId, { info, running: new InFlight(), actors: new Set(), suspectUntil: 0, fullUntil: 0, draining: false, loadAt: 0, ownAtLoad: 0 });
    this.placeWaitingActors();
    for (const entry of this.waiting.splice(0)) if (entry.state === "pending") this.d.dispatcher.dispatch(entry);
  }

  /** The node table as the head has it: each live node's load as it last reported it (see busy). */
  loadsReported(nodes: readonly NodeInfo[]): void {
    for (const info of nodes) {
      const node = this.nodes.get(info.nodeId);
      if (!node || node.info.state !== "alive" || info.state !== "alive" || !info.load) continue;
      node.info = { ...node.info, load: info.load };
      node.loadAt = performance.now();
      node.ownAtLoad = node.running.tasks;
    }
  }

  /** Whether this process has tasks out on other nodes, or waiting for one: then the nodes' loads matter to it. */
  hasRemoteWork(): boolean {
    if (this.waiting.length > 0) return true;
    for (const node of this.nodes.values()) if (node.running.tasks > 0) return true;
    return false;
  }

  /** `nodeId` drains: no new work goes there, and the results it holds for this process come back here. */
  nodeDraining(nodeId: string): void {
    const node = this.nodes.get(nodeId);
    if (!node || node.info.state === "dead") return;
    node.draining = true;
    this.objects.takeBackFrom(nodeId);
  }

  /** The head declared `nodeId` dead: its work is retried or restarted elsewhere, or fails with NodeDiedError. */
  nodeDied(nodeId: string, reason: string): void {
    const node = this.nodes.get(nodeId);
    const peer = this.peers.get(nodeId);
    if (peer && !peer.dead) {
      // A driver (or an owner known only from its handles): what it held and the actors it owned are gone.
      peer.dead = true;
      this.objects.lostWith(nodeId, `process ${nodeId} (${peer.address}) died: ${reason}`);
    }
    this.foreign.ownerDied(nodeId, reason);
    if (!node || node.info.state === "dead") return;
    node.info = { ...node.info, state: "dead" };
    const why = `node ${nodeId} (${node.info.address}) died: ${reason}`;
    for (const entry of [...node.running]) if (entry.kind === "task") this.lostOnNode(entry, node, why);
    for (const actor of [...node.actors]) {
      node.actors.delete(actor);
      for (const call of actor.log) node.running.delete(call);
      node.running.delete(actor.create);
      this.actorChains.delete(actor);
      this.d.actors.restartActor(actor, why, false, true);
    }
    node.running.clear();
    this.objects.lostWith(nodeId, why);
  }

  // ---- placement ----

  private alive(node: RemoteNode): boolean {
    return node.info.state === "alive" && node.suspectUntil <= performance.now();
  }

  private static offers(resources: Resources, need: Resources): boolean {
    for (const [name, amount] of Object.entries(need)) if (amount > 0 && (resources[name] ?? 0) < amount) return false;
    return true;
  }

  /** Whether new work may go to `node`: alive, not suspect, not draining, and offering `need` (cpu 1 unless named). */
  private takes(node: RemoteNode, need: Resources): boolean {
    return this.alive(node) && !node.draining && ClusterScheduler.offers({ cpu: node.info.workers, ...node.info.resources }, { cpu: 1, ...need });
  }

  /** Whether `node` can start one more task now, as far as this process knows (see busy). */
  private hasFreeSlot(node: RemoteNode, now: number): boolean {
    return node.fullUntil <= now && this.busy(node) < node.info.workers;
  }

  /**
   * Tasks taking `node`'s workers, as far as this process knows: those it sent there itself, plus the others'
   * work the node last reported (the head's table, under two beats old: see loadsReported), which is the report
   * less this process's tasks at the time. A task of ours that ended since then frees its worker at once.
   */
  private busy(node: RemoteNode): number {
    const load = node.info.load;
    const fresh = load !== undefined && performance.now() - node.loadAt < this.link.nodeTimeoutMs * 2 / 5;
    const others = fresh ? Math.max(0, load.queued + load.running - node.ownAtLoad) : 0;
    return node.running.tasks + others;
  }

  /**
   * Where `need` runs: undefined for this process's workers, else a node, or "none" when no live node offers it.
   * 1. Only live nodes that offer the resources (this process too when it has workers).
   * 2. If some of them have a free worker, the task goes to one of those: the one holding most of `deps`' bytes,
   *    else the least loaded for its workers (this process when no busier). A full node does not queue work while
   *    another has room (spillback; a node that turns out full refuses it: see refused).
   * 3. Else, all being full: the node holding most bytes while not swamped (twice its workers busy), else the
   *    least loaded; there it waits for a worker.
   */
  private choose(need: Resources, exclude?: string, deps?: readonly ObjectId[]): RemoteNode | undefined | "none" {
    const cpuNeed = need.cpu ?? 1;
    const now = performance.now();
    const heldBytes = deps && deps.length ? this.objects.bytesHeldByNode(deps) : undefined;
    const fitting: RemoteNode[] = [];
    for (const node of this.nodes.values()) if (node.info.nodeId !== exclude && this.takes(node, need)) fitting.push(node);
    const localOffers = this.d.workerCount > 0 && ClusterScheduler.offers(this.d.resources.totalResources, { ...need, cpu: cpuNeed });
    const localLoad = localOffers ? this.localLoad / this.d.workerCount : Infinity;
    const free = cpuNeed > 0 ? fitting.filter((node) => this.hasFreeSlot(node, now)) : fitting;
    const localFree = localOffers && (cpuNeed === 0 || this.localLoad < this.d.workerCount);
    const pool = free.length > 0 || localFree ? free : fitting;
    // Of the pool, the node holding most of the arguments' bytes (while not swamped), else the least loaded.
    let best: RemoteNode | undefined;
    let bestLoad = Infinity;
    let bestHeld = 0;
    for (const node of pool) {
      const load = (node.running.size + node.actors.size) / Math.max(1, node.info.workers);
      const held = heldBytes?.get(node.info.nodeId) ?? 0;
      if (held > bestHeld && load < 2) { best = node; bestLoad = load; bestHeld = held; continue; }
      if (bestHeld === 0 && load < bestLoad) { best = node; bestLoad = load; }
    }
    if (bestHeld > 0) return best;
    if (pool === free && !localFree) return best ?? "none";
    if (localOffers && localLoad <= bestLoad) return undefined;
    return best ?? (localOffers ? undefined : "none");
  }

  /** Called by the dispatcher for every plain task: true when the task went (or waits to go) to another node. */
  placeTask(entry: TaskEntry): boolean {
    if (this.pinning) (entry as RemoteTask)[PINNED] = true;
    const where = (entry as RemoteTask)[PINNED] ? undefined : this.choose(entry.options.resources, undefined, entry.deps);
    if (where === undefined) {
      // A task waiting in the backlog comes through here again: counted once.
      if (!(entry as RemoteTask)[LOCAL]) { (entry as RemoteTask)[LOCAL] = true; this.localLoad++; }
      (entry as RemoteTask)[REMOTE] = undefined;
      return false;
    }
    if (where === "none") {
      if (this.d.workerCount === 0 || this.nodes.size > 0) {
        entry.state = "pending";
        this.waiting.push(entry);
        this.d.events.emit("task:infeasible", { taskId: formatTaskId(entry.id), name: entry.name, resources: entry.options.resources });
        return true;
      }
      return false;
    }
    this.runRemote(entry, where);
    return true;
  }

  /**
   * Where a new or restarted actor lives: a node id, undefined for this process, or null when no live node
   * offers its resources now (it waits for one to join: see awaitNode).
   */
  placeActor(resources: Resources, exclude?: string): string | undefined | null {
    if (this.pinning) return undefined;
    const where = this.choose({ cpu: 0, ...resources }, exclude);
    if (where === "none") {
      // The node it just left may be the only one that offers them: better there again than never.
      if (exclude !== undefined) { const again = this.choose({ cpu: 0, ...resources }); if (again !== "none") return again?.info.nodeId; }
      return null;
    }
    return where?.info.nodeId;
  }

  /** Actors that wait for a node offering their resources, in the order they began to wait. */
  private readonly waitingActors: ActorEntry[] = [];

  /** `actor` (marked awaitingResources) starts once a node that can host it joins. */
  awaitNode(actor: ActorEntry): void {
    this.waitingActors.push(actor);
  }

  /** A node joined: actors waiting for one start there if it fits (their constructor, then the calls they hold). */
  private placeWaitingActors(): void {
    for (const actor of this.waitingActors.splice(0)) {
      if (actor.state === "dead") continue;
      const node = this.placeActor(actor.resources);
      if (node === null || node === undefined) { this.waitingActors.push(actor); continue; }
      actor.node = node;
      actor.awaitingResources = false;
      this.hostActor(actor, node);
      this.d.actors.dispatchActorTask(actor.create);
      for (const call of actor.log) if (call.replay || call.state === "pending") this.d.actors.dispatchActorTask(call);
    }
  }

  /** The task manager ends every task through here: local ones leave the load count. */
  taskEnded(entry: RemoteTask): void {
    this.objects.taskEnded(entry);
    if (!entry[LOCAL]) return;
    entry[LOCAL] = false;
    this.localLoad--;
  }

  // ---- remote work ----

  private runRemote(entry: RemoteTask, node: RemoteNode): void {
    this.taskEnded(entry); // placed here before (a retry): no longer counted here
    const attempt = ++this.attempts;
    entry[REMOTE] = { node: node.info.nodeId, attempt };
    entry.state = "running";
    node.running.add(entry);
    const fn = this.d.functions.functionList[entry.fnId]!;
    void this.send(node, entry, attempt, {
      t: "run-task", owner: this.link.nodeId, taskId: entry.id, fn, name: entry.name,
      options: remoteOptions(entry), attempt,
    });
  }

  /**
   * A frame a node sent unasked on a connection this process opened: a streaming generator's yield (stored,
   * or held there, and handed to its stream) or its wish to go on (generatorBackpressure). Those of an
   * attempt that is no longer current are dropped, and what they hold on the node released.
   */
  onPeerFrame(frame: Frame, c: Connection): void {
    const h = frame.h;
    if (h.t !== "stream-yield" && h.t !== "stream-wait") return;
    const entry = this.d.tasks.get(h.taskId as TaskEntry["id"]) as RemoteTask | undefined;
    const at = entry?.[REMOTE];
    if (!entry || !at || at.attempt !== h.attempt || entry.options.streaming === undefined) {
      if (typeof h.key === "string") c.send({ t: "release", keys: [h.key] });
      return;
    }
    const node = this.nodes.get(at.node)!;
    if (h.t === "stream-wait") { this.d.streams.wantRoom(REMOTE_CONSUMER, entry.id, Number(h.need)); return; }
    try {
      this.objects.storeYield(node.info.nodeId, node.info.address, entry.id, frame);
    } catch (error) {
      this.failed(node, entry, error as Error); // the task's error: its node sent what cannot be read
    }
  }

  /** The consumer of a generator running on a node took `taken` of its yields (Infinity: go on freely). */
  streamAck(taskId: TaskEntry["id"], taken: number): void {
    const at = (this.d.tasks.get(taskId) as RemoteTask | undefined)?.[REMOTE];
    const node = at && this.nodes.get(at.node);
    if (!node || !this.alive(node)) return;
    const message = { t: "stream-ack", owner: this.link.nodeId, taskId, taken: Number.isFinite(taken) ? taken : -1 };
    void this.link.puller.connection(node.info.address).then((c) => c.send(message), () => {});
  }

  /** Sends a task or call once its arguments are sealed here, and stores what comes back. */
  private async send(
    node: RemoteNode, entry: RemoteTask, attempt: number, message: Record<string, unknown> & { t: string },
    before?: Promise<void>, onSent?: () => void,
  ): Promise<void> {
    const current = () => entry[REMOTE]?.attempt === attempt && !this.d.closed;
    let reply: Frame;
    try {
      const refs: Record<string, ObjectSource> = {};
      for (const id of entry.deps) refs[String(id)] = await this.objects.sourceOf(id);
      // An actor handle's count is no object to pull (ids.ts: actorHandleObjectId).
      for (const id of entry.nestedRefs) if (!isActorHandleObject(id)) refs[String(id)] = await this.objects.sourceOf(id);
      const fn = (message.fn ?? message.cls) as FunctionDescriptor | undefined; // none on an actor's calls
      // A node with another copy of the module refuses the task (SPEC: code).
      const moduleHash = fn?.kind === "module" && fn.url.startsWith("file:") ? await this.moduleHashes.hashOf(fn.url).catch(() => undefined) : undefined;
      if (before) await before;
      if (!current()) return;
      const c = await this.link.puller.connection(node.info.address);
      if (!current()) return;
      // A node may hand a task back when it has no free worker only while another node has one (see spilledBack).
      const spill = message.t === "run-task" && this.roomElsewhere(entry, node);
      const replied = c.request({ ...message, refs, moduleHash, spill }, entry.payload);
      onSent?.(); // on the wire: an actor's next call may follow it
      reply = await replied;
    } catch (error) {
      if (current()) this.failed(node, entry, error as Error);
      return;
    }
    if (!current()) return;
    if ((reply.h.error as WireError | undefined)?.code === SPILLBACK) return this.spilledBack(node, entry, reply.h.draining === true);
    if (reply.h.error && this.argumentLost(node, entry, reply.h.error as WireError)) return;
    try {
      if (reply.h.error) throw fromWire(reply.h.error as WireError);
      await this.objects.storeResults(node.info.nodeId, node.info.address, entry, reply);
    } catch (error) {
      if (current()) this.failed(node, entry, error as Error);
      return;
    }
    if (!current()) return;
    node.running.delete(entry);
    node.fullUntil = 0; // a worker there is free again
    if (entry.kind === "actor-create") return this.createdRemotely(entry);
    if (entry.replay) { entry.replay = false; return; }
    this.d.tasks.finishTask(entry, this.settled(entry), -1);
  }

  /** How a task ended whose returns are each sealed here or held on a node. */
  settled(entry: TaskEntry): "finished" | "failed" {
    const ex = this.d.core.exports;
    for (let i = 0; i < entry.options.numReturns; i++) {
      const id = objectIdOf(entry.id, i);
      const heldError = this.objects.heldError(id);
      if (heldError !== undefined) { if (heldError) return "failed"; continue; }
      const o = this.d.objects.get(id);
      if (!o || o.entry === 0) continue;
      const state = ex.objState(o.entry);
      if (state !== L.OBJ_SEALED && state !== L.OBJ_SPILLED) return "failed";
      if (ex.objFlags(o.entry) & L.FLAG_ERROR) return "failed";
    }
    return "finished";
  }

  /** Whether a node other than `node` (or this process) has a free worker for `entry`, and it may still move. */
  private roomElsewhere(entry: TaskEntry, node: RemoteNode): boolean {
    if ((this.spillbacks.get(entry) ?? 0) >= MAX_SPILLBACKS) return false;
    const need = entry.options.resources;
    const now = performance.now();
    for (const other of this.nodes.values()) if (other !== node && this.takes(other, need) && this.hasFreeSlot(other, now)) return true;
    return this.d.workerCount > 0 && this.localLoad < this.d.workerCount && ClusterScheduler.offers(this.d.resources.totalResources, { cpu: 1, ...need });
  }

  /**
   * The node handed the task back unstarted (Ray's spillback): it had no free worker while another node had one,
   * or it drains. Nothing ran there, so the task is placed again as if new (no retry is counted); after
   * MAX_SPILLBACKS refusals it is sent where it will wait rather than be refused again.
   */
  private spilledBack(node: RemoteNode, entry: RemoteTask, draining: boolean): void {
    node.running.delete(entry);
    entry[REMOTE] = undefined;
    if (draining) node.draining = true;
    else node.fullUntil = performance.now() + this.link.nodeTimeoutMs / 5;
    this.spillbacks.set(entry, (this.spillbacks.get(entry) ?? 0) + 1);
    this.d.dispatcher.dispatch(entry);
  }

  /**
   * The node could not pull an argument before running the task (its holder died or dropped it): the copies
   * named are marked lost where their node is gone, and the task goes out again (rebuilding them first).
   */
  private argumentLost(node: RemoteNode, entry: RemoteTask, error: WireError): boolean {
    const pullFailed = error.code === "ERR_OBJECT_LOST" || (error as { name?: string }).name === "ConnectionError";
    const resends = this.resends.get(entry) ?? 0;
    if (!pullFailed || resends >= MAX_ARGUMENT_RESENDS || entry.kind !== "task") return false;
    this.resends.set(entry, resends + 1);
    this.objects.holdersFailed([...entry.deps, ...entry.nestedRefs.filter((id) => !isActorHandleObject(id))], `node ${node.info.nodeId} could not pull it`);
    node.running.delete(entry);
    entry[REMOTE] = undefined;
    this.d.dispatcher.dispatch(entry);
    return true;
  }

  /** A send or its reply failed: a lost connection is the node's trouble (retried elsewhere), else the task's. */
  private failed(node: RemoteNode, entry: TaskEntry, error: Error): void {
    if (error.name === "ConnectionError") this.connectionLost(node, entry, error);
    else this.fail(node, entry, error);
  }

  private fail(node: RemoteNode, entry: TaskEntry, error: Error): void {
    node.running.delete(entry);
    if (entry.replay) { entry.replay = false; return; }
    this.d.tasks.sealError(entry, error);
    if (entry.kind === "actor-create") return;
    this.d.tasks.finishTask(entry, "failed", -1);
  }

  /** The connection to a node failed under a task: retried elsewhere (a closed connection is only a hint). */
  private connectionLost(node: RemoteNode, entry: TaskEntry, error: Error): void {
    node.suspectUntil = performance.now() + this.link.nodeTimeoutMs;
    if (entry.kind === "task") this.lostOnNode(entry, node, `the connection to node ${node.info.nodeId} failed: ${error.message}`);
    else this.nodeDied(node.info.nodeId, error.message);
  }

  /** A task that was running on a lost node: another attempt if its retries allow, else NodeDiedError. */
  private lostOnNode(entry: RemoteTask, node: RemoteNode, why: string): void {
    node.running.delete(entry);
    entry[REMOTE] = undefined;
    if (entry.state !== "running") return;
    const limit = entry.options.maxRetries;
    if (limit === -1 || entry.attempts < limit) {
      entry.attempts++;
      entry.run = entry.runs++;
      this.d.events.emit("task:retried", { taskId: formatTaskId(entry.id), name: entry.name, attempt: entry.attempts, reason: "node-died" });
      this.d.dispatcher.dispatch(entry);
      return;
    }
    this.d.tasks.sealError(entry, new NodeDiedError(`task ${entry.name} (${formatTaskId(entry.id)}) was running when ${why}; its retries ran out (maxRetries=${limit})`));
    this.d.tasks.finishTask(entry, "failed", -1);
  }

  /** The submitter cancelled `entry`: if it runs on another node, that node cancels it too. */
  cancelled(entry: RemoteTask, force: boolean): void {
    const at = entry[REMOTE];
    if (!at || entry.kind !== "task") return;
    // Its attempt ends here: a reply still to come is stale, and a send not yet made is never made.
    entry[REMOTE] = undefined;
    const node = this.nodes.get(at.node);
    node?.running.delete(entry);
    if (!node || !this.alive(node)) return;
    void this.link.puller.connection(node.info.address).then((c) => c.send({ t: "cancel", owner: this.link.nodeId, taskId: entry.id, force }), () => {});
  }

  // ---- remote actors ----

  /** The actor manager hands over every task of an actor that lives on another node, in submission order. */
  dispatchActorTask(actor: ActorEntry, entry: RemoteTask): void {
    const node = this.nodes.get(actor.node!);
    if (!node || node.info.state === "dead") { this.nodeDied(actor.node!, "it is not alive"); return; }
    const attempt = ++this.attempts;
    entry[REMOTE] = { node: node.info.nodeId, attempt };
    if (!entry.replay) entry.state = "running";
    node.running.add(entry);
    const previous = this.actorChains.get(actor) ?? Promise.resolve();
    let sent!: () => void;
    this.actorChains.set(actor, new Promise<void>((resolve) => { sent = resolve; }));
    const actorKey = `${this.link.nodeId}/a/${actor.id}/${actor.restarts}`;
    const message = entry.kind === "actor-create"
      ? { t: "actor-create", owner: this.link.nodeId, actorKey, cls: this.d.functions.functionList[actor.fnId]!, methods: actor.methods,
        options: { maxConcurrency: actor.options.maxConcurrency, resources: actor.resources } }
      : { t: "actor-call", actorKey, taskId: entry.id, method: entry.method!, options: remoteOptions(entry), attempt };
    // The next call goes out once this one is on the wire (its reply is awaited apart); on any early end too.
    void this.send(node, entry, attempt, message, previous, sent).finally(sent);
  }

  private createdRemotely(create: TaskEntry): void {
    const id = objectIdOf(create.id, 0);
    const o = this.d.objects.registerObject(id, false);
    if (this.d.core.exports.objState(o.entry) === L.OBJ_PENDING) {
      this.d.parkWake.notifyWorkers(this.d.objects.seal(o, this.d.store.writeValue(id, null, "actor")));
      this.d.waiters.onSealed(id);
    }
    this.d.tasks.finishTask(create, "finished", -1);
  }

  /** The node hosting `actor` is told to drop it (killed, or its handles are gone). */
  dropActor(actor: ActorEntry): void {
    const node = this.nodes.get(actor.node!);
    node?.actors.delete(actor);
    this.actorChains.delete(actor);
    if (!node || node.info.state === "dead") return;
    const actorKey = `${this.link.nodeId}/a/${actor.id}/${actor.restarts}`;
    void this.link.puller.connection(node.info.address).then((c) => c.send({ t: "actor-kill", actorKey }), () => {});
  }

  /** Records that `actor` now lives on `nodeId` (placement or restart). */
  hostActor(actor: ActorEntry, nodeId: string): void {
    this.nodes.get(nodeId)?.actors.add(actor);
  }

  /** This process as the owner of the actors it creates (in their handles' descriptors). */
  get owner(): ActorOwner {
    return { nodeId: this.link.nodeId, address: this.link.address };
  }

  // ---- code ----

  nodeIds(): string[] {
    return [...this.nodes.keys()];
  }
}

function remoteOptions(entry: TaskEntry): RemoteTaskOptions {
  const o = entry.options;
  // Retries of exceptions and worker crashes happen on the node; retries after a lost node are the driver's (lostOnNode).
  const out: RemoteTaskOptions = { numReturns: o.numReturns, maxRetries: o.maxRetries, retryExceptions: o.retryExceptions, resources: o.resources, timeoutMs: o.timeoutMs };
  if (o.streaming !== undefined) out.streaming = o.streaming;
  return out;
}

/** The "worker" the stream table names for a generator running on another node (see streamAck). */
export const REMOTE_CONSUMER = -1;
