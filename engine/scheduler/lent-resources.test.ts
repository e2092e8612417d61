// A task admitted with a custom resource whose argument is lost before its worker reads it: the argument's
// rebuild may need that same resource. Found by the strict soak (seed 634477943): the rebuild waited for the
// resource the waiting task held, and both waited for good.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, type ObjectRef, type Runtime } from "loom-dag";

type Tasks = typeof import("../test-fixtures/tasks.js");
let rt: Runtime;
let m: Awaited<ReturnType<Runtime["module"]>> & Record<string, any>;

before(async () => {
  rt = await init({ workers: 1, resources: { slotA: 1 } });
  m = (await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url))) as typeof m;
});
after(async () => {
  await rt.shutdown();
});

test("a task whose argument is lost after it was admitted lends its resources to the argument's rebuild", async () => {
  const pinned = m.add.options({ resources: { slotA: 1 } });
  const a = pinned.remote(1, 2) as ObjectRef<number>;
  assert.equal(await rt.get(a, { timeoutMs: 30_000 }), 3);
  // The only worker is busy, so `b` (its argument ready) is admitted, takes slotA and waits in the ready queue.
  const busy = m.busy.remote(300) as ObjectRef<number>;
  const b = pinned.remote(a, a) as ObjectRef<number>;
  assert.equal(rt.faults.evict(a), true, "a is stored, so it can be evicted");
  // b's worker finds a lost and waits for its rebuild, which needs slotA.
  assert.equal(await rt.get(b, { timeoutMs: 20_000 }), 6);
  assert.equal(await rt.get(busy, { timeoutMs: 20_000 }), 300);
  // The resource is whole again: a third pinned task runs.
  assert.equal(await rt.get(pinned.remote(b, 1) as ObjectRef<number>, { timeoutMs: 20_000 }), 7);
});
