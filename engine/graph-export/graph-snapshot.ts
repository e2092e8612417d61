// The shape of `rt.graph()` as the exporters read it: plain nodes and edges, nothing engine-internal.
// Structural on purpose, so the exporters also read a graph saved as JSON (see cli.ts).

export type EdgeKind = "data" | "control" | "stateful";

export interface SnapshotNode {
  id: string;
  name: string;
  /** "task" | "actor-create" | "actor-method" | "put"; other kinds are drawn as tasks. */
  kind: string;
  state: string;
  /** 0-based worker index that ran (or last ran) it; absent for driver-side nodes such as puts. */
  worker?: number;
  /** Milliseconds on the driver's performance.now() clock. */
  start?: number;
  end?: number;
  attempts?: number;
}

export interface SnapshotEdge {
  /** Producer, parent, or previous call on the same actor. */
  from: string;
  /** Consumer, child, or next call. */
  to: string;
  kind: EdgeKind;
}

export interface GraphSnapshot {
  nodes: readonly SnapshotNode[];
  edges: readonly SnapshotEdge[];
}
