// The dashboard's views: the JSON of every /api/ route and the deltas pushed to open pages, built from the
// runtime's public surface (rt.inspect(), rt.graph(), rt.storeUsage()) and the TaskTracker. Owns no table
// of the runtime's; it only reads.
import type { EventEmitter } from "eventemitter3";
import type { GraphEdge, GraphNode, RuntimeInspection } from "../runtime/runtime.js";
import type { NodeInfo, NodeSource } from "./node-source.js";
import { TaskTracker, BUCKET_MS, type TaskRow, type ErrorRow, type ThroughputBucket, type TaskState } from "./task-tracker.js";

/** What the dashboard reads from a runtime. */
export interface DashboardSource {
  readonly events: EventEmitter;
  readonly objectStoreBytes: number;
  readonly graphTruncated: boolean;
  inspect(): RuntimeInspection;
  graph(): { nodes: GraphNode[]; edges: GraphEdge[] };
  storeUsage(): { arenaBytes: number; segmentBytes: number; idleSegmentBytes: number; objects: number };
}

export interface ActorRow {
  actorId: number;
  className: string;
  name: string | null;
  state: "pending" | "alive" | "dead";
  nodeId: string;
  restarts: number;
  pendingCalls: number;
}

export interface WorkerRow {
  nodeId: string;
  workerId: number;
  alive: boolean;
  busy: boolean;
  /** The task it runs now, if any (an actor's thread may run several calls at their awaits: the first). */
  taskId: string | null;
  functionName: string | null;
  startedAt: number | null;
}

export interface ObjectsView { objects: number; bytesInMemory: number; bytesSpilled: number; capacity: number }
/** The store in more detail than SPEC's /api/objects: where the bytes in memory are, and what is kept for reuse. */
export interface StoreView extends ObjectsView { arenaBytes: number; segmentBytes: number; reusableBytes: number }

export interface Snapshot {
  time: number;
  nodes: NodeInfo[];
  workers: WorkerRow[];
  tasks: { counts: Record<string, Record<TaskState, number>>; recent: TaskRow[] };
  actors: ActorRow[];
  objects: ObjectsView;
  store: StoreView;
  errors: ErrorRow[];
  throughput: { bucketMs: number; buckets: ThroughputBucket[] };
}

/** A page's update: each field replaces what the page holds under the same key (so a delta applied twice is harmless). */
export interface Delta {
  time: number;
  nodes?: NodeInfo[];
  workers?: WorkerRow[];
  counts?: Record<string, Record<TaskState, number>>;
  tasks?: TaskRow[];
  actors?: ActorRow[];
  actorsGone?: number[];
  store?: StoreView;
  errors?: ErrorRow[];
  throughput?: ThroughputBucket[];
}

export const GRAPH_DEFAULT_LIMIT = 2000;
export const GRAPH_MAX_LIMIT = 5000;

export class DashboardState {
  readonly tracker: TaskTracker;
  private sentNodes = "";
  private sentWorkers = "";
  private sentStore = "";
  private readonly sentActors = new Map<number, string>();
  private sentErrors = 0;
  private sentThroughput = "";

  constructor(private readonly rt: DashboardSource, private readonly nodeSource: NodeSource, readError: (taskId: string) => Promise<Error | undefined>) {
    this.tracker = new TaskTracker(rt.events, nodeSource.localNodeId, rt.inspect().epoch, readError);
  }

  close(): void {
    this.tracker.detach();
  }

  /** One poll of the runtime: everything below reads the same instant. */
  private inspect(): RuntimeInspection {
    const inspection = this.rt.inspect();
    this.tracker.setRunning(inspection);
    return inspection;
  }

  nodes(inspection = this.inspect()): { nodes: NodeInfo[] } {
    return { nodes: this.nodeSource.nodes(inspection) };
  }

  tasks(): { counts: Record<string, Record<TaskState, number>>; recent: TaskRow[] } {
    this.inspect();
    return { counts: this.tracker.counts(), recent: this.tracker.recentRows() };
  }

  actors(inspection = this.inspect()): { actors: ActorRow[] } {
    const nodeId = this.nodeSource.localNodeId;
    return {
      actors: inspection.actors.map((a) => ({
        actorId: a.actorId, className: a.className, name: a.name ?? null, state: a.state, nodeId, restarts: a.restarts, pendingCalls: a.pendingCalls,
      })),
    };
  }

  workers(inspection = this.inspect()): { workers: WorkerRow[] } {
    const nodeId = this.nodeSource.localNodeId;
    const byWorker = new Map<number, RuntimeInspection["running"][number]>();
    for (const r of inspection.running) if (!byWorker.has(r.worker)) byWorker.set(r.worker, r);
    return {
      workers: inspection.workers.map((w, workerId) => {
        const r = byWorker.get(workerId);
        return {
          nodeId, workerId, alive: w.alive, busy: r !== undefined, taskId: r?.taskId ?? null, functionName: r?.name ?? null,
          startedAt: r && r.started > 0 ? inspection.epoch + r.started : null,
        };
      }),
    };
  }

  objects(inspection = this.rt.inspect()): ObjectsView {
    const { objects, bytesInMemory, bytesSpilled, capacity } = this.store(inspection);
    return { objects, bytesInMemory, bytesSpilled, capacity };
  }

  store(inspection = this.rt.inspect()): StoreView {
    const u = this.rt.storeUsage();
    return {
      objects: u.objects, bytesInMemory: u.arenaBytes + u.segmentBytes, bytesSpilled: inspection.spilledBytes, capacity: this.rt.objectStoreBytes,
      arenaBytes: u.arenaBytes, segmentBytes: u.segmentBytes, reusableBytes: u.idleSegmentBytes,
    };
  }

  errors(): { errors: ErrorRow[] } {
    return { errors: this.tracker.errors() };
  }

  throughput(seconds?: number): { bucketMs: number; buckets: ThroughputBucket[] } {
    return { bucketMs: BUCKET_MS, buckets: this.tracker.throughput(seconds) };
  }

  /** The newest `limit` graph nodes and the edges among them (a page cannot draw 100k nodes usefully). */
  graph(limit = GRAPH_DEFAULT_LIMIT): { nodes: GraphNode[]; edges: GraphEdge[]; total: number; truncated: boolean } {
    const g = this.rt.graph();
    const nodes = g.nodes.length > limit ? g.nodes.slice(g.nodes.length - limit) : g.nodes;
    const kept = new Set(nodes.map((n) => n.id));
    const edges = nodes === g.nodes ? g.edges : g.edges.filter((e) => kept.has(e.from) && kept.has(e.to));
    return { nodes, edges, total: g.nodes.length, truncated: this.rt.graphTruncated || nodes.length < g.nodes.length };
  }

  snapshot(): Snapshot {
    const inspection = this.inspect();
    return {
      time: Date.now(),
      nodes: this.nodes(inspection).nodes,
      workers: this.workers(inspection).workers,
      tasks: { counts: this.tracker.counts(), recent: this.tracker.recentRows() },
      actors: this.actors(inspection).actors,
      objects: this.objects(inspection),
      store: this.store(inspection),
      errors: this.tracker.errors(),
      throughput: this.throughput(),
    };
  }

  /** What changed since the last delta (undefined when nothing did): one poll, compared with what was sent. */
  delta(): Delta | undefined {
    const inspection = this.inspect();
    const out: Delta = { time: Date.now() };
    let changed = false;
    const nodes = this.nodes(inspection).nodes;
    const nodesJson = JSON.stringify(nodes);
    if (nodesJson !== this.sentNodes) { this.sentNodes = nodesJson; out.nodes = nodes; changed = true; }
    const workers = this.workers(inspection).workers;
    const workersJson = JSON.stringify(workers);
    if (workersJson !== this.sentWorkers) { this.sentWorkers = workersJson; out.workers = workers; changed = true; }
    const store = this.store(inspection);
    const storeJson = JSON.stringify(store);
    if (storeJson !== this.sentStore) { this.sentStore = storeJson; out.store = store; changed = true; }
    const t = this.tracker.takeChanges(this.sentErrors);
    this.sentErrors = t.errorCount;
    if (t.counts) { out.counts = t.counts; changed = true; }
    if (t.rows.length) { out.tasks = t.rows; changed = true; }
    if (t.errors.length) { out.errors = t.errors; changed = true; }
    const actors: ActorRow[] = [];
    const seen = new Set<number>();
    for (const a of this.actors(inspection).actors) {
      seen.add(a.actorId);
      const json = JSON.stringify(a);
      if (this.sentActors.get(a.actorId) !== json) { this.sentActors.set(a.actorId, json); actors.push(a); }
    }
    const gone = [...this.sentActors.keys()].filter((id) => !seen.has(id));
    for (const id of gone) this.sentActors.delete(id);
    if (actors.length) { out.actors = actors; changed = true; }
    if (gone.length) { out.actorsGone = gone; changed = true; }
    const throughput = this.tracker.throughput(2);
    const throughputJson = JSON.stringify(throughput);
    if (throughputJson !== this.sentThroughput) { this.sentThroughput = throughputJson; out.throughput = throughput; changed = true; }
    return changed ? out : undefined;
  }
}
