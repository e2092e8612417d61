// Graph export surface: rt.graph() snapshots to Graphviz DOT and Chrome trace JSON, in memory or on disk.
export type { EdgeKind, GraphSnapshot, SnapshotEdge, SnapshotNode } from "./graph-snapshot.js";
export { toDot, EDGE_STYLE, type DotOptions } from "./to-dot.js";
export { toChromeTrace, TRACE_PID, DRIVER_TID, type ChromeTrace, type ChromeTraceOptions, type TraceEvent } from "./to-chrome-trace.js";
export { writeGraph, type WriteGraphTargets } from "./write-graph.js";
