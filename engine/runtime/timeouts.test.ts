// Per-task timeouts (SPEC "Timeouts"): an attempt running past timeoutMs is stopped (its signal aborts; if it
// has not returned within the 1 s grace period its worker is killed), its ref rejects with TaskTimeoutError,
// waiting for arguments does not count, and retryExceptions retries it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { init, LoomError, TaskTimeoutError, type Runtime } from "loom-dag";

type Cases = typeof import("../test-fixtures/ray-cases.js");
type Tasks = typeof import("../test-fixtures/tasks.js");
let rt: Runtime;
let m: Record<string, any>;
let t: Record<string, any>;
const dir = mkdtempSync(join(tmpdir(), "loom-timeouts-"));

before(async () => {
  rt = await init({ workers: 2 });
  m = await rt.module<Cases>(new URL("../test-fixtures/ray-cases.ts", import.meta.url));
  t = await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url));
  await rt.get([m.lengthOf.remote("a"), m.lengthOf.remote("b"), t.add.remote(1, 1), t.add.remote(1, 2)], { timeoutMs: 30_000 });
});
after(async () => {
  await rt.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const errorOf = (p: Promise<unknown>): Promise<any> => p.then((v) => assert.fail(`expected a rejection, got ${String(v)}`), (e) => e);

test("a CPU-bound task past its timeout rejects with TaskTimeoutError and its worker is killed after the grace period", async () => {
  const died: unknown[] = [];
  const onDied = (e: unknown) => { died.push(e); };
  rt.events.on("worker:died", onDied);
  try {
    const started = Date.now();
    const e = await errorOf(rt.get(m.spinFor.options({ timeoutMs: 300 }).remote(20_000), { timeoutMs: 15_000 }));
    assert.ok(e instanceof TaskTimeoutError, `TaskTimeoutError, got ${e?.name}: ${e?.message}`);
    assert.equal(e.code, "ERR_TASK_TIMEOUT");
    assert.equal(e.timeoutMs, 300);
    assert.equal(e.functionName, "spinFor");
    assert.match(e.taskId, /^t[0-9a-f]+$/);
    assert.ok(Date.now() - started < 10_000, "rejected long before the task would have ended");
    const end = Date.now() + 10_000;
    while (died.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(died.length, 1, "the worker still spinning after the grace period was killed");
  } finally {
    rt.events.off("worker:died", onDied);
  }
  assert.equal(await rt.get(t.add.remote(2, 3), { timeoutMs: 20_000 }), 5, "later tasks run");
});

test("a task that honours its signal returns within the grace period: no worker dies, the ref still rejects", async () => {
  const died: unknown[] = [];
  const onDied = (e: unknown) => { died.push(e); };
  rt.events.on("worker:died", onDied);
  try {
    const e = await errorOf(rt.get(m.sleepOrAbort.options({ timeoutMs: 200 }).remote(10_000), { timeoutMs: 15_000 }));
    assert.ok(e instanceof TaskTimeoutError, `TaskTimeoutError, got ${e?.name}`);
    await new Promise((r) => setTimeout(r, 1_300)); // past the grace period
    assert.equal(died.length, 0, "nothing was killed");
  } finally {
    rt.events.off("worker:died", onDied);
  }
});

test("time waiting for arguments does not count", async () => {
  const slowArg = t.sleep.remote(600);
  assert.equal(await rt.get(t.add.options({ timeoutMs: 300 }).remote(slowArg, 1), { timeoutMs: 15_000 }), 601);
});

test("with retryExceptions a timed-out attempt is retried", async () => {
  const marker = join(dir, "slow-once");
  const r = m.slowOnce.options({ timeoutMs: 300, retryExceptions: true, maxRetries: 1 }).remote(marker, 10_000);
  assert.equal(await rt.get(r, { timeoutMs: 20_000 }), "second");
});

test("an actor call past its timeout rejects; the actor restarts under maxRestarts and serves the next call", async () => {
  const d = m.Doubler.options({ maxRestarts: 1 }).remote();
  assert.equal(await rt.get(d.double.remote(1), { timeoutMs: 10_000 }), 2);
  const restarted = new Promise((resolve) => rt.events.once("actor:restarted", resolve));
  const e = await errorOf(rt.get(d.double.options({ timeoutMs: 200 }).remote(5, 10_000), { timeoutMs: 15_000 }));
  assert.ok(e instanceof TaskTimeoutError, `TaskTimeoutError, got ${e?.name}: ${e?.message}`);
  // Calls sent before the restart are in flight on the stopped instance (maxTaskRetries 0 fails them, as in Ray).
  await restarted;
  assert.equal(await rt.get(d.double.remote(7), { timeoutMs: 20_000 }), 14, "the restarted actor answers");
  assert.equal(await rt.get(d.count.remote(), { timeoutMs: 20_000 }), 2, "its log replayed the call before the timeout, not the timed-out one");
  rt.kill(d);
});

test("timeoutMs must be a finite number > 0", () => {
  for (const bad of [0, -1, Infinity, Number.NaN, "100"]) {
    assert.throws(() => t.add.options({ timeoutMs: bad as never }), LoomError, `refuses ${String(bad)}`);
  }
});
