// Crash points (SPEC "Lineage and faults": rt.faults.crashAt): a worker killed exactly at each step of its
// protocol never changes an answer and never hangs a job. Each case arms one point, runs work that reaches it,
// and checks the answer, that the crash fired, and which task it hit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, LoomError, type Runtime } from "loom-dag";

type Cases = typeof import("../test-fixtures/ray-cases.js");
type Tasks = typeof import("../test-fixtures/tasks.js");
let rt: Runtime;
let m: Record<string, any>;
let t: Record<string, any>;

before(async () => {
  rt = await init({ workers: 2 });
  m = await rt.module<Cases>(new URL("../test-fixtures/ray-cases.ts", import.meta.url));
  t = await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url));
  // Both workers import the modules before any crash, so a crash never races a first import.
  await rt.get([t.sleep.remote(50), t.sleep.remote(50), m.lengthOf.remote("x"), m.lengthOf.remote("y")], { timeoutMs: 30_000 });
});
after(async () => {
  await rt.shutdown();
});

const get = (ref: unknown): Promise<any> => rt.get(ref as never, { timeoutMs: 30_000 });

async function crashDuring(point: string, times: number, work: () => Promise<void>): Promise<{ fired: number; taskIds: string[] }> {
  const fired = rt.faults.crashAt(point as never, { times });
  await work();
  // Every armed crash fired during the work; a crash left unfired would mean the point was never reached.
  const report = await Promise.race([fired, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${point}: armed crashes never fired`)), 30_000))]);
  assert.equal(report.fired, times, `${point}: ${times} crash(es) fired`);
  assert.equal(report.taskIds.length, times, `${point}: the report names the tasks`);
  return report;
}

for (const point of ["taken", "running", "sealing", "sealed"]) {
  test(`a task whose worker dies at "${point}" is retried and gives the same answer`, async () => {
    let ref: any;
    const report = await crashDuring(point, 1, async () => {
      ref = t.add.remote(20, 22);
      assert.equal(await get(ref), 42);
    });
    assert.match(report.taskIds[0]!, /^t[0-9a-f]+$/);
  });

  test(`a big result through a store segment survives a crash at "${point}"`, async () => {
    await crashDuring(point, 1, async () => {
      const v = (await get(m.filled.remote(64 * 1024, 3))) as Float64Array;
      assert.equal(v.length, 64 * 1024);
      assert.ok(v.every((x) => x === 3), "every element written once, by the attempt that finished");
    });
  });
}

test(`a task whose argument already failed gets that error without being dispatched: a crash at "taken" cannot turn it into a crash`, async () => {
  const bad = t.fail.remote("the argument failed");
  const argError = await get(bad).then(() => assert.fail("the argument should fail"), (e: Error) => e);
  assert.equal(argError.name, "TaskError");
  const fired = rt.faults.crashAt("taken");
  // With no retries left, a worker lost on taking it would have made this a WorkerCrashedError.
  const dependent = t.identity.options({ maxRetries: 0 }).remote(bad);
  const e = await get(dependent).then(() => assert.fail("the dependent should fail"), (error: Error) => error);
  assert.equal(e.name, argError.name, `the argument's error, got ${e.name}: ${e.message}`);
  assert.equal(e.message, argError.message);
  // The crash is still armed: the next task a worker takes meets it, and is retried.
  assert.equal(await get(t.add.remote(1, 2)), 3);
  const report = await Promise.race([fired, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the armed crash never fired")), 30_000))]);
  assert.equal(report.fired, 1);
});

test(`a put made inside a task survives a crash at "putting"`, async () => {
  await crashDuring("putting", 1, async () => {
    assert.equal(await get(m.putAndRead.remote(21)), 42);
  });
});

test(`nested tasks survive crashes at "running" in parent and children`, async () => {
  await crashDuring("running", 2, async () => {
    assert.equal(await get(t.fanOut.remote(4)), await get(t.fanOut.remote(4)), "same answer as a run without crashes");
  });
});

test(`an actor call survives a crash at "running" within the actor's restart budget`, async () => {
  const c = m.Tally.options({ maxRestarts: 1, maxTaskRetries: 1 }).remote();
  assert.equal(await get(c.add.remote(5)), 5);
  await crashDuring("running", 1, async () => {
    assert.equal(await get(c.add.remote(2)), 7, "replayed state, retried call");
  });
  rt.kill(c);
});

test(`an actor survives a crash at "checkpointing" within its restart budget`, async () => {
  const c = m.Checkpointed.options({ checkpointEvery: 1, maxRestarts: 1, maxTaskRetries: 1 }).remote();
  assert.equal(await get(c.add.remote(1)), 1);
  await crashDuring("checkpointing", 1, async () => {
    assert.equal(await get(c.add.remote(2)), 3, "the call whose checkpoint crashed is retried on the restored actor");
  });
  assert.equal(await get(c.add.remote(3)), 6);
  rt.kill(c);
});

test("crashAt refuses an unknown point; disarm resolves with what fired", async () => {
  assert.throws(() => rt.faults.crashAt("nowhere" as never), (e: unknown) => e instanceof LoomError && /nowhere/.test((e as Error).message));
  assert.throws(() => rt.faults.crashAt("running", { times: 0 }), LoomError);
  const pending = rt.faults.crashAt("sealing", { times: 3 });
  rt.faults.disarm();
  assert.deepEqual(await pending, { fired: 0, taskIds: [] });
  assert.equal(await get(t.add.remote(1, 1)), 2, "nothing fires after disarm");
});

for (const maxTaskRetries of [0, 1]) {
  test(`an actor call whose thread dies at "sealed" counts once: replayed, never retried (maxTaskRetries ${maxTaskRetries})`, async () => {
    const c = m.Tally.options({ maxRestarts: 1, maxTaskRetries }).remote();
    assert.equal(await get(c.add.remote(5)), 5);
    await crashDuring("sealed", 1, async () => {
      assert.equal(await get(c.add.remote(2)), 7, "its result was sealed before the crash");
    });
    assert.equal(await get(c.add.remote(1)), 8, "the restarted actor applied each call exactly once");
    rt.kill(c);
  });
}
