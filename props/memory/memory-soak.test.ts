// The memory soak's parts: the sampler on a real runtime (every worker's heap reached, store and tables read),
// and the flatness verdict on synthetic curves, one of which grows and must be reported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init } from "loom-dag";
import { MemorySampler, sampleLine, type MemorySample } from "./memory-sampler.js";
import { flatVerdict } from "./flat-verdict.js";

const MiB = 2 ** 20;

test("the sampler reads the driver, the store, the tables and every worker thread's heap", async () => {
  const rt = await init({ workers: 3 });
  try {
    const sampler = new MemorySampler();
    const sample = await sampler.sample(rt, { runs: 7, runtimes: 1 });
    assert.equal(sample.workerCount, 3);
    assert.equal(sample.workersSeen, 3, "one probe per worker thread, each on its own thread");
    for (const h of sample.workerHeapUsed) assert.ok(h > 1 * MiB && h < 512 * MiB, `a worker heap of ${h} bytes`);
    assert.equal(sample.workerHeapSum, sample.workerHeapUsed.reduce((a, b) => a + b, 0));
    assert.ok(sample.driverRss > sample.driverHeapUsed && sample.driverHeapUsed > 1 * MiB);
    assert.equal(sample.runs, 7);
    for (const k of ["tasks", "objects", "actors", "segments", "sharedArgs", "graphNodes"]) assert.equal(typeof sample.tables[k], "number", `tables.${k}`);
    // A big put shows in the store's segment bytes and the objects the driver knows.
    const big = rt.put(new Uint8Array(4 * MiB));
    const withBig = await sampler.sample(rt, { runs: 8, runtimes: 1 });
    assert.ok(withBig.segmentBytes >= 4 * MiB, `segment bytes ${withBig.segmentBytes} with a 4 MiB object live`);
    assert.ok(withBig.storeObjects >= 1);
    const line = JSON.parse(sampleLine(withBig));
    assert.equal(line.kind, "sample");
    assert.equal(line.workerHeapMiB.length, 3);
    assert.ok(line.segmentMiB >= 4);
    void big;
  } finally {
    await rt.shutdown();
  }
});

/** n samples a minute apart; `f(i)` overrides fields of sample i. */
function series(n: number, f: (i: number) => Partial<MemorySample> & { tables?: Record<string, number> } = () => ({})): MemorySample[] {
  return Array.from({ length: n }, (_, i) => {
    const wiggle = ((i * 7919) % 5) * 0.4 * MiB; // deterministic noise of up to 1.6 MiB
    const base: MemorySample = {
      t: i * 60, runs: i * 100, runtimes: 1, driverRss: 300 * MiB + wiggle, driverHeapUsed: 60 * MiB + wiggle, driverExternal: 2 * MiB,
      arenaBytes: 4096, segmentBytes: 0, idleSegmentBytes: 0, storeObjects: 10,
      tables: { tasks: 20, objects: 10, actors: 2, segments: 0, sharedArgs: 0, graphNodes: 5000 },
      workerHeapUsed: [40 * MiB + wiggle, 42 * MiB], workerHeapSum: 82 * MiB + wiggle, workerHeapMax: 42 * MiB + wiggle,
      workersSeen: 2, workerCount: 2,
    };
    const over = f(i);
    return { ...base, ...over, tables: { ...base.tables, ...over.tables } };
  });
}

test("verdict: a curve that rises during warm-up then stays level is flat", () => {
  const v = flatVerdict(series(30, (i) => (i < 10 ? { driverHeapUsed: (20 + i * 4) * MiB, driverRss: (200 + i * 10) * MiB } : {})));
  assert.equal(v.flat, true, v.summary);
  assert.match(v.summary, /^flat after warm-up/);
});

test("verdict: a driver heap that keeps growing after warm-up is reported, and named", () => {
  // 0.5 MiB a minute for two hours: the medians of the middle and last thirds are 20 MiB apart, past 5% + 8 MiB.
  const v = flatVerdict(series(120, (i) => ({ driverHeapUsed: 60 * MiB + i * 0.5 * MiB })));
  assert.equal(v.flat, false, v.summary);
  const heap = v.series.find((s) => s.name === "driverHeapUsed")!;
  assert.ok(heap.grew && heap.perHour > 25 * MiB, `slope ${heap.perHour / MiB} MiB/h`);
  assert.match(v.summary, /NOT flat.*driverHeapUsed/);
  assert.ok(!v.series.find((s) => s.name === "driverRss")!.grew, "only the growing series is named");
});

test("verdict: a slow worker leak and a growing table are reported; small growth within the limits is not", () => {
  const leak = flatVerdict(series(60, (i) => ({ workerHeapSum: 82 * MiB + i * 1 * MiB })));
  assert.equal(leak.flat, false, leak.summary);
  assert.match(leak.summary, /workerHeapSum/);
  const table = flatVerdict(series(60, (i) => ({ tables: { actors: 2 + i * 10 } })));
  assert.equal(table.flat, false, table.summary);
  assert.match(table.summary, /tables\.actors/);
  const small = flatVerdict(series(60, (i) => ({ driverRss: 300 * MiB + i * 0.2 * MiB, tables: { tasks: 20 + (i % 3) } })));
  assert.equal(small.flat, true, small.summary);
});

test("verdict: samples that missed a worker do not count as a smaller worker heap; too few samples give no verdict", () => {
  // Every other sample after warm-up reached one worker only (its thread was being replaced): half the sum.
  const v = flatVerdict(series(30, (i) => (i % 2 && i < 20 ? { workersSeen: 1, workerHeapSum: 40 * MiB } : {})));
  assert.equal(v.flat, true, v.summary);
  const short = flatVerdict(series(4));
  assert.equal(short.flat, undefined);
  assert.match(short.summary, /too few samples/);
});

test("verdict: the driver's graph is judged by its bound, and warm-up lasts until it first dropped nodes", () => {
  // The graph fills by 2,500 nodes a minute (150 B of heap each) to 100,000 at minute 40, then drops to 50,000.
  const graph = (i: number): number => (i <= 40 ? i * 2500 : 50_000 + ((i - 40) * 2500) % 50_000);
  const withGraph = (i: number) => ({ driverHeapUsed: 60 * MiB + graph(i) * 150, tables: { graphNodes: graph(i) } });
  const v = flatVerdict(series(60, withGraph));
  assert.equal(v.flat, true, v.summary);
  assert.match(v.summary, /41 warm-up samples dropped/);
  // A run that ends before the graph's first drop says the graph was still filling.
  const filling = flatVerdict(series(40, withGraph));
  assert.match(filling.summary, /13 warm-up samples dropped.*still filling/);
  const overBound = flatVerdict(series(30, (i) => ({ tables: { graphNodes: 90_000 + i * 1000 } })));
  assert.equal(overBound.flat, false, "a graph past its bound is growth");
  assert.match(overBound.summary, /graphNodes at most 119000/);
});
