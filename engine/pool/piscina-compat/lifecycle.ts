// close(), close({ force }), closeTimeout and destroy(). Re-expressed from piscina's test/pool-close,
// pool-destroy and abort-task.
import assert from "node:assert/strict";
import { once } from "node:events";
import { fixture, labelled, poolMaker, type Subject } from "./harness.js";

export function lifecycleCases({ label, Pool }: Subject): void {
  const make = poolMaker(Pool);
  const t = labelled(label);

  t("close() with nothing to do (also with minThreads: 0)", async () => {
    await make({ filename: fixture("sleep-then-swap.cjs") }).close();
    await make({ filename: fixture("sleep-then-swap.cjs"), minThreads: 0 }).close();
  });
  t("close() waits for running and queued tasks, then emits close", async () => {
    const pool = make({ filename: fixture("sleep-then-swap.cjs"), maxThreads: 1 });
    const tasks = [pool.run({ time: 50, a: 1 }), pool.run({ time: 50, a: 2 })];
    const closed = once(pool, "close");
    await pool.close();
    await closed;
    assert.deepEqual(await Promise.all(tasks), [0, 1]);
    assert.equal(pool.threads.length, 0);
  });
  t("run() while closing rejects with an AbortError whose cause says why", async () => {
    const pool = make({ filename: fixture("sleep-then-swap.cjs"), maxThreads: 1 });
    const running = pool.run({ time: 50 });
    const closing = pool.close();
    const late = await pool.run({ time: 10 }).then(() => undefined, (e: Error) => e);
    assert.ok(late instanceof Error);
    assert.equal(late.name, "AbortError");
    assert.equal(late.message, "The task has been aborted");
    assert.equal(late.cause, "queue is being terminated");
    await running;
    await closing;
  });
  t("close({ force: true }) lets running tasks finish and rejects the ones not started", async () => {
    const pool = make({ filename: fixture("sleep-then-swap.cjs"), maxThreads: 1, concurrentTasksPerWorker: 1 });
    const running = pool.run({ time: 50, a: 1 });
    const queued = [pool.run({ time: 50 }), pool.run({ time: 50 })].map((task) => assert.rejects(task, /The task has been aborted/));
    const closed = once(pool, "close");
    const closing = pool.close({ force: true });
    await assert.rejects(pool.run({ time: 10 }), /The task has been aborted/);
    assert.equal(await running, 0);
    await Promise.all(queued);
    await closing;
    await closed;
  });
  t("close() past closeTimeout destroys the pool: an error event, tasks rejected", async () => {
    const pool = make({ filename: fixture("sleep-then-swap.cjs"), maxThreads: 1, closeTimeout: 5 });
    const tasks = [pool.run({ time: 2_000 }), pool.run({ time: 2_000 })].map((task) => assert.rejects(task, /Terminating worker thread/));
    const error = once(pool, "error");
    const closing = pool.close();
    assert.match((await error)[0].message, /Close operation timed out/);
    await Promise.all(tasks);
    await closing;
  });
  t("destroy() stops a task that never ends", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    const spinning = pool.run("for (;;);");
    setImmediate(() => void pool.destroy());
    await assert.rejects(spinning, /Terminating worker thread/);
  });
  t("destroy() rejects running and queued tasks, abortable ones included", async () => {
    const pool = make({ filename: fixture("sleep-then-swap.cjs"), maxThreads: 1, concurrentTasksPerWorker: 2 });
    const long = 2 ** 31 - 1;
    const first = pool.run({ time: 0, a: 1 }).then(() => pool.destroy());
    const running = assert.rejects(pool.run({ time: long, a: 2 }), /Terminating worker thread/);
    const abortable = assert.rejects(pool.run({ time: long, a: 3 }, { signal: new AbortController().signal }), /Terminating worker thread/);
    await first;
    await Promise.all([running, abortable]);
  });
}
