// Scenarios from Ray's own test suite that the engine once got wrong (issue: correctness against Ray's cases):
// refs nested in arguments keep their object alive (test_reference_counting.py::test_recursive_serialized_reference),
// wait returns at most numReturns, a checkpoint seen through a later result is what a restart restores, a retry is
// a new attempt (test_failure_4.py::test_retry_application_level_error), infeasible resources wait, a failed rebuild
// is a ReconstructionError, and a killed named actor's name is gone for the very next task.
// Every get has a timeout, so an engine hang fails a test instead of stalling the suite.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  init, ObjectRef, ObjectLostError, ReconstructionError, TaskCancelledError, type Runtime,
} from "loom-dag";

type Cases = typeof import("../test-fixtures/ray-cases.js");
type Actors = typeof import("../test-fixtures/actors.js");
let rt: Runtime;
let m: Record<string, any>;
let a: Record<string, any>;

before(async () => {
  rt = await init({ workers: 2, resources: { gpu: 1 } });
  m = await rt.module<Cases>(new URL("../test-fixtures/ray-cases.ts", import.meta.url));
  a = await rt.module<Actors>(new URL("../test-fixtures/actors.ts", import.meta.url));
});
after(async () => {
  await rt.shutdown();
});

const get = (ref: unknown, timeoutMs = 20_000): Promise<any> => rt.get(ref as never, { timeoutMs });
const gcTest = { skip: typeof globalThis.gc !== "function" && "needs --expose-gc (npm test passes it)" };
async function collect(rounds = 4): Promise<void> {
  for (let i = 0; i < rounds; i++) { globalThis.gc!(); await new Promise((r) => setTimeout(r, 20)); }
}
async function errorOf(p: Promise<unknown>, what: string): Promise<any> {
  return p.then((v) => assert.fail(`${what}: expected a rejection, got ${String(v)}`), (e: Error) => e);
}

test("a ref nested in arguments keeps its object alive through a chain of tasks after the driver drops it", gcTest, async () => {
  // In a function of its own: once it returns the driver holds no ref to the 4 MiB array, only the chain does.
  const submit = (): ObjectRef => m.recurseNested.remote([rt.put(new Float64Array(512 * 1024).fill(1))], 5, 40);
  let v: unknown = submit();
  await collect();
  for (let depth = 0; depth <= 6 && v instanceof ObjectRef; depth++) v = await get(v);
  assert.equal(v, 512 * 1024, "the last level read the whole array");
});

test("wait returns at most numReturns ready refs, the first ready ones in input order", async () => {
  const refs = Array.from({ length: 10 }, (_, i) => rt.put(i));
  const { ready, pending } = await rt.wait(refs, { numReturns: 2 });
  assert.deepEqual(ready, refs.slice(0, 2), "exactly the first two");
  assert.deepEqual(pending, refs.slice(2), "the other eight stay pending, in input order");
  const all = await rt.wait(refs, { numReturns: 10, timeoutMs: 5_000 });
  assert.equal(all.ready.length, 10, "numReturns = length gives them all");
});

test("a checkpoint taken before a result the caller has seen is what a restart restores", async () => {
  for (let round = 0; round < 8; round++) {
    const c = m.Checkpointed.options({ checkpointEvery: 3, maxRestarts: 1 }).remote();
    for (const by of [1, 2, 3]) await get(c.add.remote(by));
    assert.equal(await get(c.add.remote(4)), 10, `round ${round}: the fourth call`);
    rt.faults.killActor(c);
    assert.equal(await get(c.origin.remote()), 6, `round ${round}: rebuilt by restore() from the checkpoint after call 3`);
    assert.equal(await get(c.add.remote(0)), 10, `round ${round}: call 4 replayed on top of it`);
    rt.kill(c);
  }
});

test("a retry after an exception is a new attempt: its actor call is made again", async () => {
  const counter = m.AttemptCounter.remote();
  const r = m.failFirstAttempt.options({ retryExceptions: true, maxRetries: 2 }).remote(counter);
  assert.equal(await get(r), 2, "the second attempt saw the counter at 2");
  assert.equal(await get(counter.count.remote()), 2, "two attempts, two calls");
});

test("a retry after a worker crash is a new attempt: its actor call is made again", async () => {
  // The crash may take the counter's thread too: it restarts and replays the first attempt's call.
  const counter = m.AttemptCounter.options({ maxRestarts: 1 }).remote();
  const r = m.crashFirstAttempt.options({ maxRetries: 2 }).remote(counter);
  assert.equal(await get(r), 2, "the retry saw the counter at 2");
  assert.equal(await get(counter.count.remote()), 2, "two attempts, two calls");
});

test("a task whose resources no node offers waits (task:infeasible, one warning per shape) and can be cancelled", async () => {
  const infeasible: any[] = [];
  const warnings: string[] = [];
  const onInfeasible = (e: unknown) => { infeasible.push(e); };
  const onWarning = (w: Error) => { if (/infeasible/i.test(w.message)) warnings.push(w.message); };
  rt.events.on("task:infeasible", onInfeasible);
  process.on("warning", onWarning);
  try {
    const r1 = m.double.options({ resources: { gpu: 2 } }).remote([1]);
    const r2 = m.double.options({ resources: { gpu: 2 } }).remote([2]);
    const { ready } = await rt.wait([r1, r2], { numReturns: 1, timeoutMs: 300 });
    assert.equal(ready.length, 0, "neither runs: no node offers 2 gpus");
    assert.equal(infeasible.length, 2, "task:infeasible for each task");
    assert.deepEqual(infeasible[0].resources, { cpu: 1, gpu: 2 }, "the event names the shape");
    await new Promise((r) => setImmediate(r)); // process warnings are emitted on a later tick
    assert.equal(warnings.length, 1, `one warning for the shape, got ${JSON.stringify(warnings)}`);
    rt.cancel(r1);
    rt.cancel(r2);
    for (const r of [r1, r2]) assert.ok((await errorOf(get(r), "cancelled")) instanceof TaskCancelledError);
    assert.deepEqual(await get(m.double.options({ resources: { gpu: 1 } }).remote([3])), [6], "a feasible shape still runs");
  } finally {
    rt.events.off("task:infeasible", onInfeasible);
    process.off("warning", onWarning);
  }
});

test("a rebuild stopped by a lost put is a ReconstructionError caused by the ObjectLostError, for dependents too", async () => {
  const p = rt.put([1, 2]);
  const t = m.double.remote(p);
  assert.deepEqual(await get(t), [2, 4]);
  assert.equal(rt.faults.evict(p), true);
  assert.equal(rt.faults.evict(t), true);
  const e = await errorOf(get(t), "rebuild of t");
  assert.ok(e instanceof ReconstructionError, `ReconstructionError, got ${e?.constructor?.name}: ${e?.message}`);
  assert.ok(e.cause instanceof ObjectLostError, `its cause is the ObjectLostError, got ${e.cause?.constructor?.name}`);
  const dependent = await errorOf(get(m.double.remote(t)), "a dependent");
  assert.ok(dependent instanceof ReconstructionError, `the dependent gets a ReconstructionError, got ${dependent?.constructor?.name}`);
  assert.ok(dependent.cause instanceof ObjectLostError, "with the same cause");
});

test("a killed named actor's name is gone for the next task, however fast it runs", async () => {
  for (let round = 0; round < 20; round++) {
    const name = `short-lived-${round}`;
    const c = a.Counter.options({ name }).remote(0);
    assert.equal(await get(a.incByName.remote(name, 1)), 1, `round ${round}: found while alive`);
    rt.kill(c);
    assert.match(String(await get(a.incByName.remote(name, 1))), new RegExp(`no live actor named "${name}"`),
      `round ${round}: gone right after kill`);
  }
});

test("an actor that keeps a ref it was handed nested in an argument keeps its object alive (a borrow)", gcTest, async () => {
  const b = m.Borrower.remote();
  const hand = (): ObjectRef => b.keep.remote([rt.put(new Float64Array(256 * 1024).fill(2))]);
  assert.equal(await get(hand()), true);
  await collect();
  assert.equal(await get(b.length.remote()), 256 * 1024, "the actor reads what it borrowed after the driver dropped it");
  const before = rt.storeUsage().segmentBytes;
  assert.equal(await get(b.forget.remote()), true, "the worker has gc()");
  await new Promise((r) => setTimeout(r, 100)); // the thread reports dropped refs in batches (20 ms)
  await collect();
  assert.ok(rt.storeUsage().segmentBytes < before, `freed once the actor dropped it (${before} -> ${rt.storeUsage().segmentBytes} segment bytes)`);
  rt.kill(b);
});
