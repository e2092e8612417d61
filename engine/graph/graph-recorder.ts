// The task graph: one record per task (kept on the hot path as numbers and shared strings) and the edges
// between them, bounded to the most recent GRAPH_LIMIT nodes. The public GraphNode is made when it is read.
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
 * A task's place in the graph, kept per task on the hot path: numbers and shared strings only. The public
 * GraphNode (with its formatted id) is made when graph() is read.
 */
export class GraphRecord {
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
/** The most graph nodes kept (see recordNode). */
export const GRAPH_LIMIT = 100_000;

export class GraphRecorder {
  graphNodes: GraphRecord[] = [];
  /** Edges as parallel arrays of task ids and kinds (an index into EDGE_KINDS): three numbers per edge. */
  graphEdgeFrom: number[] = [];
  graphEdgeTo: number[] = [];
  graphEdgeKind: number[] = [];
  /** True once old nodes were dropped from the graph. */
  graphTruncated = false;

  constructor(private readonly limit = GRAPH_LIMIT) {}

  /**
   * Records a graph node. The graph keeps the most recent `limit` nodes (GRAPH_LIMIT) (and their edges): a million-task
   * job should not keep a million graph nodes alive for an export nobody reads.
   */
  recordNode(node: GraphRecord): GraphRecord {
    this.graphNodes.push(node);
    if (this.graphNodes.length > this.limit) {
      const gone = new Set(this.graphNodes.slice(0, this.limit / 2).map((n) => n.taskId as number));
      this.graphNodes = this.graphNodes.slice(this.limit / 2);
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
  recordEdge(from: TaskId, to: TaskId, kind: number): void {
    this.graphEdgeFrom.push(from);
    this.graphEdgeTo.push(to);
    this.graphEdgeKind.push(kind);
  }

  /** The graph as plain data: nodes in the order they were recorded, edges with their ids formatted. */
  graph(): { nodes: GraphNode[]; edges: GraphEdge[] } {
    const edges: GraphEdge[] = [];
    for (let i = 0; i < this.graphEdgeFrom.length; i++) {
      edges.push({ from: formatTaskId(this.graphEdgeFrom[i] as TaskId), to: formatTaskId(this.graphEdgeTo[i] as TaskId), kind: EDGE_KINDS[this.graphEdgeKind[i]!]! });
    }
    return { nodes: this.graphNodes.map((n) => n.toNode()), edges };
  }
}
