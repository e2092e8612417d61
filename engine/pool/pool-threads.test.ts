// What loom/pool adds to piscina's run(): crash retries (maxRetries), and its checks. piscina's own
// behaviour is covered by piscina-compat/.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { LoomError, WorkerCrashedError } from "../index.js";
import { Pool } from "./index.js";

const exitFirst = new URL("./test-fixtures/exit-first.ts", import.meta.url);
const pools: Pool[] = [];
afterEach(async () => void (await Promise.allSettled(pools.splice(0).map((p) => p.destroy()))));

function makePool(): Pool {
  const pool = new Pool({ filename: exitFirst, minThreads: 1, maxThreads: 1 });
  pools.push(pool);
  return pool;
}

const counter = () => new Int32Array(new SharedArrayBuffer(4));

test("without maxRetries a thread's death rejects its task with the cause, as in piscina", async () => {
  const pool = makePool();
  await assert.rejects(pool.run({ counter: counter(), exits: 1 }), /worker exited with code: 3/);
});

test("maxRetries runs the task again on a new thread", async () => {
  const pool = makePool();
  const c = counter();
  assert.equal(await pool.run({ counter: c, exits: 2 }, { maxRetries: 2 }), "ran");
  assert.equal(Atomics.load(c, 0), 3, "two deaths, then the run that answered");
});

test("when retries are spent the call rejects with a WorkerCrashedError caused by the last death", async () => {
  const pool = makePool();
  const c = counter();
  await assert.rejects(pool.run({ counter: c, exits: 10 }, { maxRetries: 1 }), (e: unknown) => {
    assert.ok(e instanceof WorkerCrashedError, String(e));
    assert.match(e.message, /died 2 times/);
    assert.match(String((e.cause as Error).message), /worker exited with code: 3/);
    return true;
  });
  assert.equal(Atomics.load(c, 0), 2);
  assert.equal(await pool.run({ counter: c, exits: 0 }), "ran", "the pool has a thread again");
});

test("a task's own throw is not retried, and maxRetries is checked", async () => {
  const pool = makePool();
  await assert.rejects(pool.run(null, { maxRetries: 3 }), TypeError); // destructuring null throws in the task
  await assert.rejects(pool.run({ counter: counter(), exits: 0 }, { maxRetries: -1 }), (e: unknown) =>
    e instanceof LoomError && /maxRetries must be an integer >= 0, got -1/.test(e.message));
});
