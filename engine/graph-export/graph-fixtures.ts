// Hand-made graph snapshots for the exporter tests: every node kind, every edge kind, awkward names.
import type { GraphSnapshot } from "./graph-snapshot.js";

/** put -> two map tasks -> a merge; an actor with two stateful calls; a task that spawns a child. */
export const SAMPLE_GRAPH: GraphSnapshot = {
  nodes: [
    { id: "1", name: "put", kind: "put", state: "finished", start: 0.5, end: 0.75 },
    { id: "2", name: "byHour", kind: "task", state: "finished", worker: 0, start: 1, end: 21.5, attempts: 1 },
    { id: "3", name: "byRoute", kind: "task", state: "finished", worker: 1, start: 1.25, end: 40, attempts: 2 },
    { id: "4", name: "merge", kind: "task", state: "finished", worker: 0, start: 41, end: 42.001 },
    { id: "5", name: "Counter", kind: "actor-create", state: "finished", worker: 1, start: 2, end: 3 },
    { id: "6", name: "Counter.inc", kind: "actor-method", state: "finished", worker: 1, start: 3, end: 4 },
    { id: "7", name: "Counter.inc", kind: "actor-method", state: "running", worker: 1, start: 4 },
    { id: "8", name: 'say "hi" \\ {braces}', kind: "task", state: "failed", worker: 2, start: 5, end: 6 },
    { id: "9", name: "child", kind: "task", state: "pending" },
  ],
  edges: [
    { from: "1", to: "2", kind: "data" },
    { from: "1", to: "3", kind: "data" },
    { from: "2", to: "4", kind: "data" },
    { from: "3", to: "4", kind: "data" },
    { from: "5", to: "6", kind: "stateful" },
    { from: "6", to: "7", kind: "stateful" },
    { from: "8", to: "9", kind: "control" },
  ],
};
