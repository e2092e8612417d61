// Overheads, Loom vs piscina in the same run: trivial task throughput (all submitted at once),
// task and actor-call round trips (benchmark.js ops/s + p50/p99 of a sequential loop), pipelined
// actor calls, and the object store: put/get of a small object and of an 8 MB Float64Array.

import type { Piscina } from "piscina";
import { benchJs, collect, latencies, percentile, progress, statsOf, timeOnce } from "../lib/measure.js";
import { makePool, warmPool, workerCount } from "../lib/pools.js";
import { guard, startLoom, warmLoom, type ModuleWrappers, type Runtime } from "../lib/loom.js";
import { evaluateTarget, ratioOf, type BenchResult, type BenchRow, type RunOptions } from "../lib/types.js";
import type * as TrivialModule from "./modules/trivial-task.js";

export const TASK_MODULE = new URL("./modules/trivial-task.ts", import.meta.url);
export const POOL_MODULE = new URL("./modules/trivial-pool.ts", import.meta.url);
const BIG_ELEMENTS = (8 * 2 ** 20) / 8; // 8 MiB of float64
const HUGE_ELEMENTS = 9_000_000; // 72 MB, the size-independence check

interface Params {
  tasks: number;
  taskReps: number;
  actorCalls: number;
  latencyCalls: number;
  latencyWarmup: number;
  benchMaxTime: number;
  bigReps: number;
  /** Untimed puts (and copies) before the timed ones: the engine frees dropped objects after its first collection. */
  bigWarmup: number;
  /** Timed puts (and copies) of 8 MiB: enough to span a few of the collections that let segments be reused. */
  putReps: number;
}

function params(quick: boolean): Params {
  return quick
    ? { tasks: 20_000, taskReps: 1, actorCalls: 5_000, latencyCalls: 1_000, latencyWarmup: 200, benchMaxTime: 0.5, bigReps: 5, bigWarmup: 40, putReps: 32 }
    : { tasks: 200_000, taskReps: 3, actorCalls: 50_000, latencyCalls: 5_000, latencyWarmup: 500, benchMaxTime: 2, bigReps: 20, bigWarmup: 40, putReps: 96 };
}

const SMALL = { id: 42, name: "small object", tags: ["a", "b"], at: 1.5 };

function bigArray(): Float64Array {
  const a = new Float64Array(BIG_ELEMENTS);
  for (let i = 0; i < a.length; i++) a[i] = i % 1000;
  return a;
}

interface Side {
  tasksPerSec: number[];
  rttHz: number;
  rtt: number[];
  actorRttHz: number;
  actorRtt: number[];
  actorPerSec: number[];
  bigTaskMs: number[];
}

/** `n` trivial tasks (`inc(i)`) submitted to piscina at once, then awaited; checks the last answer. */
export async function piscinaBurst(pool: Piscina, n: number): Promise<void> {
  const out = await Promise.all(Array.from({ length: n }, (_, i) => pool.run(i) as Promise<number>));
  if (out[n - 1] !== n) throw new Error("piscina: wrong result");
}

/** `n` trivial tasks (`inc.remote(i)`) submitted to Loom at once, then one `get` of them all; checks the last answer. */
export async function loomBurst(rt: Runtime, m: ModuleWrappers<typeof TrivialModule>, n: number): Promise<void> {
  const refs = new Array<ReturnType<typeof m.inc.remote>>(n);
  for (let i = 0; i < n; i++) refs[i] = m.inc.remote(i);
  const vals = await rt.get(refs);
  if (vals[n - 1] !== n) throw new Error("loom: wrong result");
}

/** Median of a throughput series. */
const med = (xs: number[] | undefined) => (xs && xs.length ? statsOf(xs).median : null);

async function piscinaSide(p: Params, big: Float64Array): Promise<Side> {
  const pool = await makePool(POOL_MODULE);
  const single = await makePool(POOL_MODULE, { threads: 1 });
  try {
    await warmPool(pool, "ping", null);
    await warmPool(single, "ping", null);
    const tasksPerSec: number[] = [];
    for (let r = 0; r < p.taskReps; r++) {
      await collect();
      const s = await timeOnce(() => piscinaBurst(pool, p.tasks));
      tasksPerSec.push(p.tasks / s);
      progress(`piscina: ${p.tasks} tasks at once → ${(p.tasks / s).toFixed(0)}/s`);
    }
    const rttHz = (await benchJs("piscina task round trip", () => pool.run(1), p.benchMaxTime)).hz;
    const rtt = await latencies(() => pool.run(1), p.latencyCalls, p.latencyWarmup);
    const actorRttHz = (await benchJs("piscina pinned-pool call round trip", () => single.run(1, { name: "incPinned" }), p.benchMaxTime)).hz;
    const actorRtt = await latencies(() => single.run(1, { name: "incPinned" }), p.latencyCalls, p.latencyWarmup);
    const actorPerSec: number[] = [];
    for (let r = 0; r < p.taskReps; r++) {
      const s = await timeOnce(() => Promise.all(Array.from({ length: p.actorCalls }, () => single.run(1, { name: "incPinned" }))));
      actorPerSec.push(p.actorCalls / s);
    }
    const bigTaskMs: number[] = [];
    for (let r = 0; r < p.bigReps; r++) bigTaskMs.push(1e3 * (await timeOnce(() => pool.run(big, { name: "sum" }))));
    return { tasksPerSec, rttHz, rtt, actorRttHz, actorRtt, actorPerSec, bigTaskMs };
  } finally {
    await Promise.all([pool.destroy(), single.destroy()]);
  }
}

interface LoomExtras {
  smallPutGetHz: number;
  smallGetHz: number;
  bigPutMs: number[];
  /** Wall time per put of the timed loop, event-loop turns and the collections they run included. */
  bigPutSustainedMs: number;
  /** Puts back to back with no event-loop turn between them (every one into a fresh segment). */
  bigPutTightMs: number[];
  bigGetUs: number[];
  /** get of a stored 72 MB array and of a stored 1 KB one, alternated (the size-independence check). */
  hugeGetUs: number[];
  tinyGetUs: number[];
  bigTaskInlineMs: number[];
}

interface LoomSession {
  rt: Runtime;
  m: ModuleWrappers<typeof TrivialModule>;
}

async function openSession(): Promise<LoomSession | string> {
  const started = await startLoom();
  if ("skipped" in started) return started.skipped;
  const m = await started.rt.module<typeof TrivialModule>(TASK_MODULE);
  await warmLoom(started.rt, m.warm, workerCount());
  return { rt: started.rt, m };
}

/**
 * The Loom side, section by section into `out`. A section that fails or hangs (see `guard`) is
 * recorded in `errors`; the runtime is then replaced by a fresh one so the later sections still
 * measure something. Returns the session to shut down.
 */
async function loomSide(first: LoomSession, p: Params, big: Float64Array, out: Partial<Side & LoomExtras>, errors: string[]): Promise<LoomSession | null> {
  let session: LoomSession | null = first;
  const short = 10 + p.latencyCalls / 250; // 14 s quick, 30 s full: a round trip section takes ~1–3 s
  const section = async (label: string, limit: number, fn: (rt: Runtime, m: ModuleWrappers<typeof TrivialModule>) => Promise<void>) => {
    if (!session) return;
    const { rt, m } = session;
    try {
      await guard(rt, label, limit, () => fn(rt, m));
    } catch (err) {
      errors.push(`${label}: ${(err as Error).message.split("\n")[0]}`);
      progress(`loom ${label}: FAILED: ${errors[errors.length - 1]}`);
      await rt.shutdown().catch(() => undefined);
      const next = await openSession().catch((e: unknown) => String(e));
      session = typeof next === "string" ? null : next;
    }
  };
  await section("warm-up", 60, async (rt, m) => {
    await warmLoom(rt, m.warm, workerCount());
    await rt.get(Array.from({ length: 64 }, (_, i) => m.inc.remote(i)));
  });
  await section("task throughput", p.tasks / 2000 + 30, async (rt, m) => {
    out.tasksPerSec = [];
    for (let r = 0; r < p.taskReps; r++) {
      await collect();
      const s = await timeOnce(() => loomBurst(rt, m, p.tasks));
      out.tasksPerSec.push(p.tasks / s);
      progress(`loom: ${p.tasks} tasks at once → ${(p.tasks / s).toFixed(0)}/s`);
    }
  });
  await section("task round trip", short, async (rt, m) => {
    await collect();
    out.rttHz = (await benchJs("loom task round trip", () => rt.get(m.inc.remote(1)), p.benchMaxTime)).hz;
    out.rtt = await latencies(() => rt.get(m.inc.remote(1)), p.latencyCalls, p.latencyWarmup);
  });
  await section("actor calls", p.actorCalls / 2000 + 30, async (rt, m) => {
    const c = m.Counter.remote(0);
    await rt.get(c.inc.remote(1));
    out.actorRttHz = (await benchJs("loom actor call round trip", () => rt.get(c.inc.remote(1)), p.benchMaxTime)).hz;
    out.actorRtt = await latencies(() => rt.get(c.inc.remote(1)), p.latencyCalls, p.latencyWarmup);
    out.actorPerSec = [];
    for (let r = 0; r < p.taskReps; r++) {
      await collect();
      const s = await timeOnce(async () => {
        const refs = Array.from({ length: p.actorCalls }, () => c.inc.remote(1));
        await rt.get(refs);
      });
      out.actorPerSec.push(p.actorCalls / s);
    }
    rt.kill(c);
  });
  await section("put/get small", short, async (rt) => {
    await collect();
    out.smallPutGetHz = (await benchJs("loom put+get small object", () => rt.get(rt.put(SMALL)), p.benchMaxTime)).hz;
    const smallRef = rt.put(SMALL);
    out.smallGetHz = (await benchJs("loom get small object (stored)", () => rt.get(smallRef), p.benchMaxTime)).hz;
  });
  await section("put/get 8 MiB", short, async (rt) => {
    await collect();
    out.bigPutMs = [];
    out.bigGetUs = [];
    out.bigPutTightMs = [];
    // Back to back, each put's ref dropped before the next: no event-loop turn, so no ref is finalized and every
    // put writes a fresh segment (page faults and all).
    for (let r = 0; r < p.bigReps; r++) out.bigPutTightMs.push(1e3 * (await timeOnce(() => rt.put(big))));
    await collect();
    // The steady state of a program that turns its event loop between puts, as one that awaits tasks does: the
    // refs it dropped are finalized and their segments reused.
    const puts = await copyLoop(() => rt.put(big), p.bigWarmup, p.putReps);
    out.bigPutMs = puts.opMs;
    out.bigPutSustainedMs = puts.sustainedMs;
    const stored = rt.put(big);
    await rt.get(stored);
    for (let r = 0; r < p.bigReps; r++) out.bigGetUs.push(1e6 * (await timeOnce(() => rt.get(stored))));
    const huge = rt.put(new Float64Array(HUGE_ELEMENTS).fill(1));
    const tiny = rt.put(new Float64Array(128).fill(1));
    await rt.get(huge);
    await rt.get(tiny);
    out.hugeGetUs = [];
    out.tinyGetUs = [];
    for (let r = 0; r < p.bigReps; r++) {
      out.hugeGetUs.push(1e6 * (await timeOnce(() => rt.get(huge))));
      out.tinyGetUs.push(1e6 * (await timeOnce(() => rt.get(tiny))));
    }
  });
  await section("task reading 8 MiB", short, async (rt, m) => {
    const stored = rt.put(big);
    await rt.get(m.sum.remote(stored));
    out.bigTaskMs = [];
    for (let r = 0; r < p.bigReps; r++) out.bigTaskMs.push(1e3 * (await timeOnce(() => rt.get(m.sum.remote(stored)))));
    out.bigTaskInlineMs = [];
    for (let r = 0; r < p.bigReps; r++) out.bigTaskInlineMs.push(1e3 * (await timeOnce(() => rt.get(m.sum.remote(big)))));
  });
  return session;
}

/** An event-loop turn: what a program that awaits anything between puts gives the engine. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs `op` warmup + reps times with a turn after each: the timed reps' own times (ms) and the timed loop's wall
 * time per rep (ms, turns and whatever ran in them included).
 */
async function copyLoop(op: () => unknown, warmup: number, reps: number): Promise<{ opMs: number[]; sustainedMs: number }> {
  const opMs: number[] = [];
  let t0 = performance.now();
  for (let r = 0; r < warmup + reps; r++) {
    if (r === warmup) t0 = performance.now();
    const t = performance.now();
    op();
    if (r >= warmup) opMs.push(performance.now() - t);
    await turn();
  }
  return { opMs, sustainedMs: (performance.now() - t0) / reps };
}

export async function run({ quick }: RunOptions): Promise<BenchResult> {
  const p = params(quick);
  const big = bigArray();
  const notes: string[] = [];

  progress("serial baselines (structuredClone, copy)");
  const cloneSmallHz = (await benchJs("serial structuredClone small object", async () => structuredClone(SMALL), p.benchMaxTime)).hz;
  // The memcpy: TypedArray.set into an array allocated (and its pages touched) once, outside the clock.
  const copyTarget = new Float64Array(big.length);
  const copies = await copyLoop(() => copyTarget.set(big), p.bigWarmup, p.putReps);
  // For context: the same set, into 32 preallocated arrays in turn (a put writes to one of the segments the pool
  // circulates, written 20-30 puts ago, so never in cache; one array stays in cache between copies).
  const rotation = Array.from({ length: 32 }, () => new Float64Array(big.length).fill(0));
  let next = 0;
  const rotated = await copyLoop(() => rotation[next++ % rotation.length]!.set(big), p.bigWarmup, p.putReps);
  rotation.length = 0;
  const slices = await copyLoop(() => big.slice(), p.bigWarmup, p.putReps);
  const cloneBigUs: number[] = [];
  for (let r = 0; r < p.bigReps; r++) cloneBigUs.push(1e6 * (await timeOnce(() => structuredClone(big))));

  const pis = await piscinaSide(p, big);

  const lo: Partial<Side & LoomExtras> = {};
  const errors: string[] = [];
  let skipped: string | undefined;
  const first = await openSession();
  if (typeof first === "string") skipped = first;
  else {
    let last: LoomSession | null = first;
    try {
      last = await loomSide(first, p, big, lo, errors);
    } finally {
      await last?.rt.shutdown();
    }
  }
  if (errors.length) notes.push(`Loom sections that failed: ${errors.join("; ")}`);

  const gbps = (ms: number | null) => (ms === null ? null : BIG_ELEMENTS * 8 / 1e9 / (ms / 1e3));
  const p50 = (xs: number[] | undefined) => (xs ? percentile(xs, 50) : null);
  const p99 = (xs: number[] | undefined) => (xs ? percentile(xs, 99) : null);

  const rows: BenchRow[] = [
    {
      case: `trivial tasks, ${p.tasks.toLocaleString("en-US")} submitted at once`,
      unit: "ops/s",
      loom: med(lo?.tasksPerSec),
      piscina: med(pis.tasksPerSec),
      ratio: ratioOf(med(lo?.tasksPerSec), med(pis.tasksPerSec)),
      ratioLabel: "loom/piscina",
      target: { on: "ratio", op: ">=", value: 10, text: "≥ 10× piscina" },
      extra: { rayReference: 8721 },
      throughputChart: true,
      headline: true,
    },
    {
      case: "task round trip (sequential), p50",
      unit: "µs",
      loom: p50(lo?.rtt),
      piscina: p50(pis.rtt),
      ratio: ratioOf(p50(pis.rtt), p50(lo?.rtt)),
      ratioLabel: "piscina/loom",
      target: { on: "ratio", op: ">=", value: 5, text: "p50 ≤ 1/5 of piscina's" },
      extra: { loomP99: p99(lo?.rtt), piscinaP99: p99(pis.rtt), loomHz: lo?.rttHz ?? null, piscinaHz: pis.rttHz, rayReferenceUs: 1020 },
    },
    {
      case: "task round trips/s (benchmark.js)",
      unit: "ops/s",
      loom: lo?.rttHz ?? null,
      piscina: pis.rttHz,
      ratio: ratioOf(lo?.rttHz, pis.rttHz),
      ratioLabel: "loom/piscina",
      extra: { rayReference: 981 },
      throughputChart: true,
    },
    {
      case: "actor call round trip (sync 1:1), p50",
      unit: "µs",
      loom: p50(lo?.actorRtt),
      piscina: p50(pis.actorRtt),
      ratio: ratioOf(p50(pis.actorRtt), p50(lo?.actorRtt)),
      ratioLabel: "piscina/loom",
      extra: { loomP99: p99(lo?.actorRtt), piscinaP99: p99(pis.actorRtt), rayReferenceUs: 460 },
      note: "piscina: a maxThreads:1 pool with module state",
    },
    {
      case: "actor calls/s, sync 1:1 (benchmark.js)",
      unit: "ops/s",
      loom: lo?.actorRttHz ?? null,
      piscina: pis.actorRttHz,
      ratio: ratioOf(lo?.actorRttHz, pis.actorRttHz),
      ratioLabel: "loom/piscina",
      extra: { rayReference: 2177 },
      throughputChart: true,
    },
    {
      case: `actor calls/s, ${p.actorCalls.toLocaleString("en-US")} pipelined`,
      unit: "ops/s",
      loom: med(lo?.actorPerSec),
      piscina: med(pis.actorPerSec),
      ratio: ratioOf(med(lo?.actorPerSec), med(pis.actorPerSec)),
      ratioLabel: "loom/piscina",
      extra: { rayReference: 8803 },
      throughputChart: true,
    },
    {
      case: "put+get small object (benchmark.js)",
      unit: "ops/s",
      loom: lo?.smallPutGetHz ?? null,
      serial: cloneSmallHz,
      ratio: ratioOf(lo?.smallPutGetHz, cloneSmallHz),
      ratioLabel: "loom/structuredClone",
      extra: { loomGetOnlyHz: lo?.smallGetHz ?? null, rayReferenceGet: 10620, rayReferencePut: 5173 },
    },
    {
      case: "put 8 MiB Float64Array",
      unit: "GB/s",
      loom: gbps(med(lo?.bigPutMs)),
      serial: gbps(med(copies.opMs)),
      ratio: ratioOf(gbps(med(lo?.bigPutMs)), gbps(med(copies.opMs))),
      ratioLabel: "loom/memcpy",
      target: { on: "ratio", op: ">=", value: 0.8, text: "≥ 0.8× memcpy" },
      extra: {
        loomPutMs: med(lo?.bigPutMs), serialSetMs: med(copies.opMs), serialSetRotatingMs: med(rotated.opMs), serialSliceMs: med(slices.opMs),
        loomTightPutMs: med(lo?.bigPutTightMs),
        loomSustainedMs: lo?.bigPutSustainedMs ?? null, serialSetSustainedMs: copies.sustainedMs, serialSliceSustainedMs: slices.sustainedMs,
      },
      note: "median of one put against TypedArray.set into a preallocated array (a plain memcpy); each loop: an event-loop turn after every copy, 40 untimed copies first; *Sustained: the timed loop's wall time per copy, turns and collections included; serialSetRotating: set into 32 arrays in turn (out of cache, as a recycled segment is); serialSlice: a copy into fresh memory; loomTightPutMs: puts back to back, each into a fresh segment",
    },
    {
      case: "get 8 MiB Float64Array (stored)",
      unit: "µs",
      loom: med(lo?.bigGetUs),
      serial: med(cloneBigUs),
      ratio: ratioOf(med(cloneBigUs), med(lo?.bigGetUs)),
      ratioLabel: "structuredClone/loom",
      note: "serial: structuredClone of the array",
    },
    {
      case: "get 72 MB array vs get 1 KB array (stored)",
      unit: "µs",
      loom: med(lo?.hugeGetUs),
      ratio: ratioOf(med(lo?.hugeGetUs), med(lo?.tinyGetUs)),
      ratioLabel: "72 MB/1 KB",
      target: { on: "ratio", op: "<=", value: 2, text: "≤ 2× (size-independent)" },
      extra: { tinyGetUs: med(lo?.tinyGetUs) },
      note: "both are views on shared memory: no copy, no parse",
    },
    {
      case: "task reading an 8 MiB array (put once)",
      unit: "ms",
      loom: med(lo?.bigTaskMs),
      piscina: med(pis.bigTaskMs),
      ratio: ratioOf(med(pis.bigTaskMs), med(lo?.bigTaskMs)),
      ratioLabel: "piscina/loom",
      extra: { loomInlineArgMs: med(lo?.bigTaskInlineMs) },
      note: "piscina clones the array into every call; loomInlineArgMs passes the array itself instead of a ref",
    },
  ];
  notes.push("Ray reference numbers (extra.rayReference*) are from ray_perf on an m5.16xlarge, shown only for scale");
  return { name: "throughput", title: "Throughput, round trip, put/get", quick, params: { ...p }, rows: rows.map(evaluateTarget), notes, ...(skipped ? { skipped } : {}) };
}
