// How failures reach the caller: a task's throw as thrown, a thread's uncaught error or exit as the cause
// of its task's rejection (or an 'error' event), the thread replaced. Re-expressed from piscina's
// test/test-uncaught-exception-from-handler, issue-513, post-task, messages and test-resourcelimits.
import assert from "node:assert/strict";
import { once } from "node:events";
import { MessageChannel } from "node:worker_threads";
import { fixture, labelled, poolMaker, type Subject } from "./harness.js";

export function errorCases({ label, Pool }: Subject): void {
  const make = poolMaker(Pool);
  const t = labelled(label);

  t("a handler's throw and rejection reach the caller with their message", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    await assert.rejects(pool.run('throw new Error("thrown")'), (e: Error) => e.message === "thrown");
    await assert.rejects(pool.run('Promise.reject(new Error("rejected"))'), (e: Error) => e.message === "rejected");
  });
  t("a built-in error class survives the trip", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    await assert.rejects(pool.run('throw new RangeError("out of range")'), (e: Error) => e instanceof RangeError && e.message === "out of range");
  });
  t("an error from another realm (a vm context) keeps its message", async () => {
    const pool = make({ filename: fixture("run-in-vm.cjs") });
    await assert.rejects(pool.run({ payload: 'throw new Error("foo")' }), (e: Error) => e.message === "foo");
  });
  t("an uncaught exception during a task rejects it", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    await assert.rejects(pool.run('throw new Error("not_caught")'), /not_caught/);
    await assert.rejects(
      pool.run('setImmediate(() => { throw new Error("not_caught") }); new Promise(() => {})'),
      /not_caught/,
    );
    assert.equal(await pool.run("1"), 1, "the pool keeps working");
  });
  t("an uncaught exception after the task is an 'error' event", async () => {
    const pool = make({ filename: fixture("eval.cjs"), maxThreads: 1, atomics: "disabled" });
    const error = once(pool, "error");
    assert.equal(await pool.run('setTimeout(() => { throw new Error("not_caught") }, 5); 42'), 42);
    assert.equal(pool.threads.length, 1);
    pool.threads[0].ref(); // the idle thread would not keep the process alive until its timer fires
    assert.equal((await error)[0].message, "not_caught");
  });
  t("process.exit in a task rejects it with the exit code; the thread is replaced", async () => {
    const pool = make({ filename: fixture("eval.cjs"), minThreads: 1 });
    const before = pool.threads[0].threadId;
    await assert.rejects(pool.run("process.exit(1);"), /worker exited with code: 1/);
    assert.notEqual(pool.threads[0].threadId, before);
  });
  t("an exit after a task fails the task running then", async () => {
    const pool = make({ filename: fixture("eval-async.cjs"), minThreads: 1 });
    const before = pool.threads[0].threadId;
    assert.equal(await pool.run("setTimeout(() => process.exit(1), 5); 42"), 42);
    await assert.rejects(pool.run("new Promise((resolve) => setTimeout(() => resolve(42), 2_000))"), /worker exited with code: 1/);
    assert.notEqual(pool.threads[0].threadId, before);
  });
  t("a task that cannot be cloned rejects", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    const { port1 } = new MessageChannel();
    await assert.rejects(pool.run({ port1 }));
    port1.close();
  });
  t("a thread's own parentPort messages are 'message' events", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    const message = once(pool, "message");
    assert.equal(await pool.run('require("node:worker_threads").parentPort.postMessage("hello"); 42'), 42);
    assert.equal((await message)[0], "hello");
  });
  t("a task past resourceLimits rejects with ERR_WORKER_OUT_OF_MEMORY", async () => {
    const pool = make({
      filename: fixture("heap-hog.cjs"),
      minThreads: 1,
      maxThreads: 1,
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4, codeRangeSizeMb: 16 },
    });
    pool.on("error", () => undefined); // a replacement thread may hit the limit too, with no task to blame
    assert.equal(pool.options.resourceLimits.maxOldGenerationSizeMb, 16);
    await assert.rejects(pool.run(null), (e: NodeJS.ErrnoException) =>
      e.code === "ERR_WORKER_OUT_OF_MEMORY" && /JS heap out of memory/.test(e.message));
  });
}
