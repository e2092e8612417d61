// The TaskTracker against events stepped by hand: exact counts whatever the rate, rows for a sample of tasks
// once the rate is high, a row and an error for every failure, throughput per second.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "eventemitter3";
import { TaskTracker, RECENT_LIMIT } from "./task-tracker.js";

const EPOCH = 1_700_000_000_000;

/** A tracker on a clock that moves only when `clock.ms` is set. */
function tracker(readError = async (_: string): Promise<Error | undefined> => new RangeError("boom")) {
  const events = new EventEmitter();
  const clock = { ms: 1000 };
  return { events, clock, t: new TaskTracker(events, "node-1", EPOCH, readError, () => clock.ms) };
}

function run(events: EventEmitter, id: number, name: string, ok: boolean, time = 10): void {
  const taskId = `t${id.toString(16)}`;
  events.emit("task:started", { taskId, name, worker: id % 2, time });
  events.emit(ok ? "task:finished" : "task:failed", { taskId, name, worker: id % 2, time: time + 1 });
}

test("a task's row goes pending, then finished with its start, end and worker", () => {
  const { events, t } = tracker();
  events.emit("task:submitted", { taskId: "t1", name: "add" });
  assert.deepEqual(t.counts(), { add: { pending: 1, running: 0, finished: 0, failed: 0, cancelled: 0 } });
  assert.equal(t.recentRows()[0]!.state, "pending");
  run(events, 1, "add", true, 20);
  assert.deepEqual(t.counts(), { add: { pending: 0, running: 0, finished: 1, failed: 0, cancelled: 0 } });
  const row = t.recentRows()[0]!;
  assert.deepEqual({ ...row, submittedAt: 0 }, {
    taskId: "t1", functionName: "add", state: "finished", nodeId: "node-1", workerId: 1,
    submittedAt: 0, startedAt: EPOCH + 20, finishedAt: EPOCH + 21, error: null,
  });
  t.detach();
  assert.equal(events.listenerCount("task:submitted"), 0);
});

test("at a high rate the counts stay exact and rows are a bounded sample; failures always get a row", async () => {
  const { events, clock, t } = tracker();
  const n = 50_000;
  // 50k submissions in 50 ms of the tracker's clock: a million a second.
  for (let i = 1; i <= n; i++) {
    if (i % 1000 === 0) clock.ms++;
    events.emit("task:submitted", { taskId: `t${i.toString(16)}`, name: "inc" });
  }
  for (let i = 1; i <= n; i++) run(events, i, "inc", i !== 777);
  assert.deepEqual(t.counts(), { inc: { pending: 0, running: 0, finished: n - 1, failed: 1, cancelled: 0 } });
  const rows = t.recentRows();
  assert.ok(rows.length <= RECENT_LIMIT, `${rows.length} rows`);
  // The first SAMPLE_EVERY submissions come before the rate is known; after them, one row in a thousand or so.
  const later = rows.filter((r) => Number.parseInt(r.taskId.slice(1), 16) > 2048);
  assert.equal(t.rowSampling, 512);
  assert.equal(events.listenerCount("task:started"), 0, "no starts heard at this rate: the driver builds no payload for them");
  assert.ok(later.length <= (n - 2048) / 512 + 2, `${later.length} rows for ${n - 2048} tasks, one in ${t.rowSampling}`);
  const failed = rows.find((r) => r.taskId === `t${(777).toString(16)}`);
  assert.equal(failed?.state, "failed");
  await new Promise((r) => setImmediate(r));
  assert.equal(failed?.error, null, "rows are copies");
  const [error] = t.errors();
  assert.equal(error?.name, "RangeError");
  assert.equal(t.recentRows().find((r) => r.taskId === "t309")?.error, "RangeError: boom");
  // Back to a few tasks a second: a row for each again.
  for (let i = n + 1; i <= n + 1024; i++) { clock.ms += 100; events.emit("task:submitted", { taskId: `t${i.toString(16)}`, name: "inc" }); }
  assert.equal(t.rowSampling, 1);
  assert.equal(events.listenerCount("task:started"), 1);
});

test("throughput counts ends per second; takeChanges returns only what changed", () => {
  const { events, t } = tracker();
  const now = Date.now();
  const rel = now - EPOCH;
  for (let i = 1; i <= 5; i++) run(events, i, "f", true, rel - 1);
  const buckets = t.throughput(3, now);
  assert.equal(buckets.length, 3);
  assert.equal(buckets.reduce((s, b) => s + b.finished, 0), 5);
  const first = t.takeChanges(0);
  assert.equal(first.rows.length, 5);
  assert.deepEqual(first.counts, { f: { pending: 0, running: 0, finished: 5, failed: 0, cancelled: 0 } });
  const second = t.takeChanges(first.errorCount);
  assert.deepEqual([second.rows.length, second.counts, second.errors.length], [0, undefined, 0]);
});

test("a cancelled task counts as cancelled, not pending, queued or running, with or without a row", () => {
  const { events, t } = tracker();
  for (const id of ["t1", "t2", "t3"]) events.emit("task:submitted", { taskId: id, name: "slow" });
  // t2 is seen running by a poll, then both t1 (queued) and t2 are cancelled; t3 runs to its end.
  t.setRunning({ epoch: EPOCH, workers: [], running: [{ taskId: "t2", name: "slow", worker: 0, started: 5 }], actors: [], resources: {}, used: {}, spilledBytes: 0 } as never);
  assert.deepEqual(t.counts(), { slow: { pending: 2, running: 1, finished: 0, failed: 0, cancelled: 0 } });
  events.emit("task:cancelled", { taskId: "t1", name: "slow", worker: -1, time: 30 });
  events.emit("task:cancelled", { taskId: "t2", name: "slow", worker: 0, time: 31 });
  assert.deepEqual(t.counts(), { slow: { pending: 1, running: 0, finished: 0, failed: 0, cancelled: 2 } });
  run(events, 3, "slow", true);
  assert.deepEqual(t.counts(), { slow: { pending: 0, running: 0, finished: 1, failed: 0, cancelled: 2 } });
  const rows = new Map(t.recentRows().map((r) => [r.taskId, r]));
  assert.deepEqual([rows.get("t1")?.state, rows.get("t1")?.finishedAt, rows.get("t1")?.workerId], ["cancelled", EPOCH + 30, null]);
  assert.deepEqual([rows.get("t2")?.state, rows.get("t2")?.finishedAt, rows.get("t2")?.workerId], ["cancelled", EPOCH + 31, 0]);
  assert.equal(t.errors().length, 0, "a cancellation is nobody's error");
  assert.equal(t.throughput(1, EPOCH + 31).reduce((n, b) => n + b.failed, 0), 0, "nor a failure in the throughput");
  // A later poll that still lists the cancelled task (its code may not have settled) does not revive it.
  t.setRunning({ epoch: EPOCH, workers: [], running: [{ taskId: "t2", name: "slow", worker: 0, started: 5 }], actors: [], resources: {}, used: {}, spilledBytes: 0 } as never);
  assert.equal(t.recentRows().find((r) => r.taskId === "t2")?.state, "cancelled");
});
