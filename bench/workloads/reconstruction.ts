// Lineage reconstruction (issue 5): a chain of d fixed-cost steps is built, every object of it is
// evicted, and `get` of the last one is timed against d × the step's own round trip measured in
// the same run; then whether an unrelated stream of short tasks keeps flowing while a depth-64
// rebuild runs. Only the public API is used: `rt.faults.evict` and the `object:rebuilt` event.

import os from "node:os";
import { performance } from "node:perf_hooks";
import { collect, progress, statsOf, tick } from "../lib/measure.js";
import { guard, startLoom, warmLoom, type ModuleWrappers, type ObjectRef, type Runtime } from "../lib/loom.js";
import { wrongAnswer } from "../lib/comparison.js";
import { evaluateTarget, ratioOf, type BenchResult, type BenchRow, type RunOptions } from "../lib/types.js";
import type * as ChainModule from "./modules/chain-task.js";

const TASK_MODULE = new URL("./modules/chain-task.ts", import.meta.url);

/** Rebuild time may exceed d × task time by this factor (issue 5). */
const REBUILD_FACTOR = 1.1;
/** The stream during a rebuild must keep at least this share of its throughput alone. */
const NO_STALL_SHARE = 0.5;
const STALL_DEPTH = 64;

interface Params {
  stepMs: number;
  depths: number[];
  /** Rebuilds per depth (a fresh chain each). */
  reps: number;
  /** Task-time samples taken before each rebuild, pooled into one median. */
  taskSamplesPerRep: number;
  streamMs: number;
  /** Stream tasks kept in flight: enough that no worker idles between them. */
  streamInFlight: number;
  stallReps: number;
  workers: number;
}

function params(quick: boolean): Params {
  const workers = os.availableParallelism();
  const common = { depths: [1, 8, STALL_DEPTH], streamInFlight: 2 * workers, workers };
  return quick
    ? { ...common, stepMs: 5, reps: 2, taskSamplesPerRep: 3, streamMs: 1, stallReps: 3 }
    : { ...common, stepMs: 20, reps: 3, taskSamplesPerRep: 3, streamMs: 2, stallReps: 5 };
}

type Chain = ModuleWrappers<typeof ChainModule>;

/** Submits step(0) → step(1) → … (d links) and waits for the last; every ref stays held by the caller. */
async function buildChain(rt: Runtime, m: Chain, d: number, stepMs: number): Promise<{ refs: ObjectRef<number>[]; buildMs: number }> {
  const t0 = performance.now();
  const refs: ObjectRef<number>[] = [m.step.remote(0, stepMs)];
  for (let i = 1; i < d; i++) refs.push(m.step.remote(refs[i - 1]!, stepMs));
  const v = await rt.get(refs[d - 1]!);
  const buildMs = performance.now() - t0;
  if (v !== d) throw wrongAnswer(`chain of ${d}: first build gave ${v}, expected ${d}`);
  return { refs, buildMs };
}

/** Evicts every object of the chain; a sealed object the driver holds must be evictable. */
function evictAll(rt: Runtime, refs: readonly ObjectRef<number>[]): void {
  refs.forEach((r, i) => {
    if (!rt.faults.evict(r)) throw new Error(`evict(${r}) returned false for link ${i + 1} of ${refs.length}, though its chain was read and every ref is held`);
  });
}

/** Counts `object:rebuilt` events for the given objects until `stop()` is called. */
function countRebuilt(rt: Runtime, refs: readonly ObjectRef<number>[]): { stop(): number } {
  const ids = new Set<number>(refs.map((r) => r.id as number));
  let n = 0;
  const on = (payload: { objectId?: unknown }) => {
    if (ids.has(payload.objectId as number)) n++;
  };
  rt.events.on("object:rebuilt", on);
  return {
    stop() {
      rt.events.off("object:rebuilt", on);
      return n;
    },
  };
}

/** After a rebuild, every link must read back as its original value (i + 1), not just the last. */
async function checkChain(rt: Runtime, refs: readonly ObjectRef<number>[], label: string): Promise<void> {
  const vals = await rt.get(refs);
  vals.forEach((v, i) => {
    if (v !== i + 1) throw wrongAnswer(`${label}: link ${i + 1} of ${refs.length} reads ${v} after the rebuild, expected ${i + 1}`);
  });
}

interface Rebuild {
  ms: number;
  rebuiltEvents: number;
}

/** Evicts the whole chain, times `get` of its last object, and checks the values. */
async function rebuild(rt: Runtime, refs: readonly ObjectRef<number>[], label: string): Promise<Rebuild> {
  const d = refs.length;
  const counter = countRebuilt(rt, refs);
  evictAll(rt, refs);
  const t0 = performance.now();
  const v = await rt.get(refs[d - 1]!);
  const ms = performance.now() - t0;
  if (v !== d) throw wrongAnswer(`${label}: the rebuilt last link is ${v}, expected ${d} (the value before eviction)`);
  // The event is emitted from a promise callback that may run just after get resolves.
  await tick();
  const rebuiltEvents = counter.stop();
  await checkChain(rt, refs, label);
  return { ms, rebuiltEvents };
}

/** One step through `get` alone: the unit a chain of d is compared with. */
async function taskMs(rt: Runtime, m: Chain, stepMs: number): Promise<number> {
  const t0 = performance.now();
  const v = await rt.get(m.step.remote(41, stepMs));
  const ms = performance.now() - t0;
  if (v !== 42) throw wrongAnswer(`step(41) gave ${v}, expected 42`);
  return ms;
}

/**
 * A closed loop of short independent tasks, `inFlight` outstanding at any time. `done` counts
 * checked results; a window's rate is the change in `done` over the change in time.
 */
class TaskStream {
  done = 0;
  private next = 0;
  private stopped = false;
  private error: unknown;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly rt: Runtime,
    private readonly m: Chain,
    private readonly ms: number,
    inFlight: number,
  ) {
    // Errors are kept rather than left to reject unobserved, and rethrown by stop().
    this.loops = Array.from({ length: inFlight }, () => this.loop().catch((err: unknown) => void (this.error ??= err)));
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const i = this.next++;
      const v = await this.rt.get(this.m.step.remote(i, this.ms));
      if (v !== i + 1) throw wrongAnswer(`stream task step(${i}) gave ${v}, expected ${i + 1}`);
      this.done++;
    }
  }

  mark(): Mark {
    if (this.error) throw this.error;
    return { done: this.done, at: performance.now() };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    if (this.error) throw this.error;
  }
}

type Mark = { done: number; at: number };

const rate = (a: Mark, b: Mark) => ((b.done - a.done) * 1e3) / (b.at - a.at);

interface StallRound {
  aloneRate: number;
  duringRate: number;
  rebuild: Rebuild;
}

/**
 * One continuous stream: a window alone, a depth-64 rebuild, another window alone. The alone rate
 * pools both windows, so load from a neighbour that drifts during the round hits both sides alike.
 */
async function stallRound(rt: Runtime, m: Chain, p: Params, windowMs: number, label: string): Promise<StallRound> {
  const { refs } = await buildChain(rt, m, STALL_DEPTH, p.stepMs);
  const s = new TaskStream(rt, m, p.streamMs, p.streamInFlight);
  let a0: Mark, a1: Mark, d0: Mark, d1: Mark, b0: Mark, b1: Mark;
  let rebuilt: Rebuild;
  try {
    // Lead-in so the first window starts with the stream at its steady state.
    await tick(100);
    a0 = s.mark();
    await tick(windowMs);
    a1 = s.mark();
    const counter = countRebuilt(rt, refs);
    evictAll(rt, refs);
    d0 = s.mark();
    const v = await rt.get(refs[STALL_DEPTH - 1]!);
    d1 = s.mark();
    if (v !== STALL_DEPTH) throw wrongAnswer(`${label}: the rebuilt last link is ${v}, expected ${STALL_DEPTH}`);
    b0 = s.mark();
    await tick(windowMs);
    b1 = s.mark();
    rebuilt = { ms: d1.at - d0.at, rebuiltEvents: counter.stop() };
  } finally {
    await s.stop();
  }
  await checkChain(rt, refs, label);
  const aloneRate = ((a1.done - a0.done + b1.done - b0.done) * 1e3) / (a1.at - a0.at + b1.at - b0.at);
  return { aloneRate, duringRate: rate(d0, d1), rebuild: rebuilt };
}

interface Measured {
  task: number[];
  build: Map<number, number[]>;
  rebuild: Map<number, Rebuild[]>;
  stall: StallRound[];
}

async function measure(rt: Runtime, m: Chain, p: Params, out: Measured): Promise<void> {
  // Every worker runs a few steps first so that neither the module load nor a cold JIT is timed.
  await warmLoom(rt, m.warm, p.workers);
  await rt.get(Array.from({ length: 4 * p.workers }, (_, i) => m.step.remote(i, p.stepMs)));
  for (const d of p.depths) {
    out.build.set(d, []);
    out.rebuild.set(d, []);
    for (let r = 0; r < p.reps; r++) {
      await collect();
      for (let k = 0; k < p.taskSamplesPerRep; k++) out.task.push(await taskMs(rt, m, p.stepMs));
      const { refs, buildMs } = await buildChain(rt, m, d, p.stepMs);
      const rb = await rebuild(rt, refs, `chain of ${d}`);
      out.build.get(d)!.push(buildMs);
      out.rebuild.get(d)!.push(rb);
      progress(`d=${d}: build ${buildMs.toFixed(0)} ms, rebuild ${rb.ms.toFixed(0)} ms, ${rb.rebuiltEvents} object:rebuilt (${r + 1}/${p.reps})`);
    }
  }
  const task = statsOf(out.task).median;
  // The alone window lasts about as long as a rebuild does, so both rates average over similar spans.
  const windowMs = statsOf((out.rebuild.get(STALL_DEPTH) ?? []).map((x) => x.ms)).median || STALL_DEPTH * task;
  for (let r = 0; r < p.stallReps; r++) {
    await collect();
    const round = await stallRound(rt, m, p, windowMs, `no-stall round ${r + 1}`);
    out.stall.push(round);
    progress(
      `stream alone ${round.aloneRate.toFixed(0)}/s, during a depth-${STALL_DEPTH} rebuild ${round.duringRate.toFixed(0)}/s (rebuild took ${round.rebuild.ms.toFixed(0)} ms, ${round.rebuild.rebuiltEvents} object:rebuilt) (${r + 1}/${p.stallReps})`,
    );
  }
}

export async function run({ quick }: RunOptions): Promise<BenchResult> {
  const p = params(quick);
  const notes: string[] = [];
  const out: Measured = { task: [], build: new Map(), rebuild: new Map(), stall: [] };
  let skipped: string | undefined;

  const started = await startLoom({ workers: p.workers });
  if ("skipped" in started) skipped = started.skipped;
  else {
    const { rt } = started;
    try {
      await guard(rt, "reconstruction", quick ? 60 : 240, async () => {
        const m = await rt.module<typeof ChainModule>(TASK_MODULE);
        await measure(rt, m, p, out);
      });
    } catch (err) {
      // A wrong value is an engine bug, not a figure: the workload fails rather than report it.
      skipped = `failed: ${(err as Error).message.split("\n")[0]}`;
      progress(`loom: ${skipped}`);
    } finally {
      await rt.shutdown().catch(() => undefined);
    }
  }

  const task = out.task.length ? statsOf(out.task).median : null;
  const rows: BenchRow[] = [];
  for (const d of p.depths) {
    const rbs = out.rebuild.get(d) ?? [];
    if (rbs.length === 0) continue;
    const rb = statsOf(rbs.map((x) => x.ms));
    const events = rbs.map((x) => x.rebuiltEvents);
    const ideal = task === null ? null : d * task;
    rows.push({
      case: `rebuild a chain of ${d} (${p.stepMs} ms steps), all ${d} evicted`,
      unit: "ms",
      loom: rb.median,
      serial: ideal,
      vs: "loom",
      peer: "loom, d × one step's round trip",
      peerValue: ideal,
      ratio: ratioOf(rb.median, ideal),
      ratioLabel: "loom rebuild/(d × loom task)",
      target: { on: "ratio", op: "<=", value: REBUILD_FACTOR, text: `≤ ${REBUILD_FACTOR}× d × task` },
      extra: {
        taskMs: task,
        rebuildMinMs: rb.min,
        rebuildMaxMs: rb.max,
        firstBuildMs: statsOf(out.build.get(d) ?? []).median,
        rebuiltEvents: events.join("/"),
      },
      ...(events.some((e) => e !== d) ? { note: `expected ${d} object:rebuilt events per rebuild` } : {}),
    });
  }
  if (out.stall.length) {
    const alone = statsOf(out.stall.map((s) => s.aloneRate)).median;
    const during = statsOf(out.stall.map((s) => s.duringRate)).median;
    const rbMs = statsOf(out.stall.map((s) => s.rebuild.ms)).median;
    const events = out.stall.map((s) => s.rebuild.rebuiltEvents);
    rows.push({
      case: `${p.streamMs} ms tasks (${p.streamInFlight} in flight) during a depth-${STALL_DEPTH} rebuild`,
      unit: "tasks/s",
      loom: during,
      vs: "loom",
      peer: "loom, the same stream alone",
      peerValue: alone,
      ratio: ratioOf(during, alone),
      ratioLabel: "loom during/loom alone",
      target: { on: "ratio", op: ">=", value: NO_STALL_SHARE, text: `≥ ${NO_STALL_SHARE}× alone (must not stall)` },
      extra: {
        aloneTasksPerSec: alone,
        rebuildDuringMs: rbMs,
        rebuildDuringRatio: ratioOf(rbMs, task === null ? null : STALL_DEPTH * task),
        rebuiltEvents: events.join("/"),
      },
      ...(events.some((e) => e !== STALL_DEPTH) ? { note: `expected ${STALL_DEPTH} object:rebuilt events per rebuild` } : {}),
    });
  }

  notes.push(
    `task: one ${p.stepMs} ms busy-spin step through rt.get (submit, run, seal, read), median of ${out.task.length} samples taken between rebuilds = ${task?.toFixed(1) ?? "–"} ms; ` +
      `"serial" column = d × task; rebuild = get of the last link after evicting all d links (every ref held by the driver), median of ${p.reps}; every link is read back and checked after each rebuild`,
  );
  notes.push(
    `no stall: one closed loop of ${p.streamMs} ms tasks per round, timed alone for about a rebuild's duration, then while a depth-${STALL_DEPTH} chain is rebuilt, then alone again (alone = both windows pooled); median of ${p.stallReps} rounds; ` +
      `with ${p.workers} workers and the rebuild (one link at a time) holding one of them, about ${((p.workers - 1) / p.workers).toFixed(2)}× the stream's throughput alone is what the machine allows, hence the ${NO_STALL_SHARE}× target`,
  );
  return {
    name: "reconstruction",
    title: "Lineage reconstruction: rebuild of an evicted chain",
    quick,
    params: { ...p },
    rows: rows.map(evaluateTarget),
    notes,
    ...(skipped ? { skipped } : {}),
  };
}
