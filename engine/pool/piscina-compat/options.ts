// Constructor and run() option checks, defaults, and options read only from the object's own keys.
// Re-expressed from piscina's test/option-validation, thread-count and post-task.
import assert from "node:assert/strict";
import os from "node:os";
import { fixture, labelled, poolMaker, type Subject } from "./harness.js";

export function optionCases({ label, Pool }: Subject): void {
  const make = poolMaker(Pool);
  const t = labelled(label);
  const cores = os.availableParallelism();

  /** Each bad value of `key` throws `kind` with a message matching `message`. */
  const refuses = (key: string, values: unknown[], message: RegExp, kind: Function = TypeError) => {
    for (const value of values) {
      assert.throws(() => make({ [key]: value }), (e: unknown) => e instanceof kind && message.test((e as Error).message), `${key}: ${String(value)}`);
    }
  };

  t("filename must be a string or null", () => refuses("filename", [12], /options\.filename must be a string or null/));
  t("name must be a string or null", () => refuses("name", [12], /options\.name must be a string or null/));
  t("minThreads must be a non-negative integer", () => refuses("minThreads", [-1, "string"], /options\.minThreads must be a non-negative integer/));
  t("maxThreads must be a positive integer", () => refuses("maxThreads", [-1, 0, "string"], /options\.maxThreads must be a positive integer/));
  t("concurrentTasksPerWorker must be a positive integer", () =>
    refuses("concurrentTasksPerWorker", [-1, 0, "string"], /options\.concurrentTasksPerWorker must be a positive integer/));
  t("idleTimeout must be a non-negative integer", () => refuses("idleTimeout", [-1, "string"], /options\.idleTimeout must be a non-negative integer/));
  t("maxQueue must be a non-negative integer; 'auto' is maxThreads squared", () => {
    refuses("maxQueue", [-1, "string"], /options\.maxQueue must be a non-negative integer/);
    assert.equal(make({ maxQueue: "auto", maxThreads: 2 }).options.maxQueue, 4);
  });
  t("atomics must be sync, async or disabled", () => refuses("atomics", [-1, "string"], /options\.atomics should be a value of sync, sync or disabled\./));
  t("resourceLimits must be an object", () => refuses("resourceLimits", [0], /options\.resourceLimits must be an object/));
  t("taskQueue must be a TaskQueue", () =>
    refuses("taskQueue", [0, "test", null, new Date(), {}], /options\.taskQueue must be a TaskQueue object/));
  t("niceIncrement must be a non-negative integer", () => refuses("niceIncrement", [-1, "string"], /options\.niceIncrement must be a non-negative integer/));
  t("trackUnmanagedFds must be a boolean", () => refuses("trackUnmanagedFds", [-1, "string"], /options\.trackUnmanagedFds must be a boolean/));
  t("minThreads above maxThreads is a RangeError", () => {
    assert.throws(() => make({ minThreads: 4, maxThreads: 2 }), (e: unknown) =>
      e instanceof RangeError && /options\.minThreads and options\.maxThreads must not conflict/.test(e.message));
  });

  t("filename and name are not read from the options' prototype", async () => {
    const inherits = (proto: object, own: object = {}) => Object.assign(Object.create(proto), own);
    await assert.rejects(make(inherits({ filename: "polluted" })).run({}), /filename must be provided/);
    const named = make(inherits({ name: "b" }, { filename: fixture("two-exports.cjs") }));
    assert.equal(await named.run({}), "a");
  });
  for (const [key, value] of [["execArgv", ["--not-a-real-flag"]], ["env", { NODE_OPTIONS: "--title=polluted" }]] as const) {
    t(`${key} set on Object.prototype is not read`, async () => {
      (Object.prototype as Record<string, unknown>)[key] = value;
      try {
        const pool = make({ filename: fixture("eval.cjs"), minThreads: 1, maxThreads: 1 });
        assert.equal(pool.options[key], undefined);
        assert.equal(await pool.run("42"), 42);
      } finally {
        delete (Object.prototype as Record<string, unknown>)[key];
      }
    });
  }

  t("default maxThreads is 1.5 x cores, default minThreads max(cores/2, 1)", () => {
    const pool = make({ filename: fixture("eval.cjs") });
    assert.equal(pool.maxThreads, cores * 1.5);
    assert.equal(pool.minThreads, Math.max(Math.floor(cores / 2), 1));
  });
  t("maxThreads and minThreads as given", () => {
    assert.equal(make({ filename: fixture("eval.cjs"), maxThreads: 3 }).maxThreads, 3);
    assert.equal(make({ filename: fixture("eval.cjs"), minThreads: 1 }).minThreads, 1);
  });
  t("a low maxThreads lowers minThreads", () => {
    const pool = make({ filename: fixture("eval.cjs"), maxThreads: 1 });
    assert.equal(pool.threads.length, 1);
    assert.equal(pool.options.minThreads, 1);
    assert.equal(pool.options.maxThreads, 1);
  });
  t("a high minThreads raises maxThreads", () => {
    const high = Math.floor(cores * 1.5) + 1;
    const pool = make({ filename: fixture("eval.cjs"), minThreads: high });
    assert.equal(pool.threads.length, high);
    assert.equal(pool.options.maxThreads, high);
  });
  t("minThreads: 0 starts no thread", () => assert.equal(make({ filename: fixture("eval.cjs"), minThreads: 0 }).threads.length, 0));

  t("run() checks its options", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    await assert.rejects(pool.run(42, 1), /options must be an object/);
    await assert.rejects(pool.run("0", { transferList: 42 }), /transferList argument must be an Array/);
    await assert.rejects(pool.run("0", { filename: 42 }), /filename argument must be a string/);
    await assert.rejects(pool.run("0", { name: 42 }), /name argument must be a string/);
    await assert.rejects(pool.run("0", { signal: 42 }), /signal argument must be an object/);
  });
  t("close() checks its options", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    await assert.rejects(async () => pool.close({ force: 1 }), /force argument must be a boolean/);
  });
}
