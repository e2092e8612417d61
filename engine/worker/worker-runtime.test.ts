// A fresh worker thread imports the task modules it was told about before it takes a task (a retried task
// must not sit out an import on a cold thread), and a thread reports the refs to its puts it dropped, so an
// actor's puts are freed. One runtime with one worker, so every replacement is worker 0.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { init, TaskError, type ObjectRef, type Runtime } from "loom-dag";

type Stamps = typeof import("../test-fixtures/stamps.js");
type DriverOnly = typeof import("../test-fixtures/driver-only.js");
type Holders = typeof import("../test-fixtures/holders.js");
let rt: Runtime;
let stamps: Awaited<ReturnType<Runtime["module"]>> & Record<string, any>;
interface Stamp { loadedAt: number; ranAt: number }
const getStamp = (ref: unknown): Promise<Stamp> => rt.get(ref as ObjectRef<Stamp>);
/** The last task:started time (ms after the runtime's epoch); a workers: 1 runtime runs one task at a time. */
let started = -1;

before(async () => {
  rt = await init({ workers: 1 });
  rt.events.on("task:started", (e: { time: number }) => { started = e.time; });
  stamps = (await rt.module<Stamps>(new URL("../test-fixtures/stamps.ts", import.meta.url))) as typeof stamps;
});
after(async () => {
  await rt.shutdown();
});

test("a replacement worker imports the modules it was told about before it takes a task", async () => {
  // Task starts count from the runtime's epoch, on the clock stamps.ts reads too: one clock, no estimate.
  const { epoch } = (rt as unknown as { inspect(): { epoch: number } }).inspect();
  await getStamp(stamps.stamp.remote());
  // The task marks each attempt: the kill comes once it runs (a kill while it is queued proves nothing), and the
  // replacement must run it again.
  const mark = join(mkdtempSync(join(tmpdir(), "loom-stamp-")), "attempts");
  writeFileSync(mark, "");
  const retried = stamps.stamp.remote(60_000, mark);
  for (let i = 0; i < 2000 && readFileSync(mark, "utf8") === ""; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(readFileSync(mark, "utf8"), "ran\n", "the task started within 20 s");
  await rt.faults.killWorker(0);
  const s = await getStamp(retried);
  assert.equal(readFileSync(mark, "utf8"), "ran\nran\n", "the task ran again on the replacement");
  rmSync(dirname(mark), { recursive: true, force: true });
  const takenAt = epoch + started;
  // A cold thread takes the task first and imports afterwards (loadedAt > takenAt by the whole import, 0.1 s and
  // more through tsx); the start is stamped to 10 µs, hence the 0.01 ms.
  assert.ok(s.loadedAt <= takenAt + 0.01, `the replacement loaded stamps.ts at ${s.loadedAt}, ${s.loadedAt - takenAt} ms after it took the retried task (${takenAt})`);
  assert.ok(s.ranAt >= takenAt - 0.01, `the retried task ran (${s.ranAt}) after its take (${takenAt}): one clock`);
  const next = await getStamp(stamps.stamp.remote());
  assert.equal(next.loadedAt, s.loadedAt, "the replacement keeps the module it imported");
});

test("an import that fails on a replacement still fails only the tasks that use it", async () => {
  const driverOnly = (await rt.module<DriverOnly>(new URL("../test-fixtures/driver-only.ts", import.meta.url))) as Record<string, any>;
  await assert.rejects(rt.get(driverOnly.never.remote()), TaskError, "the import error is the task's error");
  await rt.faults.killWorker(0);
  // The replacement warms both modules; one import fails, and it must neither stall the thread nor be lost.
  const s = await getStamp(stamps.stamp.remote());
  assert.ok(s.ranAt > 0, "a task of the module that loads runs on the replacement");
  await assert.rejects(rt.get(driverOnly.never.remote()), (e: unknown) => {
    assert.ok(e instanceof TaskError, `expected a TaskError, got ${String(e)}`);
    assert.match(String((e as TaskError).message) + String((e as TaskError).cause), /refuses to load in a worker/, "the import error reaches the caller");
    return true;
  });
});

const gcTest = { skip: typeof globalThis.gc !== "function" && "needs --expose-gc (npm test passes it)" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects garbage in the actor's thread and here, and lets the drop reports and finalizers run. */
async function collect(h: Record<string, any>): Promise<void> {
  for (let k = 0; k < 2; k++) {
    assert.equal(await rt.get(h.collect.remote()), true, "the worker thread has gc() (--expose-gc reaches workers)");
    globalThis.gc!();
    await sleep(40);
  }
}

test("an actor's puts are freed once no ref to them is left in its thread", gcTest, async () => {
  const holders = (await rt.module<Holders>(new URL("../test-fixtures/holders.ts", import.meta.url))) as Record<string, any>;
  const h = holders.Holder.remote();
  await collect(h);
  const before = rt.storeUsage().objects;
  assert.equal(await rt.get(h.keep.remote(50, 1024)), 50);
  await collect(h);
  assert.ok(rt.storeUsage().objects >= before + 50, `puts kept in the actor's state stay (before ${before}, now ${rt.storeUsage().objects})`);
  await rt.get(h.forget.remote());
  let after = rt.storeUsage().objects;
  for (let k = 0; k < 10 && after > before + 5; k++) { await collect(h); after = rt.storeUsage().objects; }
  assert.ok(after <= before + 5, `the actor dropped its refs, so its puts are freed (before ${before}, after ${after})`);
});

test("an actor's put outlives the actor's refs while a result or another object names it", gcTest, async () => {
  const holders = (await rt.module<Holders>(new URL("../test-fixtures/holders.ts", import.meta.url))) as Record<string, any>;
  const h = holders.Holder.remote();
  const given = h.giveOne.remote(1024);
  const wrapped = h.wrapOne.remote(1024);
  await rt.get([given, wrapped]);
  await collect(h); // the actor holds neither put now; only the results (and the outer put) name them
  const ref = await rt.get(given as ObjectRef<ObjectRef<Uint8Array>>);
  assert.equal((await rt.get(ref))[0], 7, "a put named by an actor call's result is still stored");
  const outer = await rt.get(wrapped as ObjectRef<ObjectRef<{ inner: ObjectRef<Uint8Array> }>>);
  const { inner } = await rt.get(outer);
  assert.equal((await rt.get(inner))[0], 9, "a put stored inside another put is still stored");
});
