// The task graph: one row per task kept as columns (typed arrays of numbers and arrays of shared strings, so
// recording a task allocates nothing on the hot path) and the edges between them, bounded to the most recent
// GRAPH_LIMIT nodes. The public GraphNode is made when the graph is read.
import { formatTaskId, type TaskId } from "../ids.js";
import type { TaskKind } from "../tasks/task-entry.js";

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
 * A recorded node: its sequence number (the n-th node recorded, from 0). It names the node's row for as long as
 * the graph keeps it; once the node is dropped (the graph's bound), writes through it do nothing.
 */
export type GraphNodeHandle = number;

const EDGE_KINDS: EdgeKind[] = ["data", "control", "stateful"];
/** The most graph nodes kept (see recordNode). */
export const GRAPH_LIMIT = 100_000;
/** The columns start this long and double (a power of two, so a row is a mask) up to the limit: a small job keeps a small graph. */
const FIRST_CAPACITY = 1024;
/** An unset worker or attempts column (a worker index and a count are never negative). */
const UNSET = -1;

/**
 * Rows live in a ring of at least `limit` rows: node n is in row n & mask. Past `limit` nodes the oldest half is
 * dropped at once (`first` moves on), with the edges that touch it, so an edge list stays bounded too.
 */
export class GraphRecorder {
  /** True once old nodes were dropped from the graph. */
  graphTruncated = false;
  /** Edges as parallel arrays of task ids and kinds (an index into EDGE_KINDS): three numbers per edge. */
  graphEdgeFrom: number[] = [];
  graphEdgeTo: number[] = [];
  graphEdgeKind: number[] = [];

  /** Nodes recorded so far (the next handle), and the handle of the oldest node still kept. */
  private next = 0;
  private first = 0;
  private capacity = 0;
  private mask = 0;
  private taskIds = new Float64Array(0);
  private names: string[] = [];
  private kinds: TaskKind[] = [];
  private states: string[] = [];
  private workers = new Int32Array(0);
  private attempts = new Int32Array(0);
  /** NaN: not set. */
  private starts = new Float64Array(0);
  private ends = new Float64Array(0);

  /** Nodes the graph keeps now (at most its limit). */
  get nodeCount(): number {
    return this.next - this.first;
  }

  constructor(private readonly limit = GRAPH_LIMIT) {
    if (!Number.isInteger(limit) || limit < 2) throw new RangeError(`graph limit ${limit} must be an integer of at least 2`);
  }

  /**
   * Records a node and returns its handle. The graph keeps the most recent `limit` nodes (GRAPH_LIMIT) and their
   * edges: a million-task job should not keep a million graph nodes alive for an export nobody reads.
   */
  recordNode(taskId: TaskId, name: string, kind: TaskKind, state: string, attempts?: number): GraphNodeHandle {
    if (this.next - this.first >= this.limit) this.dropOldestHalf();
    if (this.next - this.first >= this.capacity) this.grow();
    const handle = this.next++;
    const row = handle & this.mask;
    this.taskIds[row] = taskId;
    this.names[row] = name;
    this.kinds[row] = kind;
    this.states[row] = state;
    this.workers[row] = UNSET;
    this.attempts[row] = attempts ?? UNSET;
    this.starts[row] = NaN;
    this.ends[row] = NaN;
    return handle;
  }

  /** The node's row while the graph keeps it, else -1. */
  private rowOf(handle: GraphNodeHandle): number {
    return handle >= this.first && handle < this.next ? handle & this.mask : -1;
  }

  setState(handle: GraphNodeHandle, state: string): void {
    const row = this.rowOf(handle);
    if (row >= 0) this.states[row] = state;
  }

  /** A worker reported the node's run started at `start` (ms since the runtime started). */
  started(handle: GraphNodeHandle, start: number, worker: number): void {
    const row = this.rowOf(handle);
    if (row < 0) return;
    this.starts[row] = start;
    this.workers[row] = worker;
  }

  /** The node's task settled at `end`; a start never falls after its end. `worker` < 0 keeps the one known. */
  ended(handle: GraphNodeHandle, state: string, end: number, worker: number, attempts: number): void {
    const row = this.rowOf(handle);
    if (row < 0) return;
    this.states[row] = state;
    this.ends[row] = end;
    const start = this.starts[row]!;
    if (Number.isNaN(start) || start > end) this.starts[row] = end;
    if (worker >= 0) this.workers[row] = worker;
    this.attempts[row] = attempts;
  }

  /** Records an edge; kind is an index into EDGE_KINDS (0 data, 1 control, 2 stateful). */
  recordEdge(from: TaskId, to: TaskId, kind: number): void {
    this.graphEdgeFrom.push(from);
    this.graphEdgeTo.push(to);
    this.graphEdgeKind.push(kind);
  }

  /** The graph as plain data: nodes in the order they were recorded, edges with their ids formatted. */
  graph(): { nodes: GraphNode[]; edges: GraphEdge[] } {
    const kept = this.graphTruncated ? this.keptTaskIds() : undefined;
    const edges: GraphEdge[] = [];
    for (let i = 0; i < this.graphEdgeFrom.length; i++) {
      if (kept && !(kept.has(this.graphEdgeFrom[i]!) && kept.has(this.graphEdgeTo[i]!))) continue;
      edges.push({ from: formatTaskId(this.graphEdgeFrom[i] as TaskId), to: formatTaskId(this.graphEdgeTo[i] as TaskId), kind: EDGE_KINDS[this.graphEdgeKind[i]!]! });
    }
    const nodes: GraphNode[] = [];
    for (let h = this.first; h < this.next; h++) nodes.push(this.nodeAt(h & this.mask));
    return { nodes, edges };
  }

  private nodeAt(row: number): GraphNode {
    const node: GraphNode = { id: formatTaskId(this.taskIds[row] as TaskId), name: this.names[row]!, kind: this.kinds[row]!, state: this.states[row]! };
    if (this.workers[row] !== UNSET) node.worker = this.workers[row];
    if (!Number.isNaN(this.starts[row])) node.start = this.starts[row];
    if (!Number.isNaN(this.ends[row])) node.end = this.ends[row];
    if (this.attempts[row] !== UNSET) node.attempts = this.attempts[row];
    return node;
  }

  private dropOldestHalf(): void {
    this.first += Math.floor(this.limit / 2);
    this.graphTruncated = true;
    // Edges touching dropped nodes are left out when the graph is read; the list is pruned here only once it
    // outgrows the node limit, so it stays bounded while a burst of independent tasks with a few edges (an
    // actor's calls) does not build a set of 50k ids per drop (that was 1.7% of a 200k burst's driver time).
    if (this.graphEdgeFrom.length > this.limit) this.pruneEdges(this.keptTaskIds());
  }

  private keptTaskIds(): Set<number> {
    const kept = new Set<number>();
    for (let h = this.first; h < this.next; h++) kept.add(this.taskIds[h & this.mask]!);
    return kept;
  }

  private pruneEdges(kept: Set<number>): void {
    const from: number[] = [], to: number[] = [], kind: number[] = [];
    for (let i = 0; i < this.graphEdgeFrom.length; i++) {
      if (!kept.has(this.graphEdgeFrom[i]!) || !kept.has(this.graphEdgeTo[i]!)) continue;
      from.push(this.graphEdgeFrom[i]!); to.push(this.graphEdgeTo[i]!); kind.push(this.graphEdgeKind[i]!);
    }
    this.graphEdgeFrom = from; this.graphEdgeTo = to; this.graphEdgeKind = kind;
  }

  /** Doubles the columns (up to the limit's power of two), moving the kept rows to their rows in the new ring. */
  private grow(): void {
    const capacity = Math.min(1 << Math.ceil(Math.log2(this.limit)), Math.max(FIRST_CAPACITY, this.capacity * 2));
    const taskIds = new Float64Array(capacity), workers = new Int32Array(capacity), attempts = new Int32Array(capacity);
    const starts = new Float64Array(capacity), ends = new Float64Array(capacity);
    const names: string[] = new Array<string>(capacity).fill(""), states: string[] = new Array<string>(capacity).fill("");
    const kinds: TaskKind[] = new Array<TaskKind>(capacity).fill("task");
    for (let h = this.first; h < this.next; h++) {
      const from = h & this.mask, to = h & (capacity - 1);
      taskIds[to] = this.taskIds[from]!; workers[to] = this.workers[from]!; attempts[to] = this.attempts[from]!;
      starts[to] = this.starts[from]!; ends[to] = this.ends[from]!;
      names[to] = this.names[from]!; states[to] = this.states[from]!; kinds[to] = this.kinds[from]!;
    }
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.taskIds = taskIds; this.workers = workers; this.attempts = attempts; this.starts = starts; this.ends = ends;
    this.names = names; this.states = states; this.kinds = kinds;
  }
}
