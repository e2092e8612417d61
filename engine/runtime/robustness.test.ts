// Robustness (issue: no input, load or history makes the engine freeze, hang or answer wrongly): timeouts that
// never expire early, a cancelled task that never settles, and store pressure that once froze the driver for
// good (run in a child process, killed if it does not finish, since a frozen driver runs no timer of ours).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { init, LoomError, TaskCancelledError, type Runtime } from "loom-dag";

type Cases = typeof import("../test-fixtures/ray-cases.js");
type Tasks = typeof import("../test-fixtures/tasks.js");
let rt: Runtime;
let m: Record<string, any>;
let t: Record<string, any>;
const dir = mkdtempSync(join(tmpdir(), "loom-robust-"));

before(async () => {
  rt = await init({ workers: 2 });
  m = await rt.module<Cases>(new URL("../test-fixtures/ray-cases.ts", import.meta.url));
  t = await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url));
});
after(async () => {
  await rt.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

test("timeoutMs: Infinity means none, and values past setTimeout's range never expire early", async () => {
  assert.equal(await rt.get(t.sleep.remote(200), { timeoutMs: Infinity }), 200, "get with Infinity waits");
  for (const timeoutMs of [Infinity, 2 ** 31, 2 ** 40]) {
    const { ready } = await rt.wait([t.sleep.remote(200)], { timeoutMs });
    assert.equal(ready.length, 1, `wait with timeoutMs ${timeoutMs} returned the finished task, not an early empty list`);
  }
  for (const bad of [-1, Number.NaN, "100"]) {
    await assert.rejects(rt.wait([rt.put(1)], { timeoutMs: bad as never }), LoomError, `wait refuses timeoutMs ${String(bad)}`);
    assert.throws(() => rt.get(rt.put(1), { timeoutMs: bad as never }), LoomError, `get refuses timeoutMs ${String(bad)}, ready ref or not`);
  }
});

async function untilExists(file: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > end) assert.fail(`${file} never appeared`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("a cancelled task whose code never settles frees its CPU slot at once; a later force cancel kills its worker", async () => {
  const files = [0, 1].map((i) => join(dir, `never-${i}`));
  const stuck = files.map((f) => m.neverSettles.remote(f));
  for (const f of files) await untilExists(f, 20_000); // both workers now run one
  for (const r of stuck) rt.cancel(r);
  for (const r of stuck) assert.ok((await rt.get(r, { timeoutMs: 5_000 }).catch((e) => e)) instanceof TaskCancelledError);
  assert.equal(await rt.get(t.add.remote(1, 2), { timeoutMs: 10_000 }), 3, "later tasks run on the freed slots");
  const died: unknown[] = [];
  const onDied = (e: unknown) => { died.push(e); };
  rt.events.on("worker:died", onDied);
  try {
    for (const r of stuck) rt.cancel(r, { force: true });
    const end = Date.now() + 10_000;
    while (died.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(died.length, 2, "force cancel killed both workers still running the cancelled code");
  } finally {
    rt.events.off("worker:died", onDied);
  }
  assert.equal(await rt.get(t.add.remote(2, 3), { timeoutMs: 20_000 }), 5, "the replacements run tasks");
});

test("store pressure never freezes the driver: big arguments in flight, and an arena once filled with small objects", () => {
  const script = fileURLToPath(new URL("../test-fixtures/store-pressure-driver.ts", import.meta.url));
  const run = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", script], { encoding: "utf8", timeout: 240_000, killSignal: "SIGKILL" });
  assert.equal(run.signal, null, `the driver froze (killed after 240 s); stderr: ${run.stderr.slice(-2000)}`);
  assert.equal(run.status, 0, `the driver failed: ${run.stderr.slice(-2000)}`);
  const seen = JSON.parse(run.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  assert.equal(seen.bigArgs, "ok", "600 tasks with 50 KB arguments all answered");
  assert.ok((seen.filledArenaBytes as number) > 8 * 2 ** 20, `the arena was filled (${seen.filledArenaBytes} bytes)`);
  assert.ok(seen.bigAfterFill === 600 || seen.bigAfterFill === "ObjectStoreFullError",
    `a payload of a size the full arena never served runs or fails clearly, never waits forever: ${String(seen.bigAfterFill)}`);
  assert.equal(seen.addAfter, 3, "and the runtime still runs tasks");
});

test("refs and actor handles belong to the runtime that made them: the next runtime refuses them with a LoomError", async () => {
  const theirs = t.add.remote(40, 2);
  const theirActor = t.Counter.remote(1);
  assert.equal(await rt.get(theirs), 42);
  await rt.shutdown();
  rt = await init({ workers: 2 });
  t = await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url));
  m = await rt.module<Cases>(new URL("../test-fixtures/ray-cases.ts", import.meta.url));
  // The same ids exist in the new runtime too: an old ref must not read them, an old handle must not call them.
  for (let i = 0; i < 5; i++) await rt.get(t.add.remote(100 * i, 1));
  t.Counter.remote(1000);
  const refused = (what: string) => (e: unknown) => e instanceof LoomError && /another Loom runtime/.test((e as Error).message) || assert.fail(`${what}: ${String(e)}`);
  assert.throws(() => rt.get(theirs), refused("get"));
  assert.throws(() => rt.get([rt.put(1), theirs]), refused("get of a list"));
  await assert.rejects(rt.wait([theirs]), refused("wait"));
  assert.throws(() => t.add.remote(theirs, 1), refused("a top-level argument"));
  assert.throws(() => t.sumRefs.remote({ refs: [theirs] }), refused("a nested argument"));
  assert.throws(() => rt.put({ r: theirs }), refused("put"));
  assert.throws(() => t.callCounter.remote(theirActor, 1), refused("an actor handle as an argument"));
  assert.throws(() => rt.kill(theirActor), refused("kill"));
  assert.throws(() => rt.cancel(theirs), refused("cancel"));
});

test("killed actors are forgotten: the driver's tables do not grow with the actors ever made", { skip: typeof globalThis.gc !== "function" && "needs --expose-gc (npm test passes it)" }, async () => {
  const base = rt.tableSizes();
  for (let round = 0; round < 3; round++) {
    const actors = Array.from({ length: 100 }, (_, i) => t.Counter.remote(i));
    assert.equal((await rt.get(actors.map((c) => c.inc.remote(1)), { timeoutMs: 30_000 }) as number[]).length, 100);
    for (const c of actors) rt.kill(c);
    await assert.rejects(rt.get(actors[0]!.inc.remote(1), { timeoutMs: 10_000 }), (e: Error) => e.name === "ActorDiedError" && /killed/.test(e.message),
      "a call through an old handle still names the death");
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let k = 0; k < 3 && gc; k++) { gc(); await new Promise((r) => setTimeout(r, 20)); }
  const now = rt.tableSizes();
  assert.ok(now.actors - base.actors <= 5, `actors kept: ${base.actors} -> ${now.actors} after 300 killed`);
  assert.ok(now.tasks - base.tasks <= 20, `task entries kept: ${base.tasks} -> ${now.tasks} after 300 actors and 600 calls`);
});

test("SharedArrayBuffers in a task's arguments are shared with it, as postMessage shares them; put still copies", async () => {
  const sab = new SharedArrayBuffer(64);
  const view = new Int32Array(sab, 16, 4);
  const other = new SharedArrayBuffer(16);
  assert.equal(await rt.get(m.writeShared.remote(sab, view, { dv: new DataView(other) }, 77), { timeoutMs: 20_000 }), 4);
  assert.equal(new Int32Array(sab)[0], 77, "the whole buffer");
  assert.equal(view[1], 77, "a view at an offset, nested in the same buffer");
  assert.equal(new DataView(other).getInt32(8, true), 77, "a DataView inside an object");
  const cells = new Int32Array(new SharedArrayBuffer(8));
  const counter = m.SharedCounter.remote(cells);
  await rt.get([counter.bump.remote(), counter.bump.remote()], { timeoutMs: 20_000 });
  assert.equal(Atomics.load(cells, 0), 2, "an actor's constructor argument stays shared for its life");
  rt.kill(counter);
  const stored = new Int32Array(new SharedArrayBuffer(8));
  const ref = rt.put(stored);
  stored[0] = 5;
  assert.equal(((await rt.get(ref, { timeoutMs: 10_000 })) as Int32Array)[0], 0, "put copies: stored objects are immutable");
});

test("SharedArrayBuffers in the arguments of tasks and actors submitted inside a task are shared too", async () => {
  const n = await rt.module<typeof import("../test-fixtures/nested-shared.js")>(new URL("../test-fixtures/nested-shared.ts", import.meta.url));
  assert.deepEqual(await rt.get(n.childWritesOwnBuffer.remote(7), { timeoutMs: 20_000 }), [0, 7, 7, 0], "a child's writes reach the task that submitted it");
  const sab = new SharedArrayBuffer(8);
  assert.equal(await rt.get(n.passOn.remote(sab, 40), { timeoutMs: 20_000 }), true);
  assert.deepEqual(Array.from(new Int32Array(sab)), [40, 41], "passed on from the driver through a task to its child and its actor");
});

test("an unnamed actor whose handles are all gone is terminated once its calls finish (as in Ray); a kept method keeps it", { skip: typeof globalThis.gc !== "function" && "needs --expose-gc (npm test passes it)" }, async () => {
  const base = rt.tableSizes().actors;
  const collect = async () => {
    for (let k = 0; k < 4; k++) { (globalThis as { gc?: () => void }).gc!(); await new Promise((r) => setTimeout(r, 30)); }
  };
  const useAndDrop = async (): Promise<number[]> => {
    const actors = Array.from({ length: 50 }, (_, i) => t.Counter.remote(i));
    return (await rt.get(actors.map((c) => c.inc.remote(1)), { timeoutMs: 30_000 })) as number[];
  };
  assert.equal((await useAndDrop()).length, 50);
  await collect();
  assert.ok(rt.tableSizes().actors - base <= 2, `actors left after their handles went: ${rt.tableSizes().actors - base}`);
  const keepMethod = () => t.Counter.remote(100).inc;
  const inc = keepMethod();
  await collect();
  assert.equal(await rt.get(inc.remote(1), { timeoutMs: 10_000 }), 101, "a method kept alone keeps its actor");
});
