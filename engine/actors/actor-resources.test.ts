// Actors and resources (a runtime of its own, offering one gpu): an actor holds what it asks for from its
// creation to its death, as in Ray; one whose resources do not fit waits, its calls queued in order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, ActorDiedError, type Runtime } from "loom-dag";

type Fixtures = typeof import("../test-fixtures/actors.js");
type Tasks = typeof import("../test-fixtures/tasks.js");
let rt: Runtime;
let g: Record<string, any>;
let t: Record<string, any>;

before(async () => {
  rt = await init({ workers: 2, resources: { gpu: 1 } });
  g = (await rt.module<Fixtures>(new URL("../test-fixtures/actors.ts", import.meta.url))) as Record<string, any>;
  t = (await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url))) as Record<string, any>;
});
after(async () => {
  await rt.shutdown();
});

test("resources: an actor holds its resources for its life; a second one waits for them with its calls queued, as do tasks", async () => {
  const first = g.Counter.options({ resources: { gpu: 1 } }).remote(0);
  assert.equal(await rt.get(first.inc.remote(1), { timeoutMs: 10_000 }), 1, "the first gpu actor runs");
  const second = g.Counter.options({ resources: { gpu: 1 } }).remote(100);
  const queued = [second.inc.remote(1), second.inc.remote(2)];
  const task = t.add.options({ resources: { gpu: 1 } }).remote(1, 2);
  const early = await rt.wait([...queued, task], { numReturns: 1, timeoutMs: 300 });
  assert.equal(early.ready.length, 0, "while the first actor lives, the second actor's calls and the gpu task wait");
  assert.deepEqual(await rt.get([first.inc.remote(1), g.Counter.remote(5).inc.remote(1)], { timeoutMs: 10_000 }), [2, 6],
    "the first actor and actors without resources are served meanwhile");
  rt.kill(first);
  assert.deepEqual(await rt.get(queued, { timeoutMs: 10_000 }), [101, 103], "once it is killed, the second starts and runs its calls in order");
  const still = await rt.wait([task], { numReturns: 1, timeoutMs: 300 });
  assert.equal(still.ready.length, 0, "the second actor now holds the gpu: the task still waits");
  rt.kill(second);
  assert.equal(await rt.get(task, { timeoutMs: 10_000 }), 3, "with both actors gone the task runs");
  const waiting = [g.Counter.options({ resources: { gpu: 1 } }).remote(0), g.Counter.options({ resources: { gpu: 1 } }).remote(0)];
  const lost = waiting[1].inc.remote(1);
  rt.kill(waiting[1]);
  await assert.rejects(rt.get(lost, { timeoutMs: 10_000 }), ActorDiedError, "killing an actor that never started fails its queued calls");
  assert.equal(await rt.get(waiting[0].inc.remote(7), { timeoutMs: 10_000 }), 7, "and leaves the gpu to the one that has it");
  rt.kill(waiting[0]);
});

test("a crash injected into an actor still waiting for its resources changes nothing: it starts once they free up", async () => {
  const holder = g.Counter.options({ resources: { gpu: 1 } }).remote(0);
  assert.equal(await rt.get(holder.inc.remote(1), { timeoutMs: 10_000 }), 1);
  const waiter = g.Counter.options({ resources: { gpu: 1 }, maxRestarts: 0 }).remote(10);
  const call = waiter.inc.remote(5);
  rt.faults.killActor(waiter);
  await rt.wait([call], { numReturns: 1, timeoutMs: 200 });
  rt.kill(holder);
  assert.equal(await rt.get(call, { timeoutMs: 10_000 }), 15, "its call runs on its first (and only) instance");
  rt.kill(waiter);
});
