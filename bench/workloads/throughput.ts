// Overheads, Loom vs piscina in the same run: trivial task throughput (all submitted at once),
// task and actor-call round trips (benchmark.js ops/s + p50/p99 of a sequential loop), pipelined
// actor calls, and the object store: put/get of a small object and of an 8 MB Float64Array.
// piscina's strongest form is picked per case: with concurrentTasksPerWorker 16 as well as the
// default for tasks in bulk, an array in a SharedArrayBuffer as well as a cloned one for a task
// that reads 8 MiB. Every answer is checked, on both sides.

import type { Piscina } from "piscina";
import { Worker } from "node:worker_threads";
import { benchJs, collect, latencies, percentile, progress, statsOf, timeOnce } from "../lib/measure.js";
import { makePool, warmPool, workerCount } from "../lib/pools.js";
import { guard, startLoom, warmLoom, type ModuleWrappers, type Runtime } from "../lib/loom.js";
import { peerRows, wrongAnswer } from "../lib/comparison.js";
import { ratioOf, type BenchResult, type BenchRow, type RunOptions } from "../lib/types.js";
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
/** piscina's bulk-task tuning: several tasks queued in each worker, so a result need not come back before the next is posted. */
const TUNED_CTPW = 16;

/** `inc(1)` must give 2. */
function expectTwo(who: string): (v: unknown) => void {
  return (v) => {
    if (v !== 2) throw wrongAnswer(`${who}: inc(1) gave ${String(v)}`);
  };
}

/** A counter's calls (by 1), one at a time: each must answer one more than the call before. */
interface CounterCheck {
  (v: unknown): void;
  /**
   * A batch of calls in flight at once: together they must answer the next `answers.length` counts, each once.
   * Returns how many calls answered lower than the call made just before them: 0 when every call ran in order.
   */
  batch(answers: readonly number[]): number;
}

function counterCheck(who: string): CounterCheck {
  let last: number | null = null;
  const one = (v: unknown) => {
    if (typeof v !== "number" || (last !== null && v !== last + 1)) throw wrongAnswer(`${who}: counter answered ${String(v)} after ${last}`);
    last = v;
  };
  const batch = (answers: readonly number[]) => {
    const sorted = [...answers].sort((a, b) => a - b);
    sorted.forEach(one);
    return answers.reduce((n, v, i) => n + (i > 0 && v < answers[i - 1]! ? 1 : 0), 0);
  };
  return Object.assign(one, { batch });
}

function bigArray(): Float64Array {
  const a = new Float64Array(BIG_ELEMENTS);
  for (let i = 0; i < a.length; i++) a[i] = i % 1000;
  return a;
}

interface Side {
  tasksPerSec: number[];
  /** piscina only: the same burst with concurrentTasksPerWorker 16. */
  tunedTasksPerSec?: number[];
  rttHz: number;
  rtt: number[];
  actorRttHz: number;
  actorRtt: number[];
  actorPerSec: number[];
  /** piscina only: pipelined calls to a single-thread pool with concurrentTasksPerWorker 16. */
  tunedActorPerSec?: number[];
  bigTaskMs: number[];
  /** piscina only: the task reads the array from a SharedArrayBuffer instead of a clone. */
  sharedBigTaskMs?: number[];
  /** piscina only: the most order breaks (a call answered lower than the one before it) in one repetition of pipelined calls. */
  reordered?: { plain: number; tuned: number };
}

/** `n` trivial tasks (`inc(i)`) submitted to piscina at once, then awaited; checks the last answer. */
export async function piscinaBurst(pool: Piscina, n: number): Promise<void> {
  const out = await Promise.all(Array.from({ length: n }, (_, i) => pool.run(i) as Promise<number>));
  for (let i = 0; i < n; i++) if (out[i] !== i + 1) throw wrongAnswer(`piscina: inc(${i}) gave ${out[i]}`);
}

/** `n` trivial tasks (`inc.remote(i)`) submitted to Loom at once, then one `get` of them all; checks the last answer. */
export async function loomBurst(rt: Runtime, m: ModuleWrappers<typeof TrivialModule>, n: number): Promise<void> {
  const refs = new Array<ReturnType<typeof m.inc.remote>>(n);
  for (let i = 0; i < n; i++) refs[i] = m.inc.remote(i);
  const vals = await rt.get(refs);
  for (let i = 0; i < n; i++) if (vals[i] !== i + 1) throw wrongAnswer(`loom: inc(${i}) gave ${vals[i]}`);
}

/** Median of a throughput series. */
const med = (xs: number[] | undefined) => (xs && xs.length ? statsOf(xs).median : null);

async function piscinaSide(p: Params, big: Float64Array, bigSum: number): Promise<Side> {
  const pool = await makePool(POOL_MODULE);
  const tuned = await makePool(POOL_MODULE, { concurrentTasksPerWorker: TUNED_CTPW });
  const single = await makePool(POOL_MODULE, { threads: 1 });
  const singleTuned = await makePool(POOL_MODULE, { threads: 1, concurrentTasksPerWorker: TUNED_CTPW });
  const pools = [pool, tuned, single, singleTuned];
  try {
    for (const pp of pools) await warmPool(pp, "ping", null);
    const tasksPerSec: number[] = [];
    const tunedTasksPerSec: number[] = [];
    for (let r = 0; r < p.taskReps; r++) {
      for (const [label, pp, out] of [["default", pool, tasksPerSec], [`ctpw ${TUNED_CTPW}`, tuned, tunedTasksPerSec]] as const) {
        await collect();
        const s = await timeOnce(() => piscinaBurst(pp, p.tasks));
        out.push(p.tasks / s);
        progress(`piscina (${label}): ${p.tasks} tasks at once → ${(p.tasks / s).toFixed(0)}/s`);
      }
    }
    const two = expectTwo("piscina round trip");
    const rttHz = (await benchJs("piscina task round trip", () => pool.run(1).then(two), p.benchMaxTime)).hz;
    const rtt = await latencies(() => pool.run(1).then(two), p.latencyCalls, p.latencyWarmup);
    const pinned = counterCheck("piscina pinned pool");
    const call = (pp: Piscina) => pp.run(1, { name: "incPinned" }) as Promise<number>;
    const actorRttHz = (await benchJs("piscina pinned-pool call round trip", () => call(single).then(pinned), p.benchMaxTime)).hz;
    const actorRtt = await latencies(() => call(single).then(pinned), p.latencyCalls, p.latencyWarmup);
    const actorPerSec: number[] = [];
    const tunedActorPerSec: number[] = [];
    const reordered = { plain: 0, tuned: 0 };
    const pinnedTuned = counterCheck("piscina pinned pool, ctpw 16");
    for (let r = 0; r < p.taskReps; r++) {
      for (const [pp, out, check, key] of [[single, actorPerSec, pinned, "plain"], [singleTuned, tunedActorPerSec, pinnedTuned, "tuned"]] as const) {
        let answers: number[] = [];
        const s = await timeOnce(async () => {
          answers = await Promise.all(Array.from({ length: p.actorCalls }, () => call(pp)));
        });
        reordered[key] = Math.max(reordered[key], check.batch(answers));
        out.push(p.actorCalls / s);
      }
    }
    const shared = new Float64Array(new SharedArrayBuffer(big.byteLength));
    shared.set(big);
    const bigTaskMs: number[] = [];
    const sharedBigTaskMs: number[] = [];
    for (let r = 0; r < p.bigReps; r++) {
      for (const [arg, out] of [[big, bigTaskMs], [shared, sharedBigTaskMs]] as const) {
        let got: unknown;
        out.push(1e3 * (await timeOnce(async () => (got = await pool.run(arg, { name: "sum" })))));
        if (got !== bigSum) throw wrongAnswer(`piscina sum of 8 MiB: ${String(got)}, expected ${bigSum}`);
      }
    }
    return { tasksPerSec, tunedTasksPerSec, rttHz, rtt, actorRttHz, actorRtt, actorPerSec, tunedActorPerSec, bigTaskMs, sharedBigTaskMs, reordered };
  } finally {
    await Promise.all(pools.map((pp) => pp.destroy()));
  }
}

/**
 * Sequential calls to a worker a user starts and talks to directly: one `worker_threads` Worker answering
 * `inc` over postMessage, no pool, no queue. The floor a competent user reaches for one call at a time.
 */
async function rawWorkerSide(p: Params): Promise<{ rttHz: number; rtt: number[] }> {
  const worker = new Worker(`require("node:worker_threads").parentPort.on("message", (x) => require("node:worker_threads").parentPort.postMessage(x + 1));`, { eval: true });
  let pending: ((v: number) => void) | null = null;
  worker.on("message", (v: number) => {
    const resolve = pending;
    pending = null;
    resolve?.(v);
  });
  const call = (x: number) =>
    new Promise<number>((resolve) => {
      pending = resolve;
      worker.postMessage(x);
    });
  try {
    const two = expectTwo("worker_threads round trip");
    for (let i = 0; i < p.latencyWarmup; i++) two(await call(1));
    const rttHz = (await benchJs("worker_threads postMessage round trip", () => call(1).then(two), p.benchMaxTime)).hz;
    const rtt = await latencies(() => call(1).then(two), p.latencyCalls, p.latencyWarmup);
    return { rttHz, rtt };
  } finally {
    await worker.terminate();
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
async function loomSide(first: LoomSession, p: Params, big: Float64Array, bigSum: number, out: Partial<Side & LoomExtras>, errors: string[]): Promise<LoomSession | null> {
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
    const two = expectTwo("loom round trip");
    out.rttHz = (await benchJs("loom task round trip", () => rt.get(m.inc.remote(1)).then(two), p.benchMaxTime)).hz;
    out.rtt = await latencies(() => rt.get(m.inc.remote(1)).then(two), p.latencyCalls, p.latencyWarmup);
  });
  await section("actor calls", p.actorCalls / 2000 + 30, async (rt, m) => {
    const c = m.Counter.remote(0);
    const counted = counterCheck("loom actor");
    counted(await rt.get(c.inc.remote(1)));
    out.actorRttHz = (await benchJs("loom actor call round trip", () => rt.get(c.inc.remote(1)).then(counted), p.benchMaxTime)).hz;
    out.actorRtt = await latencies(() => rt.get(c.inc.remote(1)).then(counted), p.latencyCalls, p.latencyWarmup);
    out.actorPerSec = [];
    for (let r = 0; r < p.taskReps; r++) {
      await collect();
      let answers: number[] = [];
      const s = await timeOnce(async () => {
        const refs = Array.from({ length: p.actorCalls }, () => c.inc.remote(1));
        answers = await rt.get(refs);
      });
      const outOfOrder = counted.batch(answers);
      if (outOfOrder) throw wrongAnswer(`loom actor: ${outOfOrder} of ${p.actorCalls} pipelined calls ran before the call made ahead of them (an actor runs one caller's calls in order)`);
      out.actorPerSec.push(p.actorCalls / s);
    }
    rt.kill(c);
  });
  await section("put/get small", short, async (rt) => {
    await collect();
    const same = (v: typeof SMALL) => {
      if (v.id !== SMALL.id || v.name !== SMALL.name || v.tags[1] !== "b" || v.at !== SMALL.at) throw wrongAnswer(`loom get of the small object gave ${JSON.stringify(v)}`);
    };
    out.smallPutGetHz = (await benchJs("loom put+get small object", () => rt.get(rt.put(SMALL)).then(same), p.benchMaxTime)).hz;
    const smallRef = rt.put(SMALL);
    out.smallGetHz = (await benchJs("loom get small object (stored)", () => rt.get(smallRef).then(same), p.benchMaxTime)).hz;
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
    const summed = (got: number) => {
      if (got !== bigSum) throw wrongAnswer(`loom sum of 8 MiB: ${got}, expected ${bigSum}`);
    };
    out.bigTaskMs = [];
    for (let r = 0; r < p.bigReps; r++) out.bigTaskMs.push(1e3 * (await timeOnce(async () => summed(await rt.get(m.sum.remote(stored))))));
    out.bigTaskInlineMs = [];
    for (let r = 0; r < p.bigReps; r++) out.bigTaskInlineMs.push(1e3 * (await timeOnce(async () => summed(await rt.get(m.sum.remote(big))))));
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
  let bigSum = 0;
  for (let i = 0; i < big.length; i++) bigSum += big[i]!;
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

  const pis = await piscinaSide(p, big, bigSum);
  const raw = await rawWorkerSide(p);

  const lo: Partial<Side & LoomExtras> = {};
  const errors: string[] = [];
  let skipped: string | undefined;
  const first = await openSession();
  if (typeof first === "string") skipped = first;
  else {
    let last: LoomSession | null = first;
    try {
      last = await loomSide(first, p, big, bigSum, lo, errors);
    } finally {
      await last?.rt.shutdown();
    }
  }
  if (errors.length) notes.push(`Loom sections that failed: ${errors.join("; ")}`);

  const gbps = (ms: number | null) => (ms === null ? null : BIG_ELEMENTS * 8 / 1e9 / (ms / 1e3));
  const p50 = (xs: number[] | undefined) => (xs ? percentile(xs, 50) : null);
  const p99 = (xs: number[] | undefined) => (xs ? percentile(xs, 99) : null);

  const rows: BenchRow[] = [
    ...peerRows({
      case: `trivial tasks, ${p.tasks.toLocaleString("en-US")} submitted at once`,
      unit: "ops/s",
      loom: med(lo?.tasksPerSec),
      variants: [
        { peer: "piscina", variant: `concurrentTasksPerWorker ${TUNED_CTPW}`, value: med(pis.tunedTasksPerSec) },
        { peer: "piscina", variant: "defaults", value: med(pis.tasksPerSec) },
      ],
      targets: { piscina: { op: ">=", value: 10, text: "≥ 10× piscina" } },
      extra: { rayReference: 8721 },
      throughputChart: true,
    }),
    ...peerRows({
      case: "task round trip (sequential), p50",
      unit: "µs",
      loom: p50(lo?.rtt),
      variants: [
        { peer: "piscina", variant: "defaults", value: p50(pis.rtt) },
        { peer: "worker_threads", variant: "one worker, postMessage each way", value: p50(raw.rtt) },
      ],
      targets: { piscina: { op: ">=", value: 5, text: "p50 ≤ 1/5 of piscina's" } },
      extra: { loomP99: p99(lo?.rtt), piscinaP99: p99(pis.rtt), workerThreadsP99: p99(raw.rtt), rayReferenceUs: 1020 },
    }),
    ...peerRows({
      case: "task round trips/s (benchmark.js)",
      unit: "ops/s",
      loom: lo?.rttHz ?? null,
      variants: [
        { peer: "piscina", variant: "defaults", value: pis.rttHz },
        { peer: "worker_threads", variant: "one worker, postMessage each way", value: raw.rttHz },
      ],
      extra: { rayReference: 981 },
      throughputChart: true,
    }),
    ...peerRows({
      case: "actor call round trip (sync 1:1), p50",
      unit: "µs",
      loom: p50(lo?.actorRtt),
      variants: [{ peer: "piscina", variant: "a maxThreads:1 pool with module state", value: p50(pis.actorRtt) }],
      extra: { loomP99: p99(lo?.actorRtt), piscinaP99: p99(pis.actorRtt), rayReferenceUs: 460 },
    }),
    ...peerRows({
      case: "actor calls/s, sync 1:1 (benchmark.js)",
      unit: "ops/s",
      loom: lo?.actorRttHz ?? null,
      variants: [{ peer: "piscina", variant: "a maxThreads:1 pool with module state", value: pis.actorRttHz }],
      extra: { rayReference: 2177 },
      throughputChart: true,
    }),
    ...peerRows({
      case: `actor calls/s, ${p.actorCalls.toLocaleString("en-US")} pipelined`,
      unit: "ops/s",
      loom: med(lo?.actorPerSec),
      variants: [
        { peer: "piscina", variant: `a maxThreads:1 pool, concurrentTasksPerWorker ${TUNED_CTPW}`, value: med(pis.tunedActorPerSec) },
        { peer: "piscina", variant: "a maxThreads:1 pool with module state", value: med(pis.actorPerSec) },
      ],
      extra: { rayReference: 8803, piscinaOrderBreaks: pis.reordered?.plain ?? null, piscinaTunedOrderBreaks: pis.reordered?.tuned ?? null },
      note: "every call counted once on both sides; piscina*OrderBreaks: pipelined calls that ran before the call made ahead of them (piscina does not promise order; Loom's actors do, and are checked for it)",
      throughputChart: true,
    }),
    ...peerRows({
      case: "put+get small object (benchmark.js)",
      unit: "ops/s",
      loom: lo?.smallPutGetHz ?? null,
      variants: [{ peer: "serial", variant: "structuredClone", value: cloneSmallHz }],
      extra: { loomGetOnlyHz: lo?.smallGetHz ?? null, rayReferenceGet: 10620, rayReferencePut: 5173 },
    }),
    ...peerRows({
      case: "put 8 MiB Float64Array",
      unit: "GB/s",
      loom: gbps(med(lo?.bigPutMs)),
      variants: [{ peer: "memcpy", variant: "TypedArray.set into a preallocated array", value: gbps(med(copies.opMs)) }],
      targets: { memcpy: { op: ">=", value: 0.8, text: "≥ 0.8× memcpy" } },
      extra: {
        loomPutMs: med(lo?.bigPutMs), serialSetMs: med(copies.opMs), serialSetRotatingMs: med(rotated.opMs), serialSliceMs: med(slices.opMs),
        loomTightPutMs: med(lo?.bigPutTightMs),
        loomSustainedMs: lo?.bigPutSustainedMs ?? null, serialSetSustainedMs: copies.sustainedMs, serialSliceSustainedMs: slices.sustainedMs,
      },
      note: "median of one put against TypedArray.set into a preallocated array (a plain memcpy); each loop: an event-loop turn after every copy, 40 untimed copies first; *Sustained: the timed loop's wall time per copy, turns and collections included; serialSetRotating: set into 32 arrays in turn (out of cache, as a recycled segment is); serialSlice: a copy into fresh memory; loomTightPutMs: puts back to back, each into a fresh segment",
    }),
    {
      case: "get 8 MiB Float64Array (stored) vs structuredClone",
      unit: "µs",
      loom: med(lo?.bigGetUs),
      serial: med(cloneBigUs),
      vs: "context",
      peer: "serial, structuredClone of the array",
      peerValue: med(cloneBigUs),
      ratio: ratioOf(med(cloneBigUs), med(lo?.bigGetUs)),
      ratioLabel: "serial/loom",
      note: "for scale only: code without Loom holds the array and has nothing to get",
    },
    {
      case: "get 72 MB array vs get 1 KB array (stored)",
      unit: "µs",
      loom: med(lo?.hugeGetUs),
      vs: "loom",
      peer: "loom, get of a 1 KB array",
      peerValue: med(lo?.tinyGetUs),
      ratio: ratioOf(med(lo?.hugeGetUs), med(lo?.tinyGetUs)),
      ratioLabel: "loom 72 MB/loom 1 KB",
      target: { on: "ratio", op: "<=", value: 2, text: "≤ 2× (size-independent)" },
      extra: { tinyGetUs: med(lo?.tinyGetUs) },
      note: "both are views on shared memory: no copy, no parse",
    },
    ...peerRows({
      case: "task reading an 8 MiB array (put once)",
      unit: "ms",
      loom: med(lo?.bigTaskMs),
      variants: [
        { peer: "piscina", variant: "the array in a SharedArrayBuffer", value: med(pis.sharedBigTaskMs) },
        { peer: "piscina", variant: "the array cloned into every call", value: med(pis.bigTaskMs) },
      ],
      extra: { loomInlineArgMs: med(lo?.bigTaskInlineMs) },
      note: "loomInlineArgMs passes the array itself instead of a ref",
    }),
  ];
  rows[0]!.headline = true;
  notes.push("Ray reference numbers (extra.rayReference*) are from ray_perf on an m5.16xlarge, shown only for scale");
  return { name: "throughput", title: "Throughput, round trip, put/get", quick, params: { ...p }, rows, notes, ...(skipped ? { skipped } : {}) };
}
