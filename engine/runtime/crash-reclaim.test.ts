// What a worker that dies leaves behind (issue 23): the arena blocks and store segments it wrote and never handed
// over are reclaimed, and a worker killed while parked is no longer counted in CTL_IDLE_WORKERS. Each case crashes
// a thread at a named point in the middle of a write and checks that, once the retried work is done and its refs
// are dropped, the store is back where it started; and that the idle count stays true across kills.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { init, type Runtime } from "loom-dag";
import * as L from "../../core-wasm/shared/layout.js";

type Cases = typeof import("../test-fixtures/crash-cases.js");
type RayCases = typeof import("../test-fixtures/ray-cases.js");
let rt: Runtime;
let c: Record<string, any>;
let m: Record<string, any>;

before(async () => {
  rt = await init({ workers: 2 });
  c = await rt.module<Cases>(new URL("../test-fixtures/crash-cases.ts", import.meta.url));
  m = await rt.module<RayCases>(new URL("../test-fixtures/ray-cases.ts", import.meta.url));
  // Both workers import the modules before any crash, so a crash never races a first import.
  await rt.get([c.putThenPair.remote(1), c.putThenPair.remote(2), m.lengthOf.remote("x"), m.lengthOf.remote("y")], { timeoutMs: 30_000 });
});
after(async () => {
  await rt.shutdown();
});

const get = (ref: unknown): Promise<any> => rt.get(ref as never, { timeoutMs: 30_000 });

/** Polls `check` (collecting garbage between tries, so dropped refs free their objects) until it holds or `ms` pass. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  for (;;) {
    if (check()) return true;
    if (performance.now() > end) return false;
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Usage = ReturnType<Runtime["storeUsage"]>;
const held = (u: Usage) => ({ arenaBytes: u.arenaBytes, segmentBytes: u.segmentBytes, objects: u.objects });

/** The store's holdings once they stop changing (the same over five reads in a row, with collections between). */
async function settledUsage(): Promise<ReturnType<typeof held>> {
  let last = "", same = 0;
  assert.ok(await until(() => {
    const now = JSON.stringify(held(rt.storeUsage()));
    same = now === last ? same + 1 : 0;
    last = now;
    return same >= 5;
  }, 10_000), "the store settles");
  return JSON.parse(last) as ReturnType<typeof held>;
}

/**
 * Runs `work` once to warm it, then again with `point` armed: once the crashed thread's work is retried (or has
 * failed) and its refs are dropped, the store must hold what it held before.
 */
async function reclaimedAfter(point: string, work: (crashing: boolean) => Promise<void>): Promise<void> {
  await work(false);
  const base = await settledUsage();
  const fired = rt.faults.crashAt(point as never);
  await work(true);
  let timer: NodeJS.Timeout | undefined;
  const report = await Promise.race([fired, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${point}: never fired`)), 30_000); })]);
  clearTimeout(timer);
  assert.equal(report.fired, 1, `${point}: the crash fired`);
  const back = await until(() => {
    const now = held(rt.storeUsage());
    return now.arenaBytes === base.arenaBytes && now.segmentBytes === base.segmentBytes && now.objects === base.objects;
  }, 10_000);
  assert.deepEqual(held(rt.storeUsage()), base, `${point}: the store holds what it held before the crash`);
  assert.ok(back);
}

const cases: Array<[string, string, (crashing: boolean) => Promise<void>]> = [
  ["a small result (arena), before its seal", "sealing", async () => { assert.equal(await get(m.lengthOf.remote("abc")), 3); }],
  ["a big result (segment), before its seal", "sealing", async () => { assert.equal((await get(m.filled.remote(64 * 1024, 3))).length, 64 * 1024); }],
  ["a streaming generator's yield, before it is posted", "sealing", async () => {
    const out: number[] = [];
    for await (const r of c.count.options({ numReturns: "streaming" }).remote(3)) out.push(await get(r));
    assert.deepEqual(out, [0, 1, 2]);
  }],
  ["a small put inside a task, before it is posted", "putting", async () => { assert.equal(await get(m.putAndRead.remote(21)), 42); }],
  ["a big put inside a task, before it is posted", "putting", async () => { assert.equal(await get(c.putBigAndSum.remote(64 * 1024)), 64 * 1024); }],
  // A task that sent a message defers its seals to its "done" message: its blocks are held until it is posted.
  ["two results whose seals are deferred to the done message", "sealed", async () => {
    assert.deepEqual(await get(c.putThenPair.options({ numReturns: 2 }).remote(5)), [5, 6]);
  }],
  ["a big result whose seal is deferred, retried", "sealed", async () => { assert.equal((await get(c.putThenFilled.remote(64 * 1024, 2))).length, 64 * 1024); }],
];
for (const [what, point, work] of cases) {
  test(`a worker that dies at "${point}" leaves nothing behind: ${what}`, async () => {
    await reclaimedAfter(point, work);
  });
}

test(`a big result whose seal is deferred, not retried: its segment goes with the error sealed instead`, async () => {
  // Its segment reached the driver ("segment") before the crash, its seal never did; the task then fails for good.
  await reclaimedAfter("sealed", async (crashing) => {
    const ref = c.putThenFilled.options({ maxRetries: 0 }).remote(64 * 1024, 2);
    if (crashing) await assert.rejects(get(ref), { name: "WorkerCrashedError" });
    else assert.equal((await get(ref)).length, 64 * 1024);
  });
});

test(`an actor call that checkpoints (seals through the driver) leaves nothing behind at "sealed"`, async () => {
  const a = m.Checkpointed.options({ checkpointEvery: 1, maxRestarts: 2, maxTaskRetries: 2 }).remote();
  let total = 0;
  await reclaimedAfter("sealed", async () => {
    total += 2;
    assert.equal(await get(a.add.remote(2)), total, "each call applied once");
  });
  rt.kill(a);
});

test("a worker that dies while it still holds the slot of a killed actor's call (a tombstone) is replaced", async () => {
  // Found by the engine property (seed 1): the exit handler read a tombstone's task options and threw.
  const a = c.Napper.options({ maxRestarts: 0 }).remote();
  const worker = (await get(a.where.remote())) as number;
  const mark = join(mkdtempSync(join(tmpdir(), "loom-nap-")), "mark");
  const napping = a.nap.remote(60_000, mark);
  assert.ok(await until(() => existsSync(mark), 10_000), "the call runs");
  rmSync(dirname(mark), { recursive: true, force: true });
  rt.faults.killActor(a); // its thread lives on, holding the call's slot: a tombstone until it reports or dies
  await assert.rejects(get(napping), { name: "ActorDiedError" });
  await rt.faults.killWorker(worker);
  assert.equal(await get(m.lengthOf.remote("after")), 5, "the runtime goes on with a replacement thread");
});

// ---- a cancelled task's result that loses to the cancellation's seal ----

/**
 * A cancelled (not killed) task whose code goes on writes its big result into a segment and announces it
 * ("segment") before its seal, which then fails: the driver sealed the cancellation. Which of the two the driver
 * reads first is a race; each order is made here by handing the driver the worker's message itself, while the
 * task waits. Either way, once the ref is dropped, the store holds what it held before.
 */
for (const order of ["before", "after"] as const) {
  test(`a cancelled task's result segment, announced ${order} the cancellation's seal, is not kept`, async () => {
    const l = await rt.module<typeof import("../test-fixtures/late-results.js")>(new URL("../test-fixtures/late-results.ts", import.meta.url));
    const protocol = (rt as unknown as { d: { protocol: { onWorkerMessage(index: number, m: unknown): void } } }).d.protocol;
    const bytes = 256 * 1024;
    await get(l.bigAfterGate.remote(new Int32Array(new SharedArrayBuffer(4)), new Int32Array([1]), 16, 1_000)); // warm: module imported
    const base = await settledUsage();
    const started = new Int32Array(new SharedArrayBuffer(4));
    const gate = new Int32Array(new SharedArrayBuffer(4));
    let ref: any = l.bigAfterGate.remote(started, gate, bytes, 30_000);
    assert.ok(await until(() => Atomics.load(started, 0) === 1, 20_000), "the task runs");
    const announce = () => protocol.onWorkerMessage(0, { t: "segment", id: ref.id, segment: new SharedArrayBuffer(bytes + 64), refs: [] });
    if (order === "before") announce();
    rt.cancel(ref);
    if (order === "after") announce();
    await assert.rejects(get(ref), { name: "TaskCancelledError" });
    Atomics.store(gate, 0, 1); // the task's own write now finds its object sealed
    ref = undefined;
    assert.ok(await until(() => {
      const now = held(rt.storeUsage());
      return now.segmentBytes === base.segmentBytes && now.objects === base.objects;
    }, 10_000), `segment bytes ${rt.storeUsage().segmentBytes}, ${base.segmentBytes} before`);
  });
}

// ---- the count of parked workers ----

/** The core, read directly: the count is an engine internal that no API reports. */
function idleWorkers(): number {
  const core = (rt as unknown as { d: { core: { i32: Int32Array } } }).d.core;
  return Atomics.load(core.i32, (L.CORE_BASE + L.CTL_IDLE_WORKERS) >> 2);
}

/** The highest idle count seen over `ms` (a parked worker wakes every 50 ms and parks again, so it dips). */
async function peakIdle(ms: number): Promise<number> {
  let peak = -Infinity;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    peak = Math.max(peak, idleWorkers());
    await new Promise((r) => setTimeout(r, 2));
  }
  return peak;
}

test("workers killed while parked are not counted idle any more, and tasks still start at once", async () => {
  for (let round = 0; round < 3; round++) {
    assert.ok(await until(() => idleWorkers() === 2, 10_000), `round ${round}: both workers parked (idle count ${idleWorkers()})`);
    await rt.faults.killWorker(0);
    await rt.faults.killWorker(1);
    // The replacements warm up (module imports) and park.
    assert.ok(await until(() => idleWorkers() === 2, 10_000), `round ${round}: both replacements parked (idle count ${idleWorkers()})`);
    const peak = await peakIdle(300);
    assert.ok(peak <= 2, `round ${round}: the idle count reached ${peak} with 2 workers: killed parked workers are still counted`);
  }
  // A count too low would hold back the wake-ups of parked workers: each task would wait out a park (50 ms).
  const t0 = performance.now();
  for (let i = 0; i < 40; i++) assert.equal(await get(m.lengthOf.remote("x".repeat(i))), i);
  const ms = performance.now() - t0;
  assert.ok(ms < 1_000, `40 tasks one after another took ${ms.toFixed(0)} ms: parked workers were not woken`);
  assert.ok(idleWorkers() >= 0);
});
