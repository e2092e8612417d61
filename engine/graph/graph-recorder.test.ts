// The graph recorder: nodes and edges as recorded, and the bound that drops the oldest half with its edges.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GraphRecord, GraphRecorder } from "./graph-recorder.js";
import { formatTaskId, type TaskId } from "../ids.js";

const id = (n: number) => n as TaskId;

test("nodes and edges read back as recorded, with formatted ids and named kinds", () => {
  const g = new GraphRecorder();
  const a = g.recordNode(new GraphRecord(id(1), "a", "task", "pending", 0));
  g.recordNode(new GraphRecord(id(2), "b", "task", "pending", 0));
  g.recordEdge(id(1), id(2), 0);
  g.recordEdge(id(1), id(2), 1);
  g.recordEdge(id(2), id(1), 2);
  a.state = "finished";
  a.worker = 3;
  const { nodes, edges } = g.graph();
  assert.deepEqual(nodes[0], { id: formatTaskId(id(1)), name: "a", kind: "task", state: "finished", worker: 3, attempts: 0 });
  assert.deepEqual(edges.map((e) => e.kind), ["data", "control", "stateful"]);
  assert.equal(edges[0]!.from, formatTaskId(id(1)));
  assert.equal(g.graphTruncated, false);
});

test("past its limit the graph keeps the newest half of its nodes and only edges between kept nodes", () => {
  const g = new GraphRecorder(10);
  for (let n = 1; n <= 10; n++) g.recordNode(new GraphRecord(id(n), `t${n}`, "task", "finished"));
  g.recordEdge(id(1), id(7), 0);   // from a node that will go
  g.recordEdge(id(6), id(7), 0);   // between nodes that stay
  g.recordNode(new GraphRecord(id(11), "t11", "task", "finished"));
  const { nodes, edges } = g.graph();
  assert.deepEqual(nodes.map((n) => n.name), ["t6", "t7", "t8", "t9", "t10", "t11"]);
  assert.deepEqual(edges.map((e) => [e.from, e.to]), [[formatTaskId(id(6)), formatTaskId(id(7))]]);
  assert.equal(g.graphTruncated, true);
});
