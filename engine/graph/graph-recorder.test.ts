// The graph recorder: nodes and edges as recorded, and the bound that drops the oldest half with its edges.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GraphRecorder } from "./graph-recorder.js";
import { formatTaskId, type TaskId } from "../ids.js";

const id = (n: number) => n as TaskId;

test("nodes and edges read back as recorded, with formatted ids and named kinds", () => {
  const g = new GraphRecorder();
  const a = g.recordNode(id(1), "a", "task", "pending", 0);
  const b = g.recordNode(id(2), "b", "task", "pending", 0);
  g.recordEdge(id(1), id(2), 0);
  g.recordEdge(id(1), id(2), 1);
  g.recordEdge(id(2), id(1), 2);
  g.started(a, 5, 3);
  g.ended(a, "finished", 7, -1, 1);
  g.setState(b, "rebuilding");
  const { nodes, edges } = g.graph();
  assert.deepEqual(nodes[0], { id: formatTaskId(id(1)), name: "a", kind: "task", state: "finished", worker: 3, start: 5, end: 7, attempts: 1 });
  assert.deepEqual(nodes[1], { id: formatTaskId(id(2)), name: "b", kind: "task", state: "rebuilding", attempts: 0 });
  assert.deepEqual(edges.map((e) => e.kind), ["data", "control", "stateful"]);
  assert.equal(edges[0]!.from, formatTaskId(id(1)));
  assert.equal(g.graphTruncated, false);
});

test("a start reported after the end (two clocks) is put at the end; an end with no start starts there", () => {
  const g = new GraphRecorder();
  const late = g.recordNode(id(1), "late", "task", "pending", 0);
  const never = g.recordNode(id(2), "never", "task", "pending", 0);
  g.started(late, 9, 0);
  g.ended(late, "finished", 8, 1, 1);
  g.ended(never, "cancelled", 4, -1, 0);
  const [a, b] = g.graph().nodes;
  assert.deepEqual([a!.start, a!.end, a!.worker], [8, 8, 1]);
  assert.deepEqual([b!.start, b!.end, b!.worker, b!.state], [4, 4, undefined, "cancelled"]);
});

test("past its limit the graph keeps the newest half of its nodes and only edges between kept nodes", () => {
  const g = new GraphRecorder(10);
  const handles = [];
  for (let n = 1; n <= 10; n++) handles.push(g.recordNode(id(n), `t${n}`, "task", "finished"));
  g.recordEdge(id(1), id(7), 0);   // from a node that will go
  g.recordEdge(id(6), id(7), 0);   // between nodes that stay
  g.recordNode(id(11), "t11", "task", "finished");
  g.setState(handles[0]!, "rebuilding"); // dropped: its row now holds a newer node, which must not change
  const { nodes, edges } = g.graph();
  assert.deepEqual(nodes.map((n) => n.name), ["t6", "t7", "t8", "t9", "t10", "t11"]);
  assert.deepEqual(nodes.map((n) => n.state), ["finished", "finished", "finished", "finished", "finished", "finished"]);
  assert.deepEqual(edges.map((e) => [e.from, e.to]), [[formatTaskId(id(6)), formatTaskId(id(7))]]);
  assert.equal(g.graphTruncated, true);
});

test("the columns grow past their first capacity and keep every node in order across the ring", () => {
  const g = new GraphRecorder(3000);
  for (let n = 1; n <= 5000; n++) g.recordNode(id(n), `t${n}`, "task", "pending");
  const names = g.graph().nodes.map((n) => n.name);
  // Node 3001 drops t1..t1500; node 4501 drops t1501..t3000: t3001..t5000 are kept.
  assert.equal(names.length, 2000);
  assert.equal(names[0], "t3001");
  assert.equal(names[1999], "t5000");
});

test("a long chain keeps its edge list bounded, and the graph shows only edges between the nodes it kept", () => {
  const g = new GraphRecorder(10);
  g.recordNode(id(1), "t1", "task", "finished");
  for (let n = 2; n <= 1000; n++) {
    g.recordNode(id(n), `t${n}`, "task", "finished");
    g.recordEdge(id(n - 1), id(n), 0);
  }
  assert.ok(g.graphEdgeFrom.length <= 20, `${g.graphEdgeFrom.length} edges kept for 10 nodes`);
  const { nodes, edges } = g.graph();
  const ids = new Set(nodes.map((n) => n.id));
  assert.equal(edges.length, nodes.length - 1);
  for (const e of edges) assert.ok(ids.has(e.from) && ids.has(e.to));
});
