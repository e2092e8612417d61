// Deterministic engine tests for two fixes the random-program property found (d7ecd24), whose pinned programs in
// props/regressions.ts pass without the fix on a fresh runtime: both fail on d7ecd24^.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { init, type ObjectRef, type Runtime } from "loom";

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
  const gate = join(dir, "gate");
  const mark = join(dir, "getting");
  writeFileSync(mark, "");
  const x = m.untilFile.remote(gate, 60_000) as ObjectRef<boolean>;
  // The consumer gets x inside a worker (a nested ref stays a ref), and waits there until x is sealed.
  const sum = m.sumRefsMarked.remote({ refs: [x] }, mark);
  for (let i = 0; i < 2000 && readFileSync(mark, "utf8") === ""; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(readFileSync(mark, "utf8"), "getting\n", "the consumer is in its get within 20 s");
  // x's end is handled (and the waiting worker told it is ready) before task:finished; evicting it in the
  // listener's microtask loses it before the worker can read it.
  let evicted: boolean | undefined;
  const onFinished = (e: { name: string }) => {
    if (e.name === "untilFile") queueMicrotask(() => { evicted ??= rt.faults.evict(x); });
  };
  rt.events.on("task:finished", onFinished);
  try {
    writeFileSync(gate, "");
    assert.equal(await rt.get(sum, { timeoutMs: 60_000 }), 1, "the worker wants x again and reads the rebuilt value");
  } finally {
    rt.events.off("task:finished", onFinished);
  }
  assert.equal(evicted, true, "x was evicted after it was sealed");
});
