// Micro-benchmarks of the WebAssembly core: each structure against the same algorithm in plain TypeScript
// (./js-baselines) over the same SharedArrayBuffer, in one process run, so the figure that matters is the ratio.
// Usage: node --import tsx bench/micro/core-vs-js.ts [--quick] [--json]; `run({ quick })` returns the result.
import Benchmark from "benchmark";
import os from "node:os";
import { statSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { Core, coreWasmUrl, type CoreHandle } from "../../engine/wasm/core.js";
import * as L from "../../core-wasm/shared/layout.js";
import { jsQueue, jsArena, jsObjects, jsTasks, wasmOps } from "./js-baselines/index.js";
import { controlWords, PRODUCER_BATCH, type ConsumerJob, type ConsumerReport } from "./cross-thread-protocol.js";

export interface MicroRow {
  case: string;
  unit: string;
  /** The wasm core's figure (named as in bench/lib/types.ts BenchRow, where `loom` is the system under test). */
  loom: number;
  ratio: number;
  ratioLabel: "wasm/ts";
  extra: { ts: number; wasmRme?: number; tsRme?: number; runs?: string };
}

export interface MicroResult {
  name: "core-vs-js";
  title: string;
  quick: boolean;
  system: Record<string, string | number>;
  params: Record<string, number>;
  rows: MicroRow[];
  notes: string[];
}

const QUEUE_CAPACITY = 4096;
const OBJECT_CAPACITY = 1 << 16;
const OBJECT_KEYS = 1 << 15;      // load factor 0.5, as in the research note's table benchmark
const QUEUE_BATCH = 256;          // push+pop pairs per benchmark.js op
const CYCLE_BATCH = 256;          // task cycles per op
const ARENA_BATCH = 64;           // alloc+free pairs per op

function systemInfo(): Record<string, string | number> {
  const wasm = fileURLToPath(coreWasmUrl());
  let build = "missing";
  try {
    const s = statSync(wasm);
    build = `release (build/core.wasm, ${s.size} B, ${s.mtime.toISOString()})`;
  } catch { /* keep "missing" */ }
  const major = Number(process.versions.node.split(".")[0]);
  return {
    node: process.version,
    v8: process.versions.v8,
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    loadavg1m: Math.round(os.loadavg()[0]! * 100) / 100,
    build,
    wasmFlags: major < 22 ? "--no-liftoff (applied by engine/wasm/core.ts on Node < 22)" : "default",
  };
}

// ---- single-thread: benchmark.js, wasm and TS on the same memory, alternating ----

interface Measured { hz: number; rme: number }

function measure(name: string, fn: () => void, quick: boolean): Measured {
  const bench = new Benchmark(name, fn, { maxTime: quick ? 0.25 : 0.7, minSamples: quick ? 5 : 10, initCount: 1 });
  bench.run();
  if (bench.error) throw bench.error;
  return { hz: bench.hz, rme: bench.stats.rme };
}

/**
 * Measures wasm then TS, `rounds` times over: on a shared machine the load drifts, so the ratio is taken per
 * round (both sides under about the same load) and the row reports the medians.
 */
function pair(label: string, unit: string, perOp: number, wasm: () => void, ts: () => void, quick: boolean, check: () => void): MicroRow {
  const rounds = quick ? 1 : 3;
  const w: Measured[] = [];
  const t: Measured[] = [];
  for (let r = 0; r < rounds; r++) {
    w.push(measure(`${label} wasm`, wasm, quick));
    check();
    t.push(measure(`${label} ts`, ts, quick));
    check();
  }
  const row: MicroRow = {
    case: label, unit,
    loom: median(w.map((m) => m.hz)) * perOp,
    ratio: median(w.map((m, i) => m.hz / t[i]!.hz)),
    ratioLabel: "wasm/ts",
    extra: { ts: median(t.map((m) => m.hz)) * perOp, wasmRme: round(median(w.map((m) => m.rme)), 1), tsRme: round(median(t.map((m) => m.rme)), 1) },
  };
  printRow(row);
  return row;
}

function assertEq(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new Error(`core-vs-js: ${what}: got ${actual}, expected ${expected}`);
}

function singleThread(core: Core, quick: boolean): MicroRow[] {
  const x = core.exports;
  const ops = wasmOps(x);
  const mem = core.i32;
  const views = { i32: core.i32, i64: new BigInt64Array(core.memory.buffer) };
  const p = core.plan;
  const rows: MicroRow[] = [];
  // Results are folded into an int32 sink: a growing double in a closure variable would allocate on every add.
  const sink = new Int32Array(1);

  // 1. Ready queue: fill 256, drain 256.
  const q = p.readyQueue;
  ops.queueInit(q, QUEUE_CAPACITY);
  const qPush = x.queuePush;
  const qPop = x.queuePop;
  rows.push(pair("queue push+pop (256 in flight)", "pairs/s", QUEUE_BATCH, () => {
    for (let i = 0; i < QUEUE_BATCH; i++) qPush(q, i);
    for (let i = 0; i < QUEUE_BATCH; i++) sink[0] ^= qPop(q);
  }, () => {
    for (let i = 0; i < QUEUE_BATCH; i++) jsQueue.queuePush(mem, q, i);
    for (let i = 0; i < QUEUE_BATCH; i++) sink[0] ^= jsQueue.queuePop(mem, q);
  }, quick, () => assertEq(x.queueLength(q), 0, "queue drained")));

  // 2. Object table. Ids (lo, hi) = (i << 4 | 1, 0) hit; (i << 4 | 2, 0) miss.
  const lo = Int32Array.from({ length: OBJECT_KEYS }, (_, i) => (i << 4) | 1);
  const missLo = Int32Array.from({ length: OBJECT_KEYS }, (_, i) => (i << 4) | 2);
  const entries = new Int32Array(OBJECT_KEYS);
  const oInsert = x.objInsert;
  const oRemove = x.objRemove;
  const oFind = x.objFind;
  const oSeal = x.objSeal;
  const tableEmpty = () => {
    for (let i = 0; i < OBJECT_CAPACITY; i++) assertEq(mem[(p.objectTable + i * L.OBJ_BYTES) >> 2]!, L.KEY_EMPTY, `object slot ${i} empty`);
  };
  rows.push(pair(`object insert+remove (${OBJECT_KEYS} ids, load 0.5)`, "pairs/s", OBJECT_KEYS, () => {
    for (let i = 0; i < OBJECT_KEYS; i++) entries[i] = oInsert(lo[i]!, 0);
    for (let i = 0; i < OBJECT_KEYS; i++) oRemove(entries[i]!);
  }, () => {
    for (let i = 0; i < OBJECT_KEYS; i++) entries[i] = jsObjects.objInsert(mem, lo[i]!, 0);
    for (let i = 0; i < OBJECT_KEYS; i++) jsObjects.objRemove(mem, entries[i]!);
  }, quick, tableEmpty));

  for (let i = 0; i < OBJECT_KEYS; i++) entries[i] = oInsert(lo[i]!, 0);
  const allFound = () => { for (let i = 0; i < OBJECT_KEYS; i += 97) assertEq(oFind(lo[i]!, 0), entries[i]!, "find"); };
  rows.push(pair("object find (hit)", "ops/s", OBJECT_KEYS, () => {
    for (let i = 0; i < OBJECT_KEYS; i++) sink[0] ^= oFind(lo[i]!, 0);
  }, () => {
    for (let i = 0; i < OBJECT_KEYS; i++) sink[0] ^= jsObjects.objFind(mem, lo[i]!, 0);
  }, quick, allFound));
  rows.push(pair("object find (miss)", "ops/s", OBJECT_KEYS, () => {
    for (let i = 0; i < OBJECT_KEYS; i++) sink[0] ^= oFind(missLo[i]!, 0);
  }, () => {
    for (let i = 0; i < OBJECT_KEYS; i++) sink[0] ^= jsObjects.objFind(mem, missLo[i]!, 0);
  }, quick, allFound));
  // A seal succeeds once per pending object (first sealer wins), so each seal is paired with the driver's reopen.
  const oReopen = x.objReopen;
  rows.push(pair("object seal+reopen (no waiters)", "pairs/s", OBJECT_KEYS, () => {
    for (let i = 0; i < OBJECT_KEYS; i++) { sink[0] ^= oSeal(entries[i]!, i, 8, 0); oReopen(entries[i]!); }
  }, () => {
    for (let i = 0; i < OBJECT_KEYS; i++) { sink[0] ^= jsObjects.objSeal(mem, entries[i]!, i, 8, 0); jsObjects.objReopen(mem, entries[i]!); }
  }, quick, () => {
    assertEq(x.objState(entries[7]!), L.OBJ_PENDING, "reopened");
    assertEq(x.objSeal(entries[7]!, 7, 8, 0), 0, "a reopened object seals");
    assertEq(x.objLocation(entries[7]!), 7, "sealed location");
    x.objReopen(entries[7]!);
  }));
  for (let i = 0; i < OBJECT_KEYS; i++) oRemove(entries[i]!);
  tableEmpty();

  // 3. The engine's path for a one-argument task: insert its argument, arm, seal (releases it), pop, remove.
  const slotDeps = p.scratch;                              // one dependency address per slot
  for (let s = 0; s < CYCLE_BATCH; s++) {
    mem[(p.taskTable + s * L.TASK_BYTES + L.TASK_TARGET) >> 2] = L.TARGET_READY;
    mem[(p.taskTable + s * L.TASK_BYTES + L.TASK_EDGES) >> 2] = x.arenaAlloc(L.EDGE_BYTES);
  }
  const tArm = x.taskArm;
  const readyPop = x.readyPop;
  const readyQueue = p.readyQueue;
  rows.push(pair("task cycle: insert, arm on it, seal, pop, remove", "cycles/s", CYCLE_BATCH, () => {
    for (let s = 0; s < CYCLE_BATCH; s++) {
      const e = oInsert(lo[s]!, 0);
      mem[(slotDeps >> 2) + s] = e;
      tArm(s, slotDeps + s * 4, 1);
      oSeal(e, s, 8, 0);
      sink[0] ^= readyPop();
      oRemove(e);
    }
  }, () => {
    for (let s = 0; s < CYCLE_BATCH; s++) {
      const e = jsObjects.objInsert(mem, lo[s]!, 0);
      mem[(slotDeps >> 2) + s] = e;
      jsTasks.taskArm(mem, s, slotDeps + s * 4, 1);
      jsObjects.objSeal(mem, e, s, 8, 0);
      sink[0] ^= jsQueue.queuePop(mem, readyQueue);
      jsObjects.objRemove(mem, e);
    }
  }, quick, () => { assertEq(x.queueLength(readyQueue), 0, "ready queue drained"); tableEmpty(); }));

  // 4. Arena: 64 blocks of mixed sizes (8 B – 2 KiB, mostly small), freed in reverse.
  const sizes = Int32Array.from({ length: ARENA_BATCH }, (_, i) => 8 + ((Math.imul(i, 0x9e3779b1) >>> 0) % (i % 4 === 0 ? 2040 : 120)));
  const ptrs = new Int32Array(ARENA_BATCH);
  const aAlloc = x.arenaAlloc;
  const aFree = x.arenaFree;
  const usedBefore = x.arenaUsed();
  rows.push(pair("arena alloc+free (64 mixed sizes)", "pairs/s", ARENA_BATCH, () => {
    for (let i = 0; i < ARENA_BATCH; i++) ptrs[i] = aAlloc(sizes[i]!);
    for (let i = ARENA_BATCH - 1; i >= 0; i--) aFree(ptrs[i]!);
  }, () => {
    for (let i = 0; i < ARENA_BATCH; i++) ptrs[i] = jsArena.arenaAlloc(views, sizes[i]!);
    for (let i = ARENA_BATCH - 1; i >= 0; i--) jsArena.arenaFree(views, ptrs[i]!);
  }, quick, () => assertEq(x.arenaUsed(), usedBefore, "arena back to its used bytes")));

  if (sink[0] === 0x7fffffff) console.log(sink[0]); // keeps the sink observable
  return rows;
}

// ---- cross-thread: the main thread produces, 1–2 worker threads consume; count and sum checked exactly ----

function spawnConsumer(handle: CoreHandle, control: number): Promise<Worker> {
  const entry = new URL("./queue-consumer.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  // tsx does not reach worker threads on Node 20: register it inside the thread, then load the entry.
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  const w = new Worker(code, { eval: true, workerData: { handle, control } });
  return new Promise((resolve, reject) => {
    w.once("message", () => resolve(w));
    w.once("error", reject);
  });
}

function nextReport(w: Worker): Promise<ConsumerReport> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    w.once("error", onError);
    w.once("message", (m: ConsumerReport) => { w.off("error", onError); resolve(m); });
  });
}

/** One round: `consumers` workers pop while the main thread pushes 0..n-1; returns values per second. */
async function crossThreadRound(core: Core, workers: Worker[], consumers: number, variant: "wasm" | "ts", n: number, control: number): Promise<number> {
  const mem = core.i32;
  const q = core.plan.readyQueue;
  const w = controlWords(control);
  wasmOps(core.exports).queueInit(q, QUEUE_CAPACITY);
  for (const word of Object.values(w)) Atomics.store(mem, word, 0);
  const reports = workers.slice(0, consumers).map((wk) => nextReport(wk));
  for (const wk of workers.slice(0, consumers)) wk.postMessage({ kind: "consume", variant, queue: q } satisfies ConsumerJob);
  for (let s; (s = Atomics.load(mem, w.STARTED)) < consumers;) Atomics.wait(mem, w.STARTED, s, 100);

  const push = core.exports.queuePush;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (variant === "wasm") {
      while (!push(q, i)) if (Atomics.load(mem, w.IDLE) > 0) Atomics.notify(mem, w.SEQ);
    } else {
      while (!jsQueue.queuePush(mem, q, i)) if (Atomics.load(mem, w.IDLE) > 0) Atomics.notify(mem, w.SEQ);
    }
    if ((i & (PRODUCER_BATCH - 1)) === PRODUCER_BATCH - 1) {
      Atomics.add(mem, w.SEQ, 1);
      if (Atomics.load(mem, w.IDLE) > 0) Atomics.notify(mem, w.SEQ);
    }
  }
  Atomics.store(mem, w.DONE, 1);
  Atomics.add(mem, w.SEQ, 1);
  Atomics.notify(mem, w.SEQ);
  for (let f; (f = Atomics.load(mem, w.FINISHED)) < consumers;) Atomics.wait(mem, w.FINISHED, f, 100);
  const seconds = (performance.now() - t0) / 1e3;

  const got = await Promise.all(reports);
  assertEq(got.reduce((a, r) => a + r.count, 0), n, `${variant} K=${consumers}: values received`);
  assertEq(got.reduce((a, r) => a + r.sum, 0), (n * (n - 1)) / 2, `${variant} K=${consumers}: sum of values`);
  return n / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

async function crossThread(core: Core, handle: CoreHandle, n: number, runs: number): Promise<MicroRow[]> {
  const control = core.plan.scratch + 64 * 1024; // clear of the single-thread benchmark's dependency slots
  const workers = await Promise.all([spawnConsumer(handle, control), spawnConsumer(handle, control)]);
  const rows: MicroRow[] = [];
  try {
    for (const consumers of [1, 2]) {
      const wasm: number[] = [];
      const ts: number[] = [];
      await crossThreadRound(core, workers, consumers, "wasm", Math.min(n, 50_000), control); // warm-up
      await crossThreadRound(core, workers, consumers, "ts", Math.min(n, 50_000), control);
      for (let r = 0; r < runs; r++) {
        wasm.push(await crossThreadRound(core, workers, consumers, "wasm", n, control));
        ts.push(await crossThreadRound(core, workers, consumers, "ts", n, control));
      }
      const row: MicroRow = {
        case: `queue cross-thread: 1 producer, ${consumers} consumer${consumers > 1 ? "s" : ""} (${n} values, spin-then-park)`,
        unit: "values/s", loom: median(wasm), ratio: median(wasm) / median(ts), ratioLabel: "wasm/ts",
        extra: { ts: median(ts), runs: `wasm ${wasm.map((v) => fmt(v)).join(" ")}; ts ${ts.map((v) => fmt(v)).join(" ")}` },
      };
      printRow(row);
      rows.push(row);
    }
  } finally {
    for (const wk of workers) wk.postMessage({ kind: "exit" } satisfies ConsumerJob);
    await Promise.all(workers.map((wk) => new Promise((r) => wk.once("exit", r))));
  }
  return rows;
}

// ---- output ----

function fmt(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(1);
}

let quiet = false;
let printHeader = true;
function printRow(r: MicroRow): void {
  if (!quiet) {
    if (printHeader) console.log(`${"case".padEnd(66)} ${"wasm".padStart(10)} ${"ts".padStart(10)} ${"wasm/ts".padStart(8)}  unit, ±rme`);
    printHeader = false;
    const rme = r.extra.wasmRme !== undefined ? `, ±${r.extra.wasmRme}% / ±${r.extra.tsRme}%` : `, median (${r.extra.runs})`;
    console.log(`${r.case.padEnd(66)} ${fmt(r.loom).padStart(10)} ${fmt(r.extra.ts).padStart(10)} ${r.ratio.toFixed(2).padStart(7)}x  ${r.unit}${rme}`);
  }
}
/** Runs every case; prints a table unless `print` is false. */
export async function run({ quick, print = true }: { quick: boolean; print?: boolean }): Promise<MicroResult> {
  quiet = !print;
  printHeader = true;
  const system = systemInfo();
  if (print) console.log(`core-vs-js${quick ? " (quick)" : ""}: ${Object.entries(system).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  const { core, handle } = Core.create({ taskSlots: QUEUE_CAPACITY, objectCapacity: OBJECT_CAPACITY, arenaBytes: 16 << 20 });
  const n = quick ? 300_000 : 2_000_000;
  const runs = quick ? 1 : 3;
  const rows = [...singleThread(core, quick), ...await crossThread(core, handle, n, runs)];
  return {
    name: "core-vs-js",
    title: "WebAssembly core vs the same algorithms in TypeScript, over one SharedArrayBuffer",
    quick, system,
    params: { queueCapacity: QUEUE_CAPACITY, objectCapacity: OBJECT_CAPACITY, objectKeys: OBJECT_KEYS, crossThreadValues: n, crossThreadRuns: runs },
    rows,
    notes: [
      "Single-thread rows: benchmark.js means; wasm and TS alternate on the same memory (3 rounds in full mode); the ratio is the median of the per-round ratios; ± is the median relative margin of error.",
      "Cross-thread rows: median of the runs; consumers spin 2000 empty pops, then park on Atomics.wait (1 ms cap); the producer wakes them once per 256 pushes.",
      "The TS arena needs a BigInt64Array CAS for its 64-bit tagged free-list heads.",
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const result = await run({ quick: args.includes("--quick") });
  if (args.includes("--json")) console.log(JSON.stringify(result, null, 2));
}
