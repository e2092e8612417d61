// toChromeTrace on hand-made graphs: valid JSON, one slice per timed node with exact durations,
// thread names per worker, flows for data edges only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toChromeTrace, DRIVER_TID, TRACE_PID, type TraceEvent } from "./index.js";
import { SAMPLE_GRAPH } from "./graph-fixtures.js";

const trace = JSON.parse(JSON.stringify(toChromeTrace(SAMPLE_GRAPH))) as { traceEvents: TraceEvent[] };
const slices = trace.traceEvents.filter((e) => e.ph === "X");

test("one complete event per node with a start and an end, ts/dur in microseconds", () => {
  const timed = SAMPLE_GRAPH.nodes.filter((n) => n.start !== undefined && n.end !== undefined);
  assert.equal(slices.length, timed.length);
  for (const node of timed) {
    const e = slices.find((s) => s.args?.id === node.id);
    assert.ok(e, `slice for ${node.id}`);
    assert.equal(e.pid, TRACE_PID);
    assert.equal(e.tid, node.worker ?? DRIVER_TID);
    assert.equal(e.name, node.name);
    assert.equal(e.ts, node.start! * 1000);
    assert.ok(Math.abs(e.dur! - (node.end! - node.start!) * 1000) < 1e-6, `dur of ${node.id}`);
  }
  assert.equal(slices.find((s) => s.args?.id === "4")?.dur, 1001);
});

test("running nodes are instants, untimed nodes are left out", () => {
  const instants = trace.traceEvents.filter((e) => e.ph === "i");
  assert.deepEqual(instants.map((e) => e.args?.id), ["7"]);
  assert.ok(!trace.traceEvents.some((e) => e.args?.id === "9"));
});

test("each thread that has events is named: workers by index, puts on the driver thread", () => {
  const names = new Map(
    trace.traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => [e.tid, e.args?.name]),
  );
  assert.deepEqual([...names.keys()].sort((a, b) => a - b), [0, 1, 2, DRIVER_TID]);
  assert.equal(names.get(1), "worker 1");
  assert.equal(names.get(DRIVER_TID), "driver");
  assert.ok(trace.traceEvents.some((e) => e.ph === "M" && e.name === "process_name"));
});

test("data edges between timed nodes become paired flow events; other kinds do not", () => {
  const starts = trace.traceEvents.filter((e) => e.ph === "s");
  const ends = trace.traceEvents.filter((e) => e.ph === "f");
  // 1->2, 1->3, 2->4, 3->4: all four endpoints are timed.
  assert.equal(starts.length, 4);
  assert.deepEqual(starts.map((e) => e.id).sort(), ends.map((e) => e.id).sort());
  for (const f of ends) assert.equal(f.bp, "e");
  const noFlows = toChromeTrace(SAMPLE_GRAPH, { flows: false });
  assert.ok(!noFlows.traceEvents.some((e) => e.ph === "s" || e.ph === "f"));
});

test("failed nodes are coloured", () => {
  assert.equal(slices.find((s) => s.args?.id === "8")?.cname, "terrible");
});
