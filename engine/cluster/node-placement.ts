// Where the driver's work goes on a cluster: the table of the other nodes as this process sees them (alive,
// suspect, full, draining, their load), the choice of a node for each task and actor, spillback's bookkeeping,
// and the tasks and actors waiting for a node that offers their resources. Sending the work and bringing its
// results back is the ClusterScheduler's (cluster-scheduler.ts); this class only decides.
import { formatTaskId, type ObjectId } from "../ids.js";
import type { DriverContext } from "../runtime/driver-context.js";
import type { TaskEntry } from "../tasks/task-entry.js";
import type { ActorEntry } from "../actors/actor-manager.js";
import type { Resources } from "../options.js";
import type { NodeInfo } from "./messages.js";
import { merged } from "../merged.js";

type PlacementDeps = Pick<DriverContext, "actors" | "dispatcher" | "events" | "resources" | "workerCount">;

/** Times a task may be refused by full nodes (spillback) before it is sent with no refusal allowed. */
const MAX_SPILLBACKS = 3;

/** Work sent to a node and not yet answered; `tasks` counts the plain tasks among it (each wants a worker). */
export class InFlight extends Set<TaskEntry> {
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

export interface RemoteNode {
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

/** Set while a task placed here counts in the local load. */
const LOCAL = Symbol("counted locally");
/** A task another process placed on this node: it runs here, whatever this node's placement would say. */
const PINNED = Symbol("placed here by its submitter");
type PlacedTask = TaskEntry & { [LOCAL]?: boolean; [PINNED]?: boolean };

/**
 * Where a task goes: "local" (this process's workers, counted in its load), "local-uncounted" (this process,
 * which has workers while no node has joined: its own checks judge the resources), "waiting" (for a node that
 * offers them), or a node.
 */
export type TaskPlace = "local" | "local-uncounted" | "waiting" | RemoteNode;

export class NodePlacement {
  readonly nodes = new Map<string, RemoteNode>();
  /** Local tasks and actor calls in flight, for the least-loaded choice. */
  private localLoad = 0;
  /** Tasks waiting for a node that can take them (none alive offers their resources yet). */
  readonly waiting: TaskEntry[] = [];
  /** Actors that wait for a node offering their resources, in the order they began to wait. */
  private readonly waitingActors: ActorEntry[] = [];
  /** Times each task was refused by a full node (see spilledBack). */
  private readonly spillbacks = new WeakMap<TaskEntry, number>();
  /** Set while a node's service submits work a driver placed here (see runHere). */
  private pinning = false;

  constructor(
    private readonly d: PlacementDeps,
    private readonly nodeTimeoutMs: number,
    /** Bytes of `deps` each node holds (RemoteObjects.bytesHeldByNode). */
    private readonly bytesHeldByNode: (deps: readonly ObjectId[]) => Map<string, number> | undefined,
  ) {}

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

  // ---- the node table ----

  /** A node joined (or the head told of it again): actors and tasks waiting for one are placed again. */
  nodeAdded(info: NodeInfo): void {
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
      node.info = merged(node.info, { load: info.load });
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

  alive(node: RemoteNode): boolean {
    return node.info.state === "alive" && node.suspectUntil <= performance.now();
  }

  private static offers(resources: Resources, need: Resources): boolean {
    for (const [name, amount] of Object.entries(need)) if (amount > 0 && (resources[name] ?? 0) < amount) return false;
    return true;
  }

  /** Whether new work may go to `node`: alive, not suspect, not draining, and offering `need` (cpu 1 unless named). */
  private takes(node: RemoteNode, need: Resources): boolean {
    return this.alive(node) && !node.draining && NodePlacement.offers({ cpu: node.info.workers, ...node.info.resources }, { cpu: 1, ...need });
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
    const fresh = load !== undefined && performance.now() - node.loadAt < this.nodeTimeoutMs * 2 / 5;
    const others = fresh ? Math.max(0, load.queued + load.running - node.ownAtLoad) : 0;
    return node.running.tasks + others;
  }

  // ---- placement ----

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
    const heldBytes = deps && deps.length ? this.bytesHeldByNode(deps) : undefined;
    const fitting: RemoteNode[] = [];
    for (const node of this.nodes.values()) if (node.info.nodeId !== exclude && this.takes(node, need)) fitting.push(node);
    const localOffers = this.d.workerCount > 0 && NodePlacement.offers(this.d.resources.totalResources, merged(need, { cpu: cpuNeed }));
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

  /** Where a plain task goes (see TaskPlace); one that waits for a node is kept here until one joins. */
  placeTask(entry: PlacedTask): TaskPlace {
    if (this.pinning) entry[PINNED] = true;
    const where = entry[PINNED] ? undefined : this.choose(entry.options.resources, undefined, entry.deps);
    if (where === undefined) {
      // A task waiting in the backlog comes through here again: counted once.
      if (!entry[LOCAL]) { entry[LOCAL] = true; this.localLoad++; }
      return "local";
    }
    if (where === "none") {
      if (this.d.workerCount === 0 || this.nodes.size > 0) {
        entry.state = "pending";
        this.waiting.push(entry);
        this.d.events.emit("task:infeasible", { taskId: formatTaskId(entry.id), name: entry.name, resources: entry.options.resources });
        return "waiting";
      }
      return "local-uncounted";
    }
    return where;
  }

  /** A task ended, or left for a node: if it counted in the local load, no longer. */
  leftLocal(entry: PlacedTask): void {
    if (!entry[LOCAL]) return;
    entry[LOCAL] = false;
    this.localLoad--;
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

  /** Records that `actor` now lives on `nodeId` (placement or restart). */
  hostActor(actor: ActorEntry, nodeId: string): void {
    this.nodes.get(nodeId)?.actors.add(actor);
  }

  // ---- spillback ----

  /** Whether a node other than `node` (or this process) has a free worker for `entry`, and it may still move. */
  roomElsewhere(entry: TaskEntry, node: RemoteNode): boolean {
    if ((this.spillbacks.get(entry) ?? 0) >= MAX_SPILLBACKS) return false;
    const need = entry.options.resources;
    const now = performance.now();
    for (const other of this.nodes.values()) if (other !== node && this.takes(other, need) && this.hasFreeSlot(other, now)) return true;
    return this.d.workerCount > 0 && this.localLoad < this.d.workerCount && NodePlacement.offers(this.d.resources.totalResources, { cpu: 1, ...need });
  }

  /**
   * `node` handed `entry` back unstarted (Ray's spillback): it had no free worker while another node had one, or
   * it drains. It is counted full for a while (or never chosen again), and the task's refusals are counted: after
   * MAX_SPILLBACKS it is sent where it will wait rather than be refused again (see roomElsewhere).
   */
  spilledBack(node: RemoteNode, entry: TaskEntry, draining: boolean): void {
    if (draining) node.draining = true;
    else node.fullUntil = performance.now() + this.nodeTimeoutMs / 5;
    this.spillbacks.set(entry, (this.spillbacks.get(entry) ?? 0) + 1);
  }

  nodeIds(): string[] {
    return [...this.nodes.keys()];
  }
}
