// The driver's side of a cluster: where each task and actor runs (this process's workers or another node),
// sending remote work, bringing its results back into this store, and what a node's death does to the work it
// had. The submitter owns its results as on one machine: the task table, reference counts and lineage stay the
// driver's owners'; this class only moves work and bytes.
//
// Which node takes each task and actor is NodePlacement's (node-placement.ts); results and the objects nodes
// hold are RemoteObjects' (remote-objects.ts); putting a task on the wire with its arguments' sources is
// TaskSender's (task-sender.ts).
import * as L from "../../core-wasm/shared/layout.js";
import { NodeDiedError, fromWire, type WireError } from "../errors.js";
import { objectIdOf, formatTaskId, isActorHandleObject } from "../ids.js";
import type { DriverContext } from "../runtime/driver-context.js";
import type { TaskEntry } from "../tasks/task-entry.js";
import type { ActorEntry } from "../actors/actor-manager.js";
import type { Resources } from "../options.js";
import { RemoteObjects } from "./remote-objects.js";
import { TaskSender } from "./task-sender.js";
import { ForeignActors } from "./foreign-actors.js";
import type { ObjectPuller } from "./object-transfer.js";
import type { Connection, Frame } from "./wire.js";
import { NodePlacement, type RemoteNode } from "./node-placement.js";
import { SPILLBACK, type NameEntry, type NodeInfo, type RemoteTaskOptions } from "./messages.js";
import type { ActorHandleDescriptor, ActorOwner } from "../refs.js";

type SchedulerDeps = Pick<DriverContext, "actors" | "closed" | "core" | "dispatcher" | "events" | "functions" | "objects" | "parkWake" | "recovery" | "refs" | "runtime" | "spill" | "store" | "streams" | "tasks" | "waiters" | "workerCount" | "resources">;

/** Times a task is sent again because an argument's holder was lost before the node could pull it. */
const MAX_ARGUMENT_RESENDS = 3;

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

/**
 * A task's attempt on a node: a newer attempt (after that node died) makes the older one's reply stale.
 * `queued` while the node said it waits there for a worker (task-queued) and has not said it went in
 * (task-started): it has not run there.
 */
const REMOTE = Symbol("remote attempt");
type RemoteTask = TaskEntry & { [REMOTE]?: { node: string; attempt: number; queued?: boolean } };

export class ClusterScheduler {
  /** The other nodes as this process sees them, and the choice of one for each task and actor. */
  readonly placement: NodePlacement;
  private readonly nodes: Map<string, RemoteNode>;
  private attempts = 0;
  /** Per remote actor, the promise that its last message was sent: calls go out in order. */
  private readonly actorChains = new Map<ActorEntry, Promise<void>>();
  /** Sends tasks and calls to nodes, their arguments and module hash with them (task-sender.ts). */
  private readonly sender: TaskSender;
  /** Results other nodes hold, and pulls of them. */
  readonly objects: RemoteObjects;
  private readonly resends = new WeakMap<TaskEntry, number>();
  /** Drivers, and owners of actors whose handles came here: not placed on, but their objects are pulled from them. */
  private readonly peers = new Map<string, { address: string; dead: boolean }>();
  /** Actors other processes own that this one calls. */
  readonly foreign: ForeignActors;

  constructor(private readonly d: SchedulerDeps, readonly link: ClusterLink) {
    this.placement = new NodePlacement(d, link.nodeTimeoutMs, (deps) => this.objects.bytesHeldByNode(deps));
    this.nodes = this.placement.nodes;
    this.objects = new RemoteObjects(d, {
      nodeId: link.nodeId, address: link.address, puller: link.puller,
      liveAddress: (nodeId) => {
        const node = this.nodes.get(nodeId);
        if (node) return this.placement.alive(node) ? node.info.address : undefined;
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
    this.sender = new TaskSender(link.puller, this.objects, {
      isCurrent: (entry, attempt) => this.isCurrent(entry, attempt),
      received: (node, entry, attempt, reply) => this.received(node, entry, attempt, reply),
      failed: (node, entry, error) => this.failed(node, entry, error),
      roomElsewhere: (entry, node) => this.placement.roomElsewhere(entry, node),
    });
  }

  // ---- the node table ----

  nodeAdded(info: NodeInfo): void {
    if (info.nodeId === this.link.nodeId) return;
    if (info.isDriver) { this.peers.set(info.nodeId, { address: info.address, dead: false }); return; }
    this.placement.nodeAdded(info);
  }

  /** The node table as the head has it: each live node's load as it last reported it. */
  loadsReported(nodes: readonly NodeInfo[]): void {
    this.placement.loadsReported(nodes);
  }

  /** Whether this process has tasks out on other nodes, or waiting for one: then the nodes' loads matter to it. */
  hasRemoteWork(): boolean {
    return this.placement.hasRemoteWork();
  }

  /**
   * `nodeId` drains: no new work goes there, the results it holds for this process come back here, and the
   * actors this process placed there move: each finishes the calls it was sent, then restarts on another node
   * (not counted against maxRestarts, as Ray restarts a drained node's actors), replaying its calls since its
   * last checkpoint; calls made meanwhile wait here and follow it.
   */
  nodeDraining(nodeId: string): void {
    const node = this.nodes.get(nodeId);
    if (!node || node.info.state === "dead") return;
    node.draining = true;
    this.objects.takeBackFrom(nodeId);
    for (const actor of node.actors) {
      if (actor.state === "dead" || this.moving.has(actor)) continue;
      this.moving.set(actor, node);
      actor.awaitingResources = true; // holds its new calls here (ActorManager.dispatchActorTask)
      this.moveIfIdle(actor);
    }
  }

  /** Actors leaving a draining node, once none of their calls runs there (see nodeDraining). */
  private readonly moving = new Map<ActorEntry, RemoteNode>();

  private moveIfIdle(actor: ActorEntry): void {
    const node = this.moving.get(actor);
    if (!node) return;
    for (const entry of node.running) if (entry.actorId === actor.id) return;
    this.moving.delete(actor);
    actor.awaitingResources = false;
    if (actor.state === "dead" || actor.node !== node.info.nodeId) return; // killed, or restarted meanwhile
    this.dropActor(actor);
    this.d.actors.restartActor(actor, `node ${node.info.nodeId} drains`, false, true, true);
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
      if (this.moving.delete(actor)) actor.awaitingResources = false; // it dies with the node before it could move
      for (const call of actor.log) node.running.delete(call);
      node.running.delete(actor.create);
      this.actorChains.delete(actor);
      this.d.actors.restartActor(actor, why, false, true);
    }
    node.running.clear();
    this.objects.lostWith(nodeId, why);
  }

  // ---- placement (node-placement.ts) ----

  /** Runs `submit` with every task and actor it makes kept on this node (the node service's submissions). */
  runHere<T>(submit: () => T): T {
    return this.placement.runHere(submit);
  }

  /** Called by the dispatcher for every plain task: true when the task went (or waits to go) to another node. */
  placeTask(entry: TaskEntry): boolean {
    const where = this.placement.placeTask(entry);
    if (where === "local-uncounted") return false;
    if (where === "local") { (entry as RemoteTask)[REMOTE] = undefined; return false; }
    if (where === "waiting") return true;
    this.runRemote(entry, where);
    return true;
  }

  /** Where a new or restarted actor lives: a node id, undefined for this process, or null to wait for a node. */
  placeActor(resources: Resources, exclude?: string): string | undefined | null {
    return this.placement.placeActor(resources, exclude);
  }

  /** `actor` (marked awaitingResources) starts once a node that can host it joins. */
  awaitNode(actor: ActorEntry): void {
    this.placement.awaitNode(actor);
  }

  /** The task manager ends every task through here: local ones leave the load count. */
  taskEnded(entry: RemoteTask): void {
    this.objects.taskEnded(entry);
    this.foreign.taskEnded(entry);
    this.placement.leftLocal(entry);
  }

  // ---- remote work ----

  private runRemote(entry: RemoteTask, node: RemoteNode): void {
    this.taskEnded(entry); // placed here before (a retry): no longer counted here
    const attempt = ++this.attempts;
    entry[REMOTE] = { node: node.info.nodeId, attempt };
    entry.state = "running";
    node.running.add(entry);
    const fn = this.d.functions.functionList[entry.fnId]!;
    void this.sender.send(node, entry, attempt, {
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
    if (h.t === "task-queued" || h.t === "task-started") {
      const at = (this.d.tasks.get(h.taskId as TaskEntry["id"]) as RemoteTask | undefined)?.[REMOTE];
      if (at && at.attempt === h.attempt) at.queued = h.t === "task-queued";
      return;
    }
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
    if (!node || !this.placement.alive(node)) return;
    const message = { t: "stream-ack", owner: this.link.nodeId, taskId, taken: Number.isFinite(taken) ? taken : -1 };
    void this.link.puller.connection(node.info.address).then((c) => c.send(message), () => {});
  }

  private isCurrent(entry: RemoteTask, attempt: number): boolean {
    return entry[REMOTE]?.attempt === attempt && !this.d.closed;
  }

  /** The node's answer to a task or call: its results stored here, or its failure handled. */
  private async received(node: RemoteNode, entry: RemoteTask, attempt: number, reply: Frame): Promise<void> {
    if (!this.isCurrent(entry, attempt)) return;
    if ((reply.h.error as WireError | undefined)?.code === SPILLBACK) return this.spilledBack(node, entry, reply.h.draining === true);
    if (reply.h.error && this.argumentLost(node, entry, reply.h.error as WireError)) return;
    try {
      if (reply.h.error) throw fromWire(reply.h.error as WireError);
      // An actor's creation answers with no results: its handle object is sealed here (createdRemotely).
      if (entry.kind !== "actor-create") await this.objects.storeResults(node.info.nodeId, node.info.address, entry, reply);
    } catch (error) {
      if (this.isCurrent(entry, attempt)) this.failed(node, entry, error as Error);
      return;
    }
    if (!this.isCurrent(entry, attempt)) return;
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

  /**
   * The node handed the task back unstarted (Ray's spillback): it had no free worker while another node had one,
   * or it drains. Nothing ran there, so the task is placed again as if new (no retry is counted); after
   * MAX_SPILLBACKS refusals it is sent where it will wait rather than be refused again.
   */
  private spilledBack(node: RemoteNode, entry: RemoteTask, draining: boolean): void {
    node.running.delete(entry);
    entry[REMOTE] = undefined;
    this.placement.spilledBack(node, entry, draining);
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
    const queued = entry[REMOTE]?.queued === true;
    entry[REMOTE] = undefined;
    if (entry.state !== "running") return;
    // It waited there for a worker and never ran: placed again as if new, no retry counted (as a hand-back).
    if (queued) { this.d.dispatcher.dispatch(entry); return; }
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
    if (!node || !this.placement.alive(node)) return;
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
    void this.sender.send(node, entry, attempt, message, previous, sent).finally(() => {
      sent();
      if (this.moving.has(actor)) this.moveIfIdle(actor);
    });
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
    this.placement.hostActor(actor, nodeId);
  }

  /** This process as the owner of the actors it creates (in their handles' descriptors). */
  get owner(): ActorOwner {
    return { nodeId: this.link.nodeId, address: this.link.address };
  }

  // ---- code ----

  nodeIds(): string[] {
    return this.placement.nodeIds();
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
