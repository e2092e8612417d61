// Work queued on a node (sent there, waiting for its one worker) when that node dies or drains: it never ran
// there, so it runs elsewhere without counting as a retry (SPEC: only tasks *running* on a lost node count
// against maxRetries), and a draining node hands it back rather than running it before it leaves.
//
// Each test starts a cluster whose only node B offers `slot`, queues four tasks that need `slot` on B (one runs,
// three wait), then adds node A offering `slot` too, and kills or drains B. Every task has maxRetries 0: a task
// that started on B and was killed there fails with NodeDiedError; every other one must give its value.
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
