// An unnamed actor lives while a handle of it is left anywhere (as in Ray): in the driver, in a running task's
// arguments, in a stored value, in an actor's state, in the worker whose task made it. When the last goes, the
// actor is terminated once its calls finish.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, type Runtime, type ObjectRef } from "loom-dag";

type Tasks = typeof import("../test-fixtures/tasks.js");
type Handles = typeof import("../test-fixtures/actor-handles.js");
let rt: Runtime;
let t: Record<string, any>;
let h: Record<string, any>;
const gc = (globalThis as { gc?: () => void }).gc;
const needsGc = { skip: typeof gc !== "function" && "needs --expose-gc (npm test passes it)" };

before(async () => {
  rt = await init({ workers: 2 });
  t = await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url));
  h = await rt.module<Handles>(new URL("../test-fixtures/actor-handles.ts", import.meta.url));
});
after(async () => {
  await rt.shutdown();
});

/** Collects garbage in the driver (finalizers run on later turns) and lets workers' drop reports arrive. */
async function collect(): Promise<void> {
  for (let k = 0; k < 4; k++) { gc!(); await new Promise((r) => setTimeout(r, 30)); }
}

/** Collects garbage in every worker thread too: a handle dropped there is reported once its GC finds it. */
async function collectEverywhere(): Promise<void> {
  const started = new Int32Array(new SharedArrayBuffer(4));
  await rt.get(Array.from({ length: rt.workerCount }, () => h.collectHere.remote(started, rt.workerCount, 5_000)), { timeoutMs: 30_000 });
  await collect();
}

/** Resolves with the ids of actors that die from now on; `stop` ends the watch. */
function watchDeaths(): { died: Set<number>; stop(): void; until(id: number, ms: number): Promise<boolean> } {
  const died = new Set<number>();
  const on = (e: { actorId: number }) => { died.add(e.actorId); };
  rt.events.on("actor:died", on);
  return {
    died,
    stop: () => { rt.events.off("actor:died", on); },
    async until(id, ms) {
      const end = Date.now() + ms;
      while (!died.has(id) && Date.now() < end) { await collect(); }
      return died.has(id);
    },
  };
}

/** Makes a counter in a function of its own, so no local of the test keeps its handle. */
function counter(start: number): { id: number; handle: any } {
  const handle = t.Counter.remote(start);
  return { id: handle.actorId as number, handle };
}

test("an actor whose only handle lives in a stored value survives until the value is freed, then is terminated", needsGc, async () => {
  const deaths = watchDeaths();
  try {
    const made = counter(10);
    const id = made.id;
    let box: ObjectRef | undefined = rt.put({ c: made.handle });
    made.handle = undefined;
    await collect();
    await collect();
    assert.ok(!deaths.died.has(id), "the stored value keeps its actor");
    assert.equal(await rt.get(h.callBoxed.remote(box, 5), { timeoutMs: 20_000 }), 15, "the actor, alive, read through the stored handle");
    box = undefined;
    assert.ok(await deaths.until(id, 10_000), "terminated once the value holding its last handle was freed");
  } finally {
    deaths.stop();
  }
});

test("an actor passed to a task survives while the task runs, and is terminated when it ends", needsGc, async () => {
  const deaths = watchDeaths();
  try {
    const made = counter(20);
    const id = made.id;
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const ref = h.holdUntilGate.remote(made.handle, gate, 30_000);
    made.handle = undefined;
    await collect();
    await collect();
    assert.ok(!deaths.died.has(id), "the running task's argument keeps its actor");
    Atomics.store(gate, 0, 1);
    assert.equal(await rt.get(ref, { timeoutMs: 20_000 }), 21, "the task called it after the driver's handle was gone");
    assert.ok(await deaths.until(id, 10_000), "terminated once the task that held its last handle ended");
  } finally {
    deaths.stop();
  }
});

test("an actor made inside a task ends with the task, unless the task returns its handle", needsGc, async () => {
  const deaths = watchDeaths();
  const before = new Set<number>();
  try {
    const dropped = (await rt.get(h.makeCounter.remote(1, false) as ObjectRef<{ value: number }>, { timeoutMs: 20_000 }));
    assert.equal(dropped.value, 2);
    const end = Date.now() + 10_000;
    while (deaths.died.size === 0 && Date.now() < end) await collect();
    assert.equal(deaths.died.size, 1, "the actor made and dropped inside a task was terminated");
    for (const d of deaths.died) before.add(d);
    let kept: { value: number; handle?: any } | undefined = (await rt.get(h.makeCounter.remote(5, true) as ObjectRef<{ value: number; handle?: any }>, { timeoutMs: 20_000 }));
    await collect();
    await collect();
    assert.equal(deaths.died.size, 1, "a returned handle keeps its actor");
    assert.equal(await rt.get(kept.handle.inc.remote(10), { timeoutMs: 10_000 }), 16);
    const keptId = kept.handle.actorId as number;
    kept = undefined;
    assert.ok(await deaths.until(keptId, 10_000), "terminated once the driver dropped the returned handle");
  } finally {
    deaths.stop();
  }
});

test("a handle kept in an actor's state keeps its actor while the keeper lives", needsGc, async () => {
  const deaths = watchDeaths();
  try {
    const made = counter(30);
    const id = made.id;
    let keeper: any = h.Keeper.remote();
    assert.equal(await rt.get(keeper.keep.remote(made.handle), { timeoutMs: 20_000 }), true);
    made.handle = undefined;
    await collect();
    await collect();
    assert.ok(!deaths.died.has(id), "kept by the keeper");
    assert.equal(await rt.get(keeper.callKept.remote(2), { timeoutMs: 20_000 }), 32);
    const keeperId = keeper.actorId as number;
    keeper = undefined;
    assert.ok(await deaths.until(keeperId, 10_000), "the keeper goes with its handle");
    // The keeper's thread lets go of the kept handle when that thread collects it.
    const end = Date.now() + 10_000;
    while (!deaths.died.has(id) && Date.now() < end) await collectEverywhere();
    assert.ok(deaths.died.has(id), "and then the actor it kept");
  } finally {
    deaths.stop();
  }
});

test("an actor dropped while its constructor still runs is terminated once it has started", needsGc, async () => {
  const deaths = watchDeaths();
  try {
    const make = (): number => h.SlowStart.remote(300).actorId as number;
    const id = make();
    await collect(); // its only handle is gone while the constructor runs
    assert.ok(await deaths.until(id, 10_000), "terminated after its constructor finished, with no call ever made");
  } finally {
    deaths.stop();
  }
});
