// Tasks in and out: transfers, shared memory, atomics modes, drain/needsDrain, completed, histograms.
// Re-expressed from piscina's test/post-task, test-is-buffer-transferred, atomics-optimization, histogram
// and simple-test.
import assert from "node:assert/strict";
import { fixture, labelled, poolMaker, type Subject } from "./harness.js";

/** Bits set in the low byte. */
const bitsSet = (v: number): number => [...(v & 0xff).toString(2)].filter((b) => b === "1").length;

/** Blocks this thread until at least `n` bits of word[0] are set; at most 200 waits of 50 ms. */
function waitForBits(word: Int32Array, n: number): number {
  for (let i = 0; i < 200; i++) {
    const v = Atomics.load(word, 0);
    if (bitsSet(v) >= n) return v;
    Atomics.wait(word, 0, v, 50);
  }
  throw new Error(`fewer than ${n} tasks reached the wait`);
}

export function taskCases({ label, Pool }: Subject): void {
  const make = poolMaker(Pool);
  const t = labelled(label);

  t("transferList moves an ArrayBuffer; completed counts the task", async () => {
    const pool = make({ filename: fixture("is-worker-thread.mjs") });
    const ab = new ArrayBuffer(40);
    await pool.run({ ab }, { transferList: [ab] });
    assert.equal(pool.completed, 1);
    assert.equal(ab.byteLength, 0);
  });
  t("a moved result leaves the thread's buffer detached (plain and through a Transferable)", async () => {
    for (const send of ["send", "sendWrapped"]) {
      const pool = make({ filename: fixture("keep-after-move.mjs"), atomics: "disabled", minThreads: 1, maxThreads: 1 });
      await pool.run({}, { name: send });
      assert.equal(await pool.run({}, { name: "lengthAfter" }), 0, send);
    }
  });
  t("a SharedArrayBuffer is shared: a task's notify reaches the blocked caller (atomics: async)", async () => {
    const pool = make({ filename: fixture("eval-input.cjs"), minThreads: 1, maxThreads: 1, atomics: "async" });
    const cells = [0, 1, 2].map(() => new Int32Array(new SharedArrayBuffer(4)));
    const code = `
      input.shared.forEach((cell, i) => setTimeout(() => { Atomics.add(cell, 0, 1); Atomics.notify(cell, 0, Infinity); }, 50 * (i + 1)));
      true`;
    const done = pool.run({ code, shared: cells });
    assert.deepEqual(cells.map((cell) => Atomics.wait(cell, 0, 0, 10_000)), ["ok", "ok", "ok"]);
    assert.equal(await done, true);
  });
  t("atomics sync: results of finished tasks are picked up while others block", async () => {
    const pool = make({ filename: fixture("set-bit-then-wait.cjs"), minThreads: 2, maxThreads: 2, concurrentTasksPerWorker: 2, atomics: "sync" });
    const word = new Int32Array(new SharedArrayBuffer(4));
    const tasks = [0, 1, 2, 3].map((index) => pool.run({ word, index }));
    assert.equal(bitsSet(waitForBits(word, 2)), 2, "two tasks wait, one per thread");
    Atomics.store(word, 0, 0);
    Atomics.notify(word, 0, Infinity);
    assert.equal(bitsSet(waitForBits(word, 2)), 2, "then the other two");
    Atomics.store(word, 0, 0);
    Atomics.notify(word, 0, Infinity);
    await Promise.all(tasks);
  });
  t("atomics sync: 10,000 queued tasks all finish", async () => {
    const pool = make({ filename: fixture("is-worker-thread.mjs"), minThreads: 2, maxThreads: 2, atomics: "sync" });
    const results = await Promise.all(Array.from({ length: 10_000 }, () => pool.run(null)));
    assert.equal(results.filter((r: unknown) => r === true).length, 10_000);
  });
  t("drain follows once the pool had no room", async (ctx: any) => {
    const pool = make({ filename: fixture("eval.cjs"), maxThreads: 1 });
    let drains = 0;
    pool.on("drain", () => {
      drains++;
      assert.equal(pool.needsDrain, false);
    });
    await Promise.all([pool.run("1"), pool.run("2"), pool.run("3")]);
    await new Promise((resolve) => setImmediate(resolve));
    ctx.assert.ok(drains >= 1);
  });
  t("needsDrain is true (and an event) while the pool is at capacity", async () => {
    const pool = make({ filename: fixture("eval.cjs"), maxQueue: 3, maxThreads: 1 });
    let sawNeedsDrain = false;
    let sawDrain = false;
    pool.once("needsDrain", () => (sawNeedsDrain = pool.needsDrain));
    pool.once("drain", () => (sawDrain = true));
    await Promise.all([pool.run("1"), pool.run("2"), pool.run("3"), pool.run("4")]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(sawNeedsDrain);
    assert.ok(sawDrain);
  });
  t("maxQueue bounds the waiting tasks", async () => {
    const pool = make({ filename: fixture("sleep-then-swap.cjs"), minThreads: 1, maxThreads: 1, maxQueue: 1 });
    const first = pool.run({ time: 50 });
    const queued = pool.run({ time: 50 });
    await assert.rejects(pool.run({ time: 50 }), /Task queue is at limit/);
    await Promise.all([first, queued]);
  });
  t("maxQueue: 0 still runs a task on an idle thread, and refuses one that would wait", async () => {
    const pool = make({ filename: fixture("sleep-then-swap.cjs"), minThreads: 1, maxThreads: 1, maxQueue: 0 });
    const first = pool.run({ time: 50 });
    await assert.rejects(pool.run({ time: 50 }), /No task queue available and all Workers are busy/);
    await first;
  });
  t("duration and utilization", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    assert.equal(pool.utilization, 0);
    await Promise.all([pool.run("42"), pool.run("41"), pool.run("40")]);
    assert.ok(pool.utilization > 0 && pool.utilization < 1, String(pool.utilization));
    assert.ok(pool.duration > 0);
  });
  t("histogram: run and wait time summaries, reset, and none without recordTiming", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    await Promise.all(Array.from({ length: 5 }, (_, i) => pool.run(`${i}`)));
    const { runTime, waitTime } = pool.histogram;
    for (const summary of [runTime, waitTime]) {
      for (const key of ["average", "mean", "stddev", "min", "max", "p50", "p99"]) assert.equal(typeof summary[key], "number", key);
    }
    assert.ok(runTime.max > 0 && waitTime.max > 0);
    pool.histogram.resetRunTime();
    pool.histogram.resetWaitTime();
    assert.ok(Number.isNaN(pool.histogram.runTime.mean));
    assert.equal(pool.histogram.waitTime.max, 0);
    const untimed = make({ filename: fixture("eval.cjs"), recordTiming: false });
    await untimed.run("1");
    assert.ok(!untimed.histogram.runTime);
    assert.ok(!untimed.histogram.waitTime);
  });
  t("workerHistogram: the threads a loadBalancer sees carry run time summaries, and none without it", async () => {
    for (const workerHistogram of [true, false]) {
      let seen: any[] = [];
      const pool = make({
        filename: fixture("eval.cjs"),
        maxThreads: 1,
        workerHistogram,
        loadBalancer(_task: unknown, threads: any[]) {
          seen = threads;
          return threads[0] !== undefined && threads[0].currentUsage === 0 ? threads[0] : null;
        },
      });
      await Promise.all(Array.from({ length: 3 }, () => pool.run("new Promise((resolve) => setTimeout(resolve, 20))")));
      await pool.run("1");
      const histogram = seen[0]?.histogram;
      if (workerHistogram) {
        for (const key of ["average", "mean", "min", "max"]) assert.equal(typeof histogram?.[key], "number", key);
        assert.ok(histogram.max >= 10, `max ${histogram.max} ms`);
      } else assert.ok(!histogram);
    }
  });
}
