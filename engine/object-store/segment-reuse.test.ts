// Segments of freed big objects are reused by later puts of about the same size, but never while a view
// made from them is alive in the driver or in a worker: those views must keep seeing the values they saw.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, type ObjectRef, type Runtime } from "loom-dag";
import { SegmentPool, MAX_IDLE_BYTES, MAX_IDLE_BIG_SEGMENTS, segmentSize } from "./segment-pool.js";

type Views = typeof import("../test-fixtures/views.js");
const ELEMENTS = (2 * 2 ** 20) / 8; // 2 MiB: big enough to be recycled
const gc = (globalThis as { gc?: () => void }).gc;
let rt: Runtime;
let views: Record<string, any>;

before(async () => {
  rt = await init({ workers: 1 });
  views = (await rt.module<Views>(new URL("../test-fixtures/views.ts", import.meta.url))) as Record<string, any>;
});
after(async () => {
  await rt.shutdown();
});

/** Collects the driver's garbage and lets finalizers (ref drops, handle unpins) run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) { gc!(); await new Promise((r) => setTimeout(r, 20)); }
}

/** Each test puts its own size, so that it cannot be handed a segment another test left idle. */
const filled = (v: number, elements = ELEMENTS) => new Float64Array(elements).fill(v);
const DRIVER_ELEMENTS = (3 * 2 ** 20) / 8;
const WORKER_ELEMENTS = (4 * 2 ** 20) / 8;

test("a freed segment is reused by the next put of its size once no view sees it", { skip: !gc && "needs --expose-gc (npm test passes it)" }, async () => {
  await (async () => {
    const ref = rt.put(filled(1));
    const view = (await rt.get(ref)) as Float64Array;
    assert.equal(view[0], 1, "the put reads back");
  })();
  await collect();
  const idle = rt.storeUsage().idleSegmentBytes;
  assert.ok(idle >= ELEMENTS * 8, `the freed object's segment is kept for reuse (idle ${idle} bytes)`);
  const next = rt.put(filled(2));
  assert.ok(rt.storeUsage().idleSegmentBytes < idle, `the next put took it (idle ${idle} -> ${rt.storeUsage().idleSegmentBytes})`);
  const v = (await rt.get(next)) as Float64Array;
  assert.deepEqual([v[0], v[ELEMENTS - 1]], [2, 2], "the reused segment holds the new value");
});

test("a view kept in the driver keeps its memory from reuse", { skip: !gc && "needs --expose-gc (npm test passes it)" }, async () => {
  const kept = await (async () => (await rt.get(rt.put(filled(3, DRIVER_ELEMENTS)))) as Float64Array)();
  await collect(); // the ref is gone; only the view holds the segment
  const later: ObjectRef<Float64Array>[] = [];
  for (let i = 0; i < 4; i++) { later.push(rt.put(filled(10 + i, DRIVER_ELEMENTS))); await collect(); }
  assert.deepEqual([kept[0], kept[DRIVER_ELEMENTS - 1]], [3, 3], "the driver's view still sees its own value");
  for (let i = 0; i < 4; i++) {
    const v = (await rt.get(later[i]!)) as Float64Array;
    assert.deepEqual([v[0], v[DRIVER_ELEMENTS - 1]], [10 + i, 10 + i], `later put ${i} is intact`);
  }
});

test("a view kept by a worker keeps its memory from reuse; once it drops it, the segment is reused", { skip: !gc && "needs --expose-gc (npm test passes it)" }, async () => {
  await rt.get(views.dropKept.remote());
  await (async () => {
    const ref = rt.put(filled(5, WORKER_ELEMENTS));
    assert.equal(await rt.get(views.keepView.remote(ref)), 1, "the worker keeps one view");
  })();
  await collect();
  const idle = rt.storeUsage().idleSegmentBytes;
  const later: ObjectRef<Float64Array>[] = [];
  for (let i = 0; i < 4; i++) { later.push(rt.put(filled(20 + i, WORKER_ELEMENTS))); await collect(); }
  assert.deepEqual(await rt.get(views.readKept.remote()), [[5, 5]], "the worker's view still sees its own value");
  for (let i = 0; i < 4; i++) {
    const v = (await rt.get(later[i]!)) as Float64Array;
    assert.deepEqual([v[0], v[WORKER_ELEMENTS - 1]], [20 + i, 20 + i], `later put ${i} is intact`);
  }
  later.length = 0;
  assert.equal(await rt.get(views.dropKept.remote()), true, "the worker collected its garbage");
  await collect();
  const freed = rt.storeUsage().idleSegmentBytes;
  assert.ok(freed >= idle, `the segments are idle once no one sees them (before ${idle}, now ${freed})`);
  rt.put(filled(30, WORKER_ELEMENTS));
  assert.ok(rt.storeUsage().idleSegmentBytes < freed, `a put reuses one (idle ${freed} -> ${rt.storeUsage().idleSegmentBytes})`);
});

test(`idle segments stay within MAX_IDLE_BYTES (${MAX_IDLE_BYTES / 2 ** 20} MiB) however big the store, and within a smaller limit`, () => {
  const MiB = 2 ** 20;
  // What the runtime offers with an 8 GiB store: a quarter, capped at 1 GiB. Forty dead 8 MiB segments.
  const big = new SegmentPool(2 ** 30);
  for (let i = 0; i < 40; i++) big.retire(new SharedArrayBuffer(segmentSize(8 * MiB)));
  assert.ok(big.idleBytes <= MAX_IDLE_BYTES, `idle ${big.idleBytes / MiB} MiB, at most ${MAX_IDLE_BYTES / MiB}`);
  assert.ok(big.idleBytes >= MAX_IDLE_BYTES - segmentSize(8 * MiB), `it still keeps what fits (idle ${big.idleBytes / MiB} MiB)`);
  assert.ok(big.takeRecycled(8 * MiB) !== undefined, "a put of that size gets one back");
  // A small store's quarter still bounds it.
  const small = new SegmentPool(16 * MiB);
  for (let i = 0; i < 10; i++) small.retire(new SharedArrayBuffer(segmentSize(4 * MiB)));
  assert.ok(small.idleBytes <= 16 * MiB, `idle ${small.idleBytes / MiB} MiB with a 16 MiB limit`);
});

test(`segments over MAX_IDLE_BYTES are kept apart: at most ${MAX_IDLE_BIG_SEGMENTS}, within the limit, the oldest let go first`, () => {
  const MiB = 2 ** 20;
  const pool = new SegmentPool(2 ** 30);
  for (let i = 0; i < 30; i++) pool.retire(new SharedArrayBuffer(segmentSize(2 * MiB)));
  const smallIdle = pool.idleBytes;
  const segments = [100, 100, 256].map((mib) => new SharedArrayBuffer(segmentSize(mib * MiB)));
  for (const s of segments) pool.retire(s);
  assert.equal(pool.idleBytes - smallIdle, segments[1]!.byteLength + segments[2]!.byteLength, "the two newest big ones are idle, beside the small ones");
  assert.equal(pool.takeRecycled(100 * MiB), segments[1], "a pull of 100 MiB gets the newer 100 MiB segment back");
  assert.equal(pool.takeRecycled(100 * MiB), undefined, "the oldest was let go");
  assert.equal(pool.takeRecycled(200 * MiB), undefined, "a segment of another size is not handed out");
  assert.equal(pool.takeRecycled(256 * MiB), segments[2]);
  assert.equal(pool.idleBytes, smallIdle, "the small ones' budget is their own");
  // Free ones of an old size make way for newly freed ones of another (still seen by a handle: quarantined).
  for (const s of [100, 100].map((mib) => new SharedArrayBuffer(segmentSize(mib * MiB)))) pool.retire(s);
  const newer = new SharedArrayBuffer(segmentSize(256 * MiB));
  Atomics.add(new Int32Array(newer, 0, 1), 0, 1);
  pool.retire(newer);
  Atomics.sub(new Int32Array(newer, 0, 1), 0, 1);
  assert.equal(pool.takeRecycled(256 * MiB), newer, "the newest is kept, the oldest 100 MiB one let go");
  assert.ok(pool.takeRecycled(100 * MiB) !== undefined && pool.takeRecycled(100 * MiB) === undefined, "one 100 MiB one is left");
  // A quarter of a small store bounds big segments too: a 100 MiB one is not kept under a 64 MiB limit.
  const smallStore = new SegmentPool(64 * MiB);
  smallStore.retire(new SharedArrayBuffer(segmentSize(100 * MiB)));
  assert.equal(smallStore.idleBytes, 0);
});

test("a segment still seen by a handle waits in quarantine; the store's need and time let big ones go", async () => {
  const MiB = 2 ** 20;
  const pool = new SegmentPool(2 ** 30, 50);
  const seen = new SharedArrayBuffer(segmentSize(80 * MiB));
  Atomics.add(new Int32Array(seen, 0, 1), 0, 1); // a live handle somewhere
  pool.retire(seen);
  assert.equal(pool.takeRecycled(80 * MiB), undefined, "not handed out while seen");
  Atomics.sub(new Int32Array(seen, 0, 1), 0, 1);
  assert.equal(pool.takeRecycled(80 * MiB), seen, "handed out once no handle sees it");
  pool.retire(seen);
  pool.trim(0);
  assert.equal(pool.idleBytes, 0, "trimmed when the store needs the memory");
  pool.retire(seen);
  assert.equal(pool.idleBytes, seen.byteLength);
  const deadline = performance.now() + 5_000;
  while (pool.idleBytes > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(pool.idleBytes, 0, "an idle process lets a big segment go after bigIdleMs, with no call into the pool");
});
