// /api/events: a snapshot first, then each rt.events event under its own name and the page's deltas, written
// in batches at most every 100 ms; rt.events listeners only while a page is connected.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, type Runtime } from "loom-dag";
import { SseReader } from "./test-fixtures/http.js";
import { formatTaskId, taskIdOfObject } from "../ids.js";

type Tasks = typeof import("../test-fixtures/tasks.js");
let rt: Runtime;
let m: Record<string, any>;

before(async () => {
  rt = await init({ workers: 2, dashboard: { port: 0 } });
  m = (await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url))) as Record<string, any>;
});
after(async () => {
  await rt.shutdown();
});

test("a snapshot, then one SSE event per rt.events event with its payload, then deltas", async () => {
  const sse = new SseReader(rt.dashboardUrl + "/api/events");
  try {
    const snap = await sse.waitFor((f) => f.event === "dashboard:snapshot");
    assert.deepEqual(Object.keys(snap.data).sort(), ["actors", "errors", "nodes", "objects", "store", "tasks", "throughput", "time", "workers"]);
    assert.equal(snap.data.workers.length, 2);
    const ref = m.add.remote(40, 2);
    await rt.get(ref);
    const finished = await sse.waitFor((f) => f.event === "task:finished" && f.data.name === "add");
    const submitted = await sse.waitFor((f) => f.event === "task:submitted" && f.data.taskId === finished.data.taskId);
    assert.deepEqual(submitted.data, { taskId: finished.data.taskId, name: "add" });
    assert.deepEqual(Object.keys(finished.data).sort(), ["name", "taskId", "time", "worker"]);
    const delta = await sse.waitFor((f) => f.event === "dashboard:delta" && f.data.counts?.add?.finished === 1);
    assert.ok(delta.data.tasks.some((r: any) => r.taskId === finished.data.taskId && r.state === "finished"));
    await assert.rejects(rt.get(m.fail.remote("sse failure")));
    const failed = await sse.waitFor((f) => f.event === "dashboard:delta" && (f.data.errors ?? []).length > 0);
    assert.match(failed.data.errors[0].stack, /sse failure/);
  } finally {
    sse.close();
  }
});

test("events are batched: a stream of tasks arrives in chunks at most every ~100 ms", async () => {
  const sse = new SseReader(rt.dashboardUrl + "/api/events");
  try {
    await sse.waitFor((f) => f.event === "dashboard:snapshot");
    const start = Date.now();
    // About a second of tasks 25 ms apart: written one by one, they would arrive in ~40 reads, not ~10.
    let rounds = 0;
    while (Date.now() - start < 1000 && rounds < 200) {
      rounds++;
      await rt.get(m.add.remote(1, rounds));
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 250));
    const taskFrames = sse.frames.filter((f) => f.event.startsWith("task:") && f.at >= start);
    assert.ok(taskFrames.length >= rounds * 3, `${taskFrames.length} task frames for ${rounds} tasks`);
    // One write per flush, which the network may split into reads a few ms apart: reads closer than 10 ms are one flush.
    const reads = [...new Set(taskFrames.map((f) => f.chunk))].map((c) => sse.chunkTimes[c]!);
    let flushes = 1;
    for (let i = 1; i < reads.length; i++) if (reads[i]! - reads[i - 1]! >= 10) flushes++;
    const spanMs = reads[reads.length - 1]! - reads[0]!;
    assert.ok(flushes <= spanMs / 100 + 2, `${flushes} flushes over ${spanMs} ms`);
    assert.ok(taskFrames.length / flushes > 2, `${taskFrames.length} frames in ${flushes} flushes: not batched`);
  } finally {
    sse.close();
  }
});

test("a burst beyond 500 events a flush keeps the newest, counts the rest as dropped, and the counts stay exact", async () => {
  const sse = new SseReader(rt.dashboardUrl + "/api/events");
  try {
    await sse.waitFor((f) => f.event === "dashboard:snapshot");
    const n = 5000;
    let lastFinished = "";
    const note = (e: { taskId: string }) => { lastFinished = e.taskId; };
    rt.events.on("task:finished", note);
    const refs = Array.from({ length: n }, (_, i) => m.identity.remote(i));
    await rt.get(refs);
    // get can resolve from shared memory before the driver has taken every end (and emitted its event): the
    // newest finished event is known once the page has counted all of them.
    const delta = await sse.waitFor((f) => f.event === "dashboard:delta" && f.data.counts?.identity?.finished === n);
    rt.events.off("task:finished", note);
    assert.equal(delta.data.counts.identity.pending, 0);
    const dropped = sse.frames.filter((f) => f.event === "dashboard:dropped");
    assert.ok(dropped.length > 0, "5,000 submissions in one synchronous loop overflow one flush");
    const shown = sse.frames.filter((f) => f.event.startsWith("task:") && f.data.name === "identity").length;
    const lost = dropped.reduce((sum, f) => sum + Object.values(f.data as Record<string, number>).reduce((a, b) => a + b, 0), 0);
    assert.equal(shown + lost, 3 * n, `${shown} shown + ${lost} dropped`);
    // 5,000 submissions in one synchronous loop, and a flush keeps the newest 500: the first one is dropped.
    const firstId = formatTaskId(taskIdOfObject(refs[0].id));
    assert.ok(!sse.frames.some((f) => f.event === "task:submitted" && f.data.taskId === firstId), "the oldest events go first");
    assert.ok(sse.frames.some((f) => f.event === "task:finished" && f.data.taskId === lastFinished), "the newest event stays");
  } finally {
    sse.close();
  }
});

test("listeners on rt.events only while a page is connected", async () => {
  const attached = () => rt.events.listenerCount("worker:died");
  const detached = async () => {
    const deadline = Date.now() + 2000;
    while (attached() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(attached(), 0);
  };
  await detached(); // the earlier tests' streams close asynchronously on the server's side
  const sse = new SseReader(rt.dashboardUrl + "/api/events");
  try {
    await sse.waitFor((f) => f.event === "dashboard:snapshot");
    assert.equal(attached(), 1);
  } finally {
    sse.close();
  }
  await detached();
});

test("worker:died and worker:started reach the page", async () => {
  const sse = new SseReader(rt.dashboardUrl + "/api/events");
  try {
    await sse.waitFor((f) => f.event === "dashboard:snapshot");
    await rt.faults.killWorker(1);
    assert.deepEqual((await sse.waitFor((f) => f.event === "worker:died")).data, { worker: 1 });
    await sse.waitFor((f) => f.event === "worker:started" && f.data.worker === 1);
  } finally {
    sse.close();
  }
});
