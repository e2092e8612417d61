// The pool's threads: starting at minThreads, growing to maxThreads under load, idling out, the
// workerCreate/workerDestroy events. Re-expressed from piscina's test/thread-count, idle-timeout,
// ready-message, pool and workers.
import assert from "node:assert/strict";
import { once } from "node:events";
import { eventually, fixture, labelled, poolMaker, sleep, type Subject } from "./harness.js";

export function threadCases({ label, Pool }: Subject): void {
  const make = poolMaker(Pool);
  const t = labelled(label);

  t("starts with minThreads and grows one thread per waiting task up to maxThreads", async () => {
    const pool = make({ filename: fixture("eval.cjs"), minThreads: 2, maxThreads: 4 });
    let created = 0;
    const fourCreated = new Promise<void>((resolve) => pool.on("workerCreate", () => ++created === 4 && resolve()));
    assert.equal(pool.threads.length, 2);
    const counts: number[] = [];
    const spinning = [];
    for (let i = 0; i < 5; i++) {
      spinning.push(pool.run("for (;;);").catch((e: Error) => e));
      counts.push(pool.threads.length);
    }
    assert.deepEqual(counts, [2, 2, 3, 4, 4]);
    await fourCreated;
    await pool.destroy();
    assert.equal(pool.threads.length, 0);
    for (const outcome of await Promise.all(spinning)) assert.match(String(outcome), /Terminating worker thread/);
  });
  t("a cold pool starts threads for a burst at once, never past maxThreads", async () => {
    const pool = make({ filename: fixture("sleep-then-swap.cjs"), minThreads: 0, maxThreads: 3 });
    assert.equal(pool.threads.length, 0);
    const burst = [1, 2, 3].map(() => pool.run({ time: 20 }));
    assert.equal(pool.threads.length, 3);
    burst.push(pool.run({ time: 20 }));
    assert.equal(pool.threads.length, 3);
    await Promise.all(burst);
  });
  t("idleThreads counts ready threads running nothing", async () => {
    const pool = make({ filename: fixture("sleep-then-swap.cjs"), minThreads: 2, maxThreads: 2 });
    assert.equal(pool.idleThreads, 2);
    const first = pool.run({ time: 50 });
    assert.equal(pool.idleThreads, 1);
    const second = pool.run({ time: 50 });
    assert.equal(pool.idleThreads, 0);
    await Promise.all([first, second]);
    assert.equal(pool.idleThreads, 2);
    await pool.destroy();
    assert.equal(pool.idleThreads, 0);
  });
  t("threads carry distinct threadIds", () => {
    const pool = make({ filename: fixture("eval.cjs"), minThreads: 2, maxThreads: 2 });
    const ids = pool.threads.map((w: { threadId: number }) => w.threadId);
    assert.equal(new Set(ids).size, 2);
    assert.ok(ids.every((id: number) => Number.isInteger(id) && id > 0));
  });
  t("idleTimeout lets a thread above minThreads go, and a new one comes for new load", async () => {
    const pool = make({ filename: fixture("meet.mjs"), idleTimeout: 50, minThreads: 1, maxThreads: 2 });
    assert.equal(pool.threads.length, 1);
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const early = [pool.run([counter, 2]), pool.run([counter, 2])];
    assert.equal(pool.threads.length, 2);
    const earlyIds = await Promise.all(early);
    await eventually(() => pool.threads.length === 1, 5_000, "the idle thread to exit");
    const late = [pool.run([counter, 4]), pool.run([counter, 4])];
    assert.equal(pool.threads.length, 2);
    const lateIds = await Promise.all(late);
    assert.equal(new Set([...earlyIds, ...lateIds]).size, 3, "one thread stayed, one left, one is new");
  });
  t("idleTimeout: Infinity keeps every thread", async () => {
    const pool = make({ filename: fixture("meet.mjs"), idleTimeout: Infinity, minThreads: 1, maxThreads: 2 });
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const earlyIds = await Promise.all([pool.run([counter, 2]), pool.run([counter, 2])]);
    await sleep(300);
    assert.equal(pool.threads.length, 2);
    const lateIds = await Promise.all([pool.run([counter, 4]), pool.run([counter, 4])]);
    assert.deepEqual([...lateIds].sort(), [...earlyIds].sort());
  });
  t("with minThreads: 0 a task starts a thread, announced by workerCreate", async () => {
    const pool = make({ filename: fixture("eval.cjs"), minThreads: 0, maxThreads: 1 });
    assert.equal(pool.threads.length, 0);
    const created = once(pool, "workerCreate");
    assert.equal(await pool.run("42"), 42);
    await created;
    assert.equal(pool.threads.length, 1);
    await pool.close();
  });
  t("workerCreate and workerDestroy follow every thread: an abort replaces one, close ends all", async () => {
    const pool = make({ filename: fixture("eval.cjs"), minThreads: 3, maxThreads: 3 });
    let created = 0;
    let destroyed = 0;
    pool.on("workerCreate", () => created++);
    pool.on("workerDestroy", () => destroyed++);
    const ac = new AbortController();
    const tasks = [pool.run("for (;;);", { signal: ac.signal })];
    for (let i = 0; i < 5; i++) tasks.push(pool.run("new Promise((resolve) => setTimeout(resolve, 5))"));
    ac.abort();
    await Promise.allSettled(tasks);
    // The aborted task's thread is replaced; wait until the replacement is up, so close() ends four threads.
    await eventually(() => created === 4, 10_000, "the replacement thread");
    await pool.close();
    assert.equal(destroyed, 4);
    assert.equal(created, 4);
  });
  t("asyncDispose closes the pool and emits close", async () => {
    const pool = make({ filename: fixture("eval.cjs"), minThreads: 1, maxThreads: 1 });
    const closed = once(pool, "close");
    const tasks = Array.from({ length: 5 }, () => pool.run("new Promise((resolve) => setTimeout(() => resolve(1), 5))"));
    await pool[Symbol.asyncDispose]();
    await closed;
    assert.deepEqual(await Promise.all(tasks), [1, 1, 1, 1, 1]);
  });
  t("a loadBalancer's choice places tasks; an aborted task's thread is seen as destroyed", async () => {
    let turn = 0;
    let firstSeen: any[] = [];
    const pool = make({
      filename: fixture("eval.cjs"),
      minThreads: 2,
      maxThreads: 2,
      loadBalancer(_task: unknown, threads: any[]) {
        if (firstSeen.length === 0) firstSeen = threads;
        const candidate = threads[turn++ % threads.length];
        return candidate.currentUsage !== 0 && !candidate.isRunningAbortableTask ? null : candidate;
      },
    });
    const ac = new AbortController();
    const tasks = [pool.run("for (;;);", { signal: ac.signal })];
    for (let i = 0; i < 5; i++) tasks.push(pool.run("new Promise((resolve) => setTimeout(resolve, 5))"));
    ac.abort();
    await Promise.allSettled(tasks);
    assert.equal(firstSeen.length, 2);
    assert.ok(firstSeen[0].destroyed, "the aborted task's thread");
    assert.ok(!firstSeen[0].terminating);
    assert.equal(typeof firstSeen[1].id, "number");
  });
  t("workerCreate/workerDestroy with a loadBalancer that takes only idle threads", async () => {
    let turn = 0;
    let created = 0;
    let destroyed = 0;
    const pool = make({
      filename: fixture("eval.cjs"),
      minThreads: 3,
      maxThreads: 3,
      loadBalancer(_task: unknown, threads: any[]) {
        const candidate = threads[turn++ % threads.length];
        return candidate != null && candidate.currentUsage >= 1 ? null : candidate;
      },
    });
    pool.on("workerCreate", () => created++);
    pool.on("workerDestroy", () => destroyed++);
    const ac = new AbortController();
    const tasks = [pool.run("for (;;);", { signal: ac.signal })];
    for (let i = 0; i < 5; i++) tasks.push(pool.run("new Promise((resolve) => setTimeout(resolve, 5))"));
    ac.abort();
    await Promise.allSettled(tasks);
    // The aborted task's thread is replaced; wait until the replacement is up, so close() ends four threads.
    await eventually(() => created === 4, 10_000, "the replacement thread");
    await pool.close();
    assert.equal(destroyed, 4);
    assert.equal(created, 4);
  });
}
