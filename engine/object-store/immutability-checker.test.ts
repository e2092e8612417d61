// checkImmutable: a write into a stored object through a view from get is an ObjectMutatedError naming the
// object, what made it and where it was read; in the driver and in a task; and a clean run raises nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, LoomError, ObjectMutatedError, type ModuleWrappers } from "loom-dag";

type Fixtures = typeof import("../test-fixtures/mutators.js");
const BIG = 4096; // 32 KiB of float64: above the 16 KiB line where get returns a view

async function withRuntime(checkImmutable: boolean | undefined, body: (rt: Awaited<ReturnType<typeof init>>, m: ModuleWrappers<Fixtures>) => Promise<void>): Promise<unknown> {
  const rt = await init({ workers: 2, ...(checkImmutable === undefined ? {} : { checkImmutable }) });
  const m = await rt.module<Fixtures>(new URL("../test-fixtures/mutators.ts", import.meta.url));
  try {
    await body(rt, m);
  } catch (error) {
    await rt.shutdown().catch(() => {});
    return error;
  }
  return rt.shutdown().then(() => undefined, (error: unknown) => error);
}

async function writeInDriver(rt: Awaited<ReturnType<typeof init>>): Promise<void> {
  const ref = rt.put(new Float64Array(BIG).fill(1));
  const view = await rt.get(ref);
  view[7] = 42; // the bug: view is the stored object
  await rt.get(ref);
}

test("a write in the driver through a view: the next get rejects with ObjectMutatedError naming the object and the read", async () => {
  const error = await withRuntime(true, writeInDriver);
  assert.ok(error instanceof ObjectMutatedError, `an ObjectMutatedError (got ${String(error)})`);
  assert.ok(error instanceof LoomError, "a LoomError");
  assert.equal(error.code, "ERR_OBJECT_MUTATED");
  assert.match(error.madeBy, /^put/, "made by a put");
  assert.ok(error.objectId > 0, "names the object");
  assert.ok(error.readAt.some((r) => /writeInDriver .*immutability-checker\.test\.ts/.test(r)), `where it was read: ${error.readAt.join(" | ")}`);
  assert.match(error.message, /immutable/);
});

test("a write in a task into its argument: shutdown rejects with ObjectMutatedError naming the task that read it", async () => {
  const error = await withRuntime(true, async (rt, m) => {
    const ref = m.ramp.remote(BIG);
    assert.equal(await rt.get(m.scaleInPlace.remote(ref, 2)), 0);
  });
  assert.ok(error instanceof ObjectMutatedError, `an ObjectMutatedError (got ${String(error)})`);
  assert.match(error.madeBy, /ramp/, "made by the ramp task");
  assert.ok(error.readAt.some((r) => /task scaleInPlace/.test(r)), `read by scaleInPlace: ${error.readAt.join(" | ")}`);
});

test("a write in a task into an object it read with current().get: shutdown names the object", async () => {
  const error = await withRuntime(true, async (rt, m) => {
    const ref = rt.put(new Float64Array(BIG).fill(3));
    assert.equal(await rt.get(m.scaleNested.remote({ ref })), BIG);
  });
  assert.ok(error instanceof ObjectMutatedError, `an ObjectMutatedError (got ${String(error)})`);
  assert.match(error.madeBy, /^put/);
});

test("no false alarm: reads, small copies written to, and objects freed after use", async () => {
  const error = await withRuntime(true, async (rt, m) => {
    const ref = m.ramp.remote(BIG);
    assert.equal(await rt.get(m.total.remote(ref)), (BIG * (BIG - 1)) / 2);
    const copy = (await rt.get(ref)).slice(); // the right way to change a value from get
    copy[0] = 99;
    const small = rt.put(new Float64Array(16));
    (await rt.get(small))[0] = 5; // below 16 KiB get returns a copy: writing to it changes nothing stored
    assert.equal((await rt.get(small))[0], 0);
  });
  assert.equal(error, undefined, `a clean run raises nothing (got ${String(error)})`);
});

test("off by default outside NODE_ENV=test, and then a write goes unnoticed (as documented)", async () => {
  const saved = process.env.NODE_ENV;
  delete process.env.NODE_ENV;
  try {
    assert.equal(await withRuntime(undefined, writeInDriver), undefined, "no check, no error");
  } finally {
    if (saved !== undefined) process.env.NODE_ENV = saved;
  }
  process.env.NODE_ENV = "test";
  try {
    assert.ok(await withRuntime(undefined, writeInDriver) instanceof ObjectMutatedError, "on under NODE_ENV=test");
  } finally {
    if (saved === undefined) delete process.env.NODE_ENV; else process.env.NODE_ENV = saved;
  }
});

test("checkImmutable must be a boolean", async () => {
  await assert.rejects(init({ checkImmutable: "yes" as never }), /checkImmutable/);
});
