// The task table gives every row back once nothing can need it: after a program's refs are dropped and
// collected, the driver's tables return to where they were (issue 27's soak saw them creep).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { init, type ObjectRef, type Runtime, type ModuleWrappers } from "loom-dag";

type Tasks = typeof import("../test-fixtures/tasks.js");
const gc = (globalThis as { gc?: () => void }).gc;
const needsGc = { skip: typeof gc !== "function" && "needs --expose-gc (npm test passes it)" };

async function collect(): Promise<void> {
  for (let k = 0; k < 4; k++) { gc!(); await new Promise((r) => setTimeout(r, 20)); }
}

/** Blocks this thread until the task that `meet`s at counters[0] has run, then a little longer (its seal). */
function blockUntilRan(counters: Int32Array, ms: number): boolean {
  const end = Date.now() + ms;
  while (Atomics.load(counters, 0) === 0 && Date.now() < end) Atomics.wait(counters, 1, 0, 5);
  Atomics.wait(counters, 1, 0, 100);
  return Atomics.load(counters, 0) > 0;
}

/**
 * Runs `body` on a fresh one-worker runtime, warmed (tasks.ts loaded, one task run) and collected, then checks
 * that once its refs are gone and collected the task and object tables are back where they started. `body`
 * returns what its failure messages should add (e.g. how many windows it hit).
 */
async function tablesComeBack(body: (rt: Runtime, t: ModuleWrappers<Tasks>) => Promise<string>): Promise<void> {
  const rt: Runtime = await init({ workers: 1 });
  try {
    const t = await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url));
    await rt.get(t.add.remote(1, 1), { timeoutMs: 30_000 });
    await collect();
    const base = rt.tableSizes();
    const what = await body(rt, t);
    await collect();
    const now = rt.tableSizes();
    assert.equal(now.tasks, base.tasks, `task rows kept${what}: ${base.tasks} -> ${now.tasks}`);
    assert.equal(now.objects, base.objects, `objects kept${what}: ${base.objects} -> ${now.objects}`);
  } finally {
    await rt.shutdown();
  }
}

test("a cancel that lands after the task ran (its value stands) leaves no row behind once the refs are gone", needsGc, () => tablesComeBack(async (rt, t) => {
  let windowsHit = 0;
  for (let attempt = 0; attempt < 5 && windowsHit < 2; attempt++) {
    // The refs live only in this closure's scope, as a program's do in the functions that made them. The
    // cancel is called from the closure while the driver has not yet heard that the task ended (this thread is
    // blocked): the task's row takes the cancellation, its value stays.
    const round = async (): Promise<unknown> => {
      const counters = new Int32Array(new SharedArrayBuffer(8));
      const refs: ObjectRef[] = [t.meet.remote(counters, 0, 1, 5_000)];
      const cancelLate = (): void => {
        if (!blockUntilRan(counters, 10_000)) throw new Error("the task did not run within 10 s");
        rt.cancel(refs[0]!);
      };
      cancelLate();
      return rt.get(refs[0]!, { timeoutMs: 20_000 }).catch((e: Error) => e.name);
    };
    if ((await round()) === true) windowsHit++;
  }
  assert.ok(windowsHit > 0, "no cancel landed between the task's end and the driver hearing of it");
  return ` after ${windowsHit} late cancels`;
}));

test("a call on a dead actor gives back the holds on its arguments: their objects and producers' rows go with the refs", needsGc, () => tablesComeBack(async (rt, t) => {
  const round = async (): Promise<string[]> => {
    const counter = t.Counter.remote(0);
    rt.kill(counter);
    // A task's result passed as the argument (a dependency) and one nested in a box (a nested ref): the call is
    // failed at once, and nothing else holds either of them once this closure's refs are gone.
    const arg = t.add.remote(2, 3);
    const boxed = t.add.remote(4, 5);
    const calls = [counter.inc.remote(arg as never), counter.inc.remote({ refs: [boxed] } as never)];
    const why = await Promise.all(calls.map((c) => rt.get(c, { timeoutMs: 20_000 }).then(() => "resolved", (e: Error) => e.name)));
    assert.deepEqual(await rt.get([arg, boxed], { timeoutMs: 20_000 }), [5, 9], "the arguments' tasks ran");
    return why;
  };
  assert.deepEqual(await round(), ["ActorDiedError", "ActorDiedError"], "calls on a killed actor reject with ActorDiedError");
  return "";
}));

test("an actor result's replay whose replica cannot be built leaves no row behind once the refs are gone", needsGc, () => tablesComeBack(async (rt, t) => {
  const round = async (): Promise<string> => {
    // The constructor's argument is a put: once lost, it cannot come back for the replica that replays the chain.
    const boxed = rt.put(5);
    const counter = t.Counter.remote(boxed as never);
    const first = counter.inc.remote(1);
    assert.equal(await rt.get(first, { timeoutMs: 20_000 }), 6, "the call ran on the actor");
    assert.ok(rt.faults.evict(boxed), "the put was stored");
    assert.ok(rt.faults.evict(first), "the call's result was stored");
    const why = await rt.get(first, { timeoutMs: 20_000 }).then(() => "resolved", (e: Error) => e.name);
    rt.kill(counter);
    return why;
  };
  return ` (the replayed call: ${await round()})`;
}));

test("a call on a dead actor is not left in flight: a driver that made one exits without shutdown()", () => {
  const driver = fileURLToPath(new URL("../test-fixtures/dead-actor-driver.mjs", import.meta.url));
  // Left in flight, the call kept the runtime's keep-alive timer on and the driver never exited: the timeout ends it.
  const run = spawnSync(process.execPath, [driver], { encoding: "utf8", timeout: 30_000, env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(run.signal, null, `the driver did not exit on its own within 30 s (killed by ${run.signal}); stderr: ${run.stderr}`);
  assert.equal(run.status, 0, `the driver exited cleanly (stderr: ${run.stderr})`);
  assert.equal(run.stdout, "ActorDiedError", "the call rejected with ActorDiedError");
});
