// ActorPool against the contract (SPEC "ActorPool", as Ray's ray.util.ActorPool): input order and completion
// order, one value per actor at a time, waiting values, errors at their position, push and popIdle.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, ActorPool, LoomError, TaskError, type Runtime } from "loom-dag";

type Cases = typeof import("../test-fixtures/ray-cases.js");
let rt: Runtime;
let m: Record<string, any>;

before(async () => {
  rt = await init({ workers: 2 });
  m = await rt.module<Cases>(new URL("../test-fixtures/ray-cases.ts", import.meta.url));
});
after(async () => {
  await rt.shutdown();
});

const double = (a: any, x: number) => a.double.remote(x);

test("map gives results in input order, spread over the actors", async () => {
  const actors = [m.Doubler.remote(), m.Doubler.remote()];
  const pool = new ActorPool(actors);
  const out: number[] = [];
  for await (const v of pool.map(double, [1, 2, 3, 4, 5, 6])) out.push(v as number);
  assert.deepEqual(out, [2, 4, 6, 8, 10, 12]);
  const counts = await rt.get(actors.map((a) => a.count.remote()), { timeoutMs: 10_000 }) as number[];
  assert.equal(counts[0]! + counts[1]!, 6, "every value ran once");
  assert.ok(counts[0]! > 0 && counts[1]! > 0, `both actors worked (${counts})`);
  assert.equal(pool.hasNext(), false);
});

test("mapUnordered gives results as they finish; getNextUnordered takes the first to finish", async () => {
  const pool = new ActorPool([m.Doubler.remote(), m.Doubler.remote()]);
  const slowFirst = (a: any, x: number) => a.double.remote(x, x === 1 ? 400 : 0);
  const out: number[] = [];
  for await (const v of pool.mapUnordered(slowFirst, [1, 2, 3])) out.push(v as number);
  assert.deepEqual([...out].sort((x, y) => x - y), [2, 4, 6], "every result once");
  assert.notEqual(out[0], 2, `the slow first value does not come first (got ${out})`);
});

test("one value per actor: with one actor, submitted values wait and run in order", async () => {
  const a = m.Doubler.remote();
  const pool = new ActorPool([a]);
  pool.submit(double, 1);
  pool.submit(double, 2);
  assert.equal(pool.popIdle(), null, "the only actor has a call in flight");
  assert.equal(await pool.getNext(), 2);
  assert.equal(await pool.getNext(), 4);
  assert.equal(pool.hasNext(), false);
  assert.notEqual(pool.popIdle(), null, "idle again once its calls settled");
  await assert.rejects(pool.getNext(), LoomError, "nothing pending is a LoomError");
  await assert.rejects(pool.getNextUnordered(), LoomError);
});

test("a failed call rejects at its position, and the pool goes on", async () => {
  const pool = new ActorPool([m.Doubler.remote()]);
  const seen: string[] = [];
  for (const v of [1, -1, 3]) pool.submit(double, v);
  while (pool.hasNext()) {
    try { seen.push(String(await pool.getNext())); } catch (e) { seen.push(e instanceof TaskError ? "TaskError" : String(e)); }
  }
  assert.deepEqual(seen, ["2", "TaskError", "6"]);
});

test("push adds an actor that takes the oldest waiting value; bad input is a LoomError", async () => {
  const pool = new ActorPool<any, number>([]);
  pool.submit(double, 21);
  assert.equal(pool.hasNext(), true, "a value waits for an actor");
  pool.push(m.Doubler.remote());
  assert.equal(await pool.getNext(), 42);
  assert.throws(() => new ActorPool([42 as never]), LoomError);
  assert.throws(() => pool.push({} as never), LoomError);
  assert.throws(() => pool.submit(42 as never, 1), LoomError);
});

test("maxConcurrency: up to n calls of one actor run at once, and it is checked at .options", async () => {
  const one = m.Overlap.remote();
  await rt.get([1, 2, 3, 4].map(() => one.visit.remote(60)), { timeoutMs: 10_000 });
  assert.equal(await rt.get(one.mostAtOnce.remote(), { timeoutMs: 10_000 }), 1, "the default is one call at a time");
  const three = m.Overlap.options({ maxConcurrency: 3 }).remote();
  await rt.get([1, 2, 3, 4, 5, 6].map(() => three.visit.remote(100)), { timeoutMs: 10_000 });
  assert.equal(await rt.get(three.mostAtOnce.remote(), { timeoutMs: 10_000 }), 3, "three at once, never more");
  for (const bad of [0, 1.5, -1, "2"]) assert.throws(() => m.Overlap.options({ maxConcurrency: bad as never }), LoomError, `refuses ${String(bad)}`);
});
