// Work queued on a node (sent there, waiting for its one worker) when that node dies or drains: it never ran
// there, so it runs elsewhere without counting as a retry (SPEC: only tasks *running* on a lost node count
// against maxRetries), and a draining node hands it back rather than running it before it leaves.
//
// Each test starts a cluster whose only node B offers `slot`, queues four tasks that need `slot` on B (one runs,
// three wait), then adds node A offering `slot` too, and kills or drains B. Every task has maxRetries 0: a task
// that started on B and was killed there fails with NodeDiedError; every other one must give its value.
// The last test drains a node that hosts an actor: the actor moves to another node rather than dying.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { init, NodeDiedError, type Runtime, type ModuleWrappers } from "loom-dag";
import { Cluster, type ClusterProcess } from "loom-dag/testing";
import type * as Tasks from "./test-fixtures/spill-tasks.js";

const TASKS = new URL("./test-fixtures/spill-tasks.ts", import.meta.url);
const TASK_MS = 2_500;
const QUEUED = 4;

let cluster: Cluster | undefined;
let rt: Runtime | undefined;
let dir: string | undefined;

afterEach(async () => {
  await rt?.shutdown();
  await cluster?.shutdown();
  if (dir) rmSync(dir, { recursive: true, force: true });
  rt = cluster = dir = undefined;
});

/** `pid value` per start, as the tasks wrote them. */
function starts(file: string): Array<{ pid: number; value: number }> {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((line) => {
    const [pid, value] = line.split(" ");
    return { pid: Number(pid), value: Number(value) };
  });
}

/** Polls `file` (bounded) until `ok` holds of its starts. */
async function startsWhen(file: string, ok: (s: ReturnType<typeof starts>) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ok(starts(file))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; starts: ${JSON.stringify(starts(file))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** B runs one task and holds three queued; A (offering `slot` too) has joined. */
async function queueOnB(): Promise<{ b: ClusterProcess; a: ClusterProcess; file: string; refs: Array<ReturnType<ModuleWrappers<typeof Tasks>["noteStartThenWait"]["remote"]>> }> {
  cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 1, resources: { slot: 1 } }], nodeTimeoutMs: 1_000 });
  const b = cluster.nodes[0]!;
  rt = await init({ address: cluster.address });
  const m = await rt.module<typeof Tasks>(TASKS);
  dir = mkdtempSync(path.join(tmpdir(), "loom-queued-"));
  const file = path.join(dir, "starts");
  const task = m.noteStartThenWait.options({ resources: { slot: 1 }, maxRetries: 0 });
  const refs = Array.from({ length: QUEUED }, (_, i) => task.remote(file, TASK_MS, i));
  await startsWhen(file, (s) => s.length >= 1, "B to start its first task");
  const a = await cluster.addNode({ workers: 2, resources: { slot: 2 } });
  return { a, b, file, refs };
}

test("a node SIGKILLed with tasks queued: the one running fails (maxRetries 0), the queued ones run elsewhere", { timeout: 60_000 }, async () => {
  const { a, b, file, refs } = await queueOnB();
  const startedOnB = starts(file).filter((s) => s.pid === b.pid).map((s) => s.value);
  assert.ok(startedOnB.length < QUEUED, "some tasks still queue on B when it is killed");
  await cluster!.removeNode(b, { graceful: false });
  const outcomes = await Promise.allSettled(refs.map((ref) => rt!.get(ref, { timeoutMs: 30_000 })));
  const after = starts(file);
  outcomes.forEach((o, i) => {
    const ranOnB = after.some((s) => s.pid === b.pid && s.value === i);
    if (ranOnB && startedOnB.includes(i)) {
      assert.equal(o.status, "rejected", `task ${i} was running on B when it died, with no retries`);
      assert.ok((o as PromiseRejectedResult).reason instanceof NodeDiedError, `task ${i}: ${String((o as PromiseRejectedResult).reason)}`);
    } else {
      assert.equal(o.status, "fulfilled", `task ${i} never ran on B (queued there): ${o.status === "rejected" ? String(o.reason) : ""}`);
      assert.deepEqual((o as PromiseFulfilledResult<{ value: number; pid: number }>).value, { value: i, pid: a.pid });
    }
  });
  // Each ran at most once: no start on B after the kill, one on A for each of the others.
  for (let i = 0; i < QUEUED; i++) assert.equal(after.filter((s) => s.value === i).length, 1, `task ${i} started once`);
});

test("a node drained with tasks queued: it finishes the one it runs and hands the queued ones back", { timeout: 60_000 }, async () => {
  const { a, b, file, refs } = await queueOnB();
  const startedOnB = starts(file).filter((s) => s.pid === b.pid).map((s) => s.value);
  await cluster!.removeNode(b); // drains: returns once B has gone
  const results = await rt!.get(refs, { timeoutMs: 30_000 });
  const after = starts(file);
  assert.deepEqual(after.filter((s) => s.pid === b.pid).map((s) => s.value), startedOnB, "B started nothing once it drained");
  results.forEach((r, i) => {
    assert.equal(r.value, i);
    assert.equal(r.pid, startedOnB.includes(i) ? b.pid : a.pid, `task ${i} ran where expected`);
  });
  for (let i = 0; i < QUEUED; i++) assert.equal(after.filter((s) => s.value === i).length, 1, `task ${i} started once`);
});

test("a drained node's actor finishes the call it runs, then moves to another node with its state (not counted as a restart)", { timeout: 60_000 }, async () => {
  cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 1 }], nodeTimeoutMs: 1_000 });
  const b = cluster.nodes[0]!;
  rt = await init({ address: cluster.address });
  const m = await rt.module<typeof Tasks>(TASKS);
  const restarted: unknown[] = [];
  rt.events.on("actor:restarted", (e) => restarted.push(e));
  // maxRestarts 0: had the drain counted as a restart (or killed it), its calls would fail with NodeDiedError.
  const tally = m.PlacedTally.options({ maxRestarts: 0 }).remote();
  assert.deepEqual(await rt.get(tally.add.remote(1)), { total: 1, pid: b.pid });
  const a = await cluster.addNode({ workers: 1 });
  const inFlight = tally.add.remote(2, 1_500); // running on B when B is told to drain
  await new Promise((r) => setTimeout(r, 300));
  const removed = cluster.removeNode(b);
  // Made while B drains: sent to B if this driver has not heard of the drain yet (B runs them before it
  // leaves), else held here until the actor lives on A.
  const during = [3, 4].map((n) => tally.add.remote(n));
  await removed;
  const after = tally.add.remote(5);
  assert.deepEqual(await rt.get(inFlight, { timeoutMs: 20_000 }), { total: 3, pid: b.pid }, "the call B was running finished there");
  const duringResults = await rt.get(during, { timeoutMs: 20_000 });
  assert.deepEqual(duringResults.map((r) => r.total), [6, 10]);
  for (const r of duringResults) assert.ok(r.pid === a.pid || r.pid === b.pid);
  assert.deepEqual(await rt.get(after, { timeoutMs: 20_000 }), { total: 15, pid: a.pid }, "the state came along (replayed on A)");
  assert.equal(restarted.length, 1, "one restart: the move");
});
