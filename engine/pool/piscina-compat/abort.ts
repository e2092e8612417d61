// Aborting tasks with an AbortSignal or an EventEmitter: running (its thread is terminated), queued (it
// leaves the queue), already aborted; abortable tasks never share a thread. Re-expressed from piscina's
// test/abort-task and pool.
import assert from "node:assert/strict";
import { EventEmitter, getEventListeners } from "node:events";
import { fixture, labelled, poolMaker, type Subject } from "./harness.js";

/** Blocks until the cell leaves 0 (at most 10 s), so the caller knows the task is running. */
function waitUntilRunning(cell: Int32Array): void {
  assert.notEqual(Atomics.wait(cell, 0, 0, 10_000), "timed-out", "the task never started");
  assert.equal(Atomics.load(cell, 0), 1);
}

export function abortCases({ label, Pool }: Subject): void {
  const make = poolMaker(Pool);
  const t = labelled(label);

  t("an AbortController aborts a running task, with its reason as cause", async () => {
    const pool = make({ filename: fixture("signal-then-block.cjs") });
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const ac = new AbortController();
    const reason = new Error("custom reason");
    const running = pool.run(cell, { signal: ac.signal });
    waitUntilRunning(cell);
    ac.abort(reason);
    await assert.rejects(running, (e: Error) => e.name === "AbortError" && e.message === "The task has been aborted" && e.cause === reason);
  });
  t("an EventEmitter's 'abort' aborts a running task", async () => {
    const pool = make({ filename: fixture("signal-then-block.cjs") });
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const ee = new EventEmitter();
    const running = pool.run(cell, { signal: ee });
    waitUntilRunning(cell);
    ee.emit("abort");
    await assert.rejects(running, /The task has been aborted/);
  });
  t("an abort before the task starts takes it out of the queue", async () => {
    const pool = make({ filename: fixture("block-until-set.cjs"), maxThreads: 1 });
    const cells = [0, 1].map(() => new Int32Array(new SharedArrayBuffer(4)));
    const ee = new EventEmitter();
    const first = pool.run(cells[0]);
    const abortable = pool.run(cells[1], { signal: ee });
    assert.equal(pool.queueSize, 1);
    ee.emit("abort");
    await assert.rejects(abortable, /The task has been aborted/);
    assert.equal(pool.queueSize, 0);
    Atomics.store(cells[0], 0, 1);
    Atomics.notify(cells[0], 0, 1);
    assert.equal(await first, 1);
  });
  t("an abortable task waits for a thread of its own (posted second)", async () => {
    const pool = make({ filename: fixture("block-until-set.cjs"), maxThreads: 1, concurrentTasksPerWorker: 2 });
    const cells = [0, 1].map(() => new Int32Array(new SharedArrayBuffer(4)));
    const first = pool.run(cells[0]);
    const ee = new EventEmitter();
    const abortable = pool.run(cells[1], { signal: ee });
    assert.equal(pool.queueSize, 1);
    ee.emit("abort");
    await assert.rejects(abortable, /The task has been aborted/);
    assert.equal(pool.queueSize, 0);
    Atomics.store(cells[0], 0, 1);
    Atomics.notify(cells[0], 0, 1);
    await first;
  });
  t("no task joins a thread running an abortable one (posted first)", async () => {
    const pool = make({ filename: fixture("eval.cjs"), maxThreads: 1, concurrentTasksPerWorker: 2 });
    const ee = new EventEmitter();
    const spinning = pool.run("for (;;);", { signal: ee });
    const second = pool.run("42");
    assert.equal(pool.queueSize, 1);
    ee.emit("abort");
    await assert.rejects(spinning, /The task has been aborted/);
    assert.equal(await second, 42);
  });
  t("a queued abortable task is not taken by a thread still running another task", async () => {
    const pool = make({ filename: fixture("sleep-then-swap.cjs"), maxThreads: 1, concurrentTasksPerWorker: 2 });
    const results = await Promise.all([
      pool.run({ time: 100, a: 1 }),
      pool.run({ time: 300, a: 2 }),
      pool.run({ time: 100, a: 3 }, { signal: new EventEmitter() }),
    ]);
    assert.deepEqual(results, [0, 1, 2]);
  });
  t("an already aborted signal rejects at once and moves nothing", async () => {
    const pool = make({ filename: fixture("move-back.mjs") });
    const ac = new AbortController();
    const reason = new Error("custom reason");
    ac.abort(reason);
    const data = new Uint8Array(new ArrayBuffer(4));
    await assert.rejects(pool.run(data, { signal: ac.signal, transferList: [data.buffer] }), (e: Error) =>
      e.message === "The task has been aborted" && e.cause === reason);
    assert.equal(data.length, 4);
  });
  t("a settled task leaves no listener on its signal", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    const ee = new EventEmitter();
    await pool.run("1 + 1", { signal: ee });
    assert.equal(ee.listenerCount("abort"), 0);
    const ac = new AbortController();
    await pool.run("1 + 1", { signal: ac.signal });
    assert.equal(getEventListeners(ac.signal, "abort").length, 0);
    const failing = new AbortController();
    await assert.rejects(pool.run("throw new Error('x')", { signal: failing.signal }));
    assert.equal(getEventListeners(failing.signal, "abort").length, 0);
  });
  t("concurrent aborts on a one-thread pool leave the others to finish", async () => {
    const pool = make({ filename: fixture("eval.cjs"), maxThreads: 1, minThreads: 1 });
    const acs = [0, 1, 2].map(() => new AbortController());
    const runs = acs.map((ac) => pool.run("new Promise((resolve) => setTimeout(() => resolve(7), 5))", { signal: ac.signal }));
    acs[0].abort();
    acs[1].abort();
    await assert.rejects(runs[0], /aborted/);
    await assert.rejects(runs[1], /aborted/);
    assert.equal(await runs[2], 7);
  });
}
