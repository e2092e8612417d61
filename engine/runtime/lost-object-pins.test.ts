// Deterministic engine tests for two fixes the random-program property found (d7ecd24), whose pinned programs in
// props/regressions.ts pass without the fix on a fresh runtime. Each fails on d7ecd24^ unless it says otherwise.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { init, type ObjectRef, type Runtime } from "loom-dag";

type Tasks = typeof import("../test-fixtures/tasks.js");
let rt: Runtime;
let m: Awaited<ReturnType<Runtime["module"]>> & Record<string, any>;
const dir = mkdtempSync(join(tmpdir(), "loom-lost-pins-"));

before(async () => {
  rt = await init({ workers: 2 });
  m = (await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url))) as typeof m;
});
after(async () => {
  await rt.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

test("rebuilding one return of a split leaves its sealed sibling stored (multi-return-sibling-freed)", async () => {
  const [a, b] = m.pair.options({ numReturns: 2 }).remote(4) as unknown as ObjectRef<number>[];
  assert.deepEqual(await rt.get([a, b], { timeoutMs: 60_000 }), [4, 40]);
  assert.equal(rt.faults.evict(a), true);
  assert.equal(await rt.get(a, { timeoutMs: 60_000 }), 4, "the evicted return is rebuilt");
  // The rebuild held only the returns it reopened, but let go of all of them: the sibling, still named by `b`,
  // was freed under it.
  assert.equal(rt.faults.evict(b), true, "the sibling the driver still holds is still stored after the rebuild");
});

test("an object evicted between the worker being told it is ready and its read is wanted again (ready-then-lost)", async () => {
  const xGate = join(dir, "x-gate");
  const readerGate = join(dir, "reader-gate");
  const mark = join(dir, "getting");
  writeFileSync(mark, "");
  // x holds one worker's thread; the reader, on the other, asks for x and then holds its own thread, so the
  // driver's "x is ready" waits unread while the test evicts x.
  const x = m.blockThread.remote(xGate, 60_000) as ObjectRef<boolean>;
  const reader = m.getThenBlock.remote({ refs: [x] }, mark, readerGate, 60_000);
  for (let i = 0; i < 2000 && readFileSync(mark, "utf8") === ""; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(readFileSync(mark, "utf8"), "getting\n", "the reader asked for x within 20 s");
  const finished = new Promise<void>((resolve) => {
    const on = (e: { name: string }) => { if (e.name === "blockThread") { rt.events.off("task:finished", on); resolve(); } };
    rt.events.on("task:finished", on);
  });
  writeFileSync(xGate, "");
  await finished;
  assert.equal(rt.faults.evict(x), true, "x is evicted after the reader was told it is ready");
  writeFileSync(readerGate, "");
  assert.deepEqual(await rt.get(reader, { timeoutMs: 60_000 }), [true], "the reader wants x again and reads the rebuilt value");
});

test("a task taking an evicted put fails with ObjectLostError; .remote() does not throw (remote-throws-on-lost-put)", async () => {
  const p = rt.put(0);
  assert.equal(rt.faults.evict(p), true);
  let ref: ObjectRef<number> | undefined;
  assert.doesNotThrow(() => { ref = m.add.remote(p, 1) as ObjectRef<number>; }, ".remote() returns a ref");
  await assert.rejects(rt.get(ref!, { timeoutMs: 60_000 }), (e: Error) => e.name === "ObjectLostError", "the task fails with the put's loss");
});

test("two tasks each getting two pending refs inside a worker finish on 2 workers (in-task-multi-get-deadlock)", async () => {
  // Each get of several refs released the worker's CPU slot once per ref, so the slots were miscounted and the
  // nested task x waits for never ran. Before the fix this hangs; 60 s is far above a slow start.
  const x = m.depth.remote(1);
  const sums = [m.sumRefs.remote({ refs: [x, x] }), m.sumRefs.remote({ refs: [x, x] })];
  const after = m.add.remote(x, 0);
  assert.deepEqual(await rt.get([...sums, after], { timeoutMs: 60_000 }), [2, 2, 1]);
});
