// The class and its module: statics, named exports, EventEmitter, module loading and worker start options.
// Re-expressed from piscina's test/simple-test, load-with-esm and move-test.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { MessageChannel } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { types } from "node:util";
import { fixture, labelled, poolMaker, type Subject } from "./harness.js";

export function surfaceCases({ label, Pool, exports, version }: Subject): void {
  const make = poolMaker(Pool);
  const t = labelled(label);

  t("version is the package's version", () => assert.equal(Pool.version, version));
  t("the class is its own Piscina static and the module's default export", () => {
    assert.equal(Pool.Piscina, Pool);
    assert.equal(exports.default, Pool);
  });
  t("named exports match the statics", () => {
    for (const key of ["version", "isWorkerThread", "workerData", "move", "transferableSymbol", "valueSymbol", "queueOptionsSymbol"]) {
      if (key !== "workerData") assert.notEqual(Pool[key], undefined, key); // undefined on both sides would prove nothing
      assert.equal(exports[key], Pool[key], key);
    }
  });
  t("isWorkerThread is false in the caller", () => assert.equal(Pool.isWorkerThread, false));
  t("isWorkerThread is true inside a task (static)", async () => {
    assert.equal(await make({ filename: fixture("is-worker-thread.mjs") }).run(null), true);
  });
  t("isWorkerThread is true inside a task (named import)", async () => {
    assert.equal(await make({ filename: fixture("is-worker-thread-named.mjs") }).run(null), true);
  });
  t("an instance is a node EventEmitter", () => assert.ok(make() instanceof EventEmitter));
  t("constructor options are readable on pool.options", () => {
    const pool = make({ minThreads: 2, maxThreads: 3, maxQueue: 30 });
    assert.equal(pool.options.minThreads, 2);
    assert.equal(pool.options.maxThreads, 3);
    assert.equal(pool.options.maxQueue, 30);
  });
  t("a handler returning a value, and one returning a Promise", async () => {
    const pool = make({ filename: fixture("eval.cjs") });
    assert.equal(await pool.run("6 * 7"), 42);
    assert.equal(await pool.run("Promise.resolve(43)"), 43);
  });
  t("filename given to run() instead of the constructor, also after filename: null", async () => {
    assert.equal(await make().run("40 + 2", { filename: fixture("eval.cjs") }), 42);
    assert.equal(await make({ filename: null }).run("40 + 2", { filename: fixture("eval.cjs") }), 42);
  });
  t("run() without any filename rejects", async () => {
    await assert.rejects(make().run("1"), /filename must be provided to run\(\) or in options object/);
  });
  t("env, argv and execArgv reach the threads", async () => {
    assert.deepEqual(await make({ filename: fixture("eval.cjs"), env: { ONLY: "this" } }).run("({ ...process.env })"), { ONLY: "this" });
    assert.deepEqual(await make({ filename: fixture("eval.cjs"), argv: ["x", "y"] }).run("process.argv.slice(2)"), ["x", "y"]);
    assert.deepEqual(await make({ filename: fixture("eval.cjs"), execArgv: ["--no-warnings"] }).run("process.execArgv"), ["--no-warnings"]);
  });
  t("workerData reaches the threads (static and named export); the caller sees undefined", async () => {
    assert.equal(Pool.workerData, undefined);
    assert.equal(await make({ filename: fixture("worker-data.mjs"), workerData: "ABC" }).run(null), "ABC");
    assert.equal(await make({ filename: fixture("worker-data-named.mjs"), workerData: { n: [1, 2] } }).run(null).then((d: any) => d.n[1]), 2);
  });
  t("workerData that cannot be cloned throws at construction", () => {
    assert.throws(() => make({ filename: fixture("worker-data.mjs"), workerData: { fn() {} } }), /could not be cloned/);
  });
  t("filename may be a file: URL, to a CommonJS or an ES module", async () => {
    assert.equal(await make({ filename: pathToFileURL(fixture("eval.cjs")).href }).run("1 + 1"), 2);
    assert.equal(await make({ filename: pathToFileURL(fixture("esm-default.mjs")).href }).run("2 + 2"), 4);
  });
  t("a default export that is a Promise of the handler (CommonJS and ESM)", async () => {
    assert.equal(await make({ filename: fixture("eval-async.cjs") }).run("3"), 3);
    assert.equal(await make({ filename: fixture("esm-default-promise.mjs") }).run("4"), 4);
  });
  t("named handlers: run's name, the pool's name, the default", async () => {
    const byRun = make({ filename: fixture("two-exports.cjs") });
    assert.equal(await byRun.run({}, { name: "a" }), "a");
    assert.equal(await byRun.run({}, { name: "b" }), "b");
    assert.equal(await byRun.run({}), "a");
    const named = make({ filename: fixture("two-exports.cjs"), name: "b" });
    assert.equal(await named.run({}, { name: "a" }), "a");
    assert.equal(await named.run({}), "b");
  });
  t("move(): primitives and null come back unchanged", () => {
    for (const v of [null, 1, false, "text"]) assert.equal(Pool.move(v), v);
  });
  t("move(): an ArrayBuffer, a typed array and a MessagePort become Transferables", () => {
    const ab = new ArrayBuffer(5);
    const moved = Pool.move(ab);
    assert.equal(moved[Pool.transferableSymbol], ab);
    assert.equal(moved[Pool.valueSymbol], ab);
    const view = new Uint8Array(5);
    const movedView = Pool.move(view);
    assert.ok(types.isArrayBufferView(movedView[Pool.valueSymbol]));
    assert.equal(movedView[Pool.transferableSymbol], view.buffer);
    const { port1 } = new MessageChannel();
    assert.equal(Pool.move(port1)[Pool.transferableSymbol], port1);
    port1.close();
  });
  t("move(): an object with both protocol getters is moved as it is", () => {
    const own = { get [Pool.transferableSymbol]() { return new ArrayBuffer(1); }, get [Pool.valueSymbol]() { return 7; } };
    assert.equal(Pool.move(own), own);
  });
  t("a moved task arrives as its buffer and leaves the caller's detached; a moved result arrives", async () => {
    const pool = make({ filename: fixture("move-back.mjs") });
    const ab = new ArrayBuffer(16);
    const back = await pool.run(Pool.move(ab));
    assert.equal(ab.byteLength, 0);
    assert.ok(types.isAnyArrayBuffer(back));
    assert.equal(back.byteLength, 10);
    assert.equal((await pool.run(Pool.move(new Uint8Array(8)))).byteLength, 10);
  });
}
