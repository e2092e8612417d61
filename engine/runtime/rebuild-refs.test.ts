// Reference counts across a rebuild (lineage reconstruction): a rebuild holds what its task will release when it
// ends, before anything can end it, and a hold taken on an object that was freed is not lost when the object is
// registered again. Either mistake frees an object that someone still reads; a worker that wants it then gets
// "ready" answers for an object the driver frees again right after each rebuild (ready-lost-loop).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, ObjectLostError, ReconstructionError, type Runtime } from "loom-dag";

type Tasks = typeof import("../test-fixtures/tasks.js");
let rt: Runtime;
let m: Awaited<ReturnType<Runtime["module"]>> & Record<string, any>;

before(async () => {
  rt = await init({ workers: 2 });
  m = (await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url))) as typeof m;
});
after(async () => {
  await rt.shutdown();
});

/** Object ids that were announced lost while `body` ran (evictions and rebuilds of freed objects). */
async function lostDuring(body: () => Promise<void>): Promise<number[]> {
  const lost: number[] = [];
  const onLost = (e: { objectId: number }) => { lost.push(e.objectId); };
  rt.events.on("object:lost", onLost);
  try {
    await body();
  } finally {
    rt.events.off("object:lost", onLost);
  }
  return lost;
}

test("a rebuild that fails on a lost put keeps the other arguments, which the driver still holds", async () => {
  const p = rt.put(1);
  const x = m.add.remote(2, 3);
  const t = m.add.remote(p, x);
  assert.equal(await rt.get(t), 6, "first run");
  assert.equal(rt.faults.evict(p), true, "the put is stored");
  assert.equal(rt.faults.evict(t), true, "the result is stored");
  // The rebuild of t cannot get p back: t fails (a ReconstructionError caused by the ObjectLostError). Ending it
  // must not release x, which it no longer held.
  await assert.rejects(rt.get(t), (e: Error) => e instanceof ReconstructionError && e.cause instanceof ObjectLostError);
  const lost = await lostDuring(async () => {
    assert.equal(await rt.get(x), 5, "x is still readable");
    // A worker reads x (a nested ref, so the task does not wait for it before it starts).
    assert.equal(await rt.get(m.sumRefs.remote({ refs: [x] }), { timeoutMs: 10_000 }), 5, "a worker reads x");
  });
  assert.deepEqual(lost, [], `x was never lost or freed, so nothing is rebuilt (lost: ${lost.join(", ")})`);
});

test("a task given a ref to an object that was freed holds it through its rebuild until it has read it", async () => {
  // The new task's argument holds the child's result (the parent's lineage holds it too): even if it had been
  // freed, its rebuild must stay alive until that task, which starts 100 ms later, has read it; else its want
  // is answered after each rebuild and the child freed again each time (ready-lost-loop).
  let value: unknown;
  const lost = await lostDuring(async () => {
    value = await rt.get(m.addToChildLater.remote(1, 100), { timeoutMs: 10_000 });
  });
  assert.equal(value, 102, "(1+1) + 100");
  assert.ok(lost.length <= 1, `the child is rebuilt once, not once per want (lost: ${lost.join(", ")})`);
});

test("a task reads its child's result after a task depending on it ended (the parent's lineage holds its children's results)", async () => {
  const lost = await lostDuring(async () => {
    assert.equal(await rt.get(m.readChildAfterDependent.remote(1), { timeoutMs: 10_000 }), 5, "(1+1+1) + (1+1)");
  });
  assert.deepEqual(lost, [], `the child's result is not freed while the task can still read it (lost: ${lost.join(", ")})`);
});
