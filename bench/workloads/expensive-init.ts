// Expensive initialization (seeds' B4): a ~300 ms model build, then 10 batches per worker.
// Loom actors build once per actor; the baselines rebuild per task (Loom tasks, piscina) or
// cache in module scope (piscina, for context). The clock starts before the first build.
// Ideal ratio (re-init / actors) = (10·init + 10·batch) / (init + 10·batch), from serial timings.

import type { Piscina } from "piscina";
import os from "node:os";
import { interleave, progress, statsOf, timeOnce, type Stats, type Variant } from "../lib/measure.js";
import { makePool, warmPool } from "../lib/pools.js";
import { guard, startLoom, warmLoom, type ModuleWrappers, type Runtime } from "../lib/loom.js";
import { evaluateTarget, ratioOf, type BenchResult, type BenchRow, type RunOptions } from "../lib/types.js";
import { buildModel, evaluate, makeBatch, MODEL_SEED } from "./modules/model-kernel.js";
import type * as ModelActorModule from "./modules/model-actor.js";

const POOL_MODULE = new URL("./modules/model-pool.ts", import.meta.url);
const ACTOR_MODULE = new URL("./modules/model-actor.ts", import.meta.url);

interface Params {
  workers: number;
  batchesPerWorker: number;
  warmup: number;
  reps: number;
}

function params(quick: boolean): Params {
  const workers = os.availableParallelism();
  return quick ? { workers, batchesPerWorker: 5, warmup: 0, reps: 1 } : { workers, batchesPerWorker: 10, warmup: 1, reps: 3 };
}

function batchesFor(p: Params): Float64Array[] {
  return Array.from({ length: p.workers * p.batchesPerWorker }, (_, i) => makeBatch(i));
}

/** Serial per-step costs: the ideal ratio's inputs (first build discarded as JIT warm-up). */
async function serialSteps(batches: Float64Array[], quick: boolean): Promise<{ init: Stats; batch: Stats }> {
  const initSamples: number[] = [];
  for (let i = 0; i < (quick ? 2 : 4); i++) initSamples.push(await timeOnce(() => buildModel(MODEL_SEED)));
  const model = buildModel(MODEL_SEED);
  const batchSamples: number[] = [];
  for (let i = 0; i < (quick ? 5 : 10); i++) batchSamples.push(await timeOnce(() => evaluate(model, batches[i % batches.length]!)));
  return { init: statsOf(initSamples.slice(1)), batch: statsOf(batchSamples) };
}

/** Serial build-once: one model, every batch, in the main thread. */
function serialBuildOnce(batches: Float64Array[]): number {
  const m = buildModel(MODEL_SEED);
  return batches.reduce((acc, x) => acc + evaluate(m, x), 0);
}

async function piscinaReinit(pool: Piscina, batches: Float64Array[]): Promise<number> {
  const out = await Promise.all(batches.map((x) => pool.run(x, { name: "buildAndPredict" }) as Promise<number>));
  return out.reduce((a, b) => a + b, 0);
}

let generation = 0;
async function piscinaCached(pool: Piscina, batches: Float64Array[]): Promise<number> {
  generation++;
  const out = await Promise.all(batches.map((x) => pool.run({ x, generation }, { name: "cachedPredict" }) as Promise<number>));
  return out.reduce((a, b) => a + b, 0);
}

/** One actor per worker; batch i goes to actor i mod workers. The clock includes the actors' construction. */
async function loomActors(rt: Runtime, m: ModuleWrappers<typeof ModelActorModule>, p: Params, batches: Float64Array[]): Promise<number> {
  const actors = Array.from({ length: p.workers }, () => m.ModelServer.remote(MODEL_SEED));
  const refs = batches.map((x, i) => actors[i % p.workers]!.predict.remote(x));
  const out = await rt.get(refs);
  for (const a of actors) rt.kill(a);
  return out.reduce((a, b) => a + b, 0);
}

async function loomReinit(rt: Runtime, m: ModuleWrappers<typeof ModelActorModule>, batches: Float64Array[]): Promise<number> {
  const out = await rt.get(batches.map((x) => m.buildAndPredict.remote(x)));
  return out.reduce((a, b) => a + b, 0);
}

export async function run({ quick }: RunOptions): Promise<BenchResult> {
  const p = params(quick);
  const batches = batchesFor(p);
  const notes: string[] = [];
  const answers: Record<string, number> = {};
  const keep = (k: string) => (v: number) => {
    answers[k] = v;
  };

  progress(`serial: build and batch costs; ${batches.length} batches`);
  const s = await serialSteps(batches, quick);
  const init = s.init.median;
  const batch = s.batch.median;
  const b = p.batchesPerWorker;
  const ideal = (b * init + b * batch) / (init + b * batch);

  const pool = await makePool(POOL_MODULE);
  await warmPool(pool, "ping", null);
  const variants: Record<string, Variant> = {
    "serial build-once": { fn: () => keep("serial")(serialBuildOnce(batches)), warmup: 0 },
    "piscina re-init": { fn: async () => keep("piscina-reinit")(await piscinaReinit(pool, batches)), warmup: 0 },
    "piscina module cache": { fn: async () => keep("piscina-cached")(await piscinaCached(pool, batches)) },
  };
  let skipped: string | undefined;
  let stats: Record<string, Stats | null> = {};
  let errors: Record<string, string> = {};
  const started = await startLoom({ workers: p.workers });
  if ("skipped" in started) skipped = started.skipped;
  try {
    if (!("skipped" in started)) {
      const { rt } = started;
      const m = await rt.module<typeof ModelActorModule>(ACTOR_MODULE);
      await warmLoom(rt, m.warm, p.workers);
      variants["loom actors"] = { fn: () => guard(rt, "loom actors", 120, async () => keep("loom-actors")(await loomActors(rt, m, p, batches))) };
      variants["loom re-init"] = { fn: () => guard(rt, "loom re-init", 120, async () => keep("loom-reinit")(await loomReinit(rt, m, batches))), warmup: 0 };
    }
    ({ stats, errors } = await interleave(variants, { warmup: p.warmup, reps: p.reps }));
  } finally {
    if (!("skipped" in started)) await started.rt.shutdown();
    await pool.destroy();
  }
  const buildOnce = stats["serial build-once"] ?? null;
  const pReinit = stats["piscina re-init"] ?? null;
  const pCached = stats["piscina module cache"] ?? null;
  const actorStats = stats["loom actors"] ?? null;
  const reinitStats = stats["loom re-init"] ?? null;

  for (const [k, e] of Object.entries(errors)) {
    if (k.startsWith("loom")) skipped ??= `failed: ${e}`;
    else notes.push(`${k} failed: ${e}`);
  }
  const expected = answers["serial"]!;
  for (const [k, v] of Object.entries(answers)) {
    if (Math.abs(v - expected) > 1e-6 * Math.abs(expected)) notes.push(`WRONG ANSWER: ${k} = ${v}, serial = ${expected}`);
  }
  notes.push(
    `serial init ${(init * 1e3).toFixed(0)} ms, batch ${(batch * 1e3).toFixed(1)} ms → ideal ratio (${b}·init+${b}·batch)/(init+${b}·batch) = ${ideal.toFixed(2)}×${quick ? " (quick: 5 batches per worker, so a lower ideal than the full run's)" : ""}`,
  );
  notes.push(`${p.workers} workers × ${b} batches; actors: one per worker, built inside the clock`);

  const loom = actorStats?.median ?? null;
  const target = { on: "ratio" as const, op: ">=" as const, value: 0.9 * ideal, text: `≥ 0.9 × ${ideal.toFixed(2)} = ${(0.9 * ideal).toFixed(2)}×` };
  const extra = { idealRatio: ideal, initMs: init * 1e3, batchMs: batch * 1e3 };
  const rows: BenchRow[] = [
    {
      case: "actors vs re-init per task (Loom tasks)",
      unit: "s",
      loom,
      serial: buildOnce?.median,
      ratio: ratioOf(reinitStats?.median, loom),
      ratioLabel: "re-init/actors",
      target,
      extra: { ...extra, loomReinit: reinitStats?.median ?? null },
      headline: true,
    },
    {
      case: "actors vs piscina re-init per task",
      unit: "s",
      loom,
      serial: buildOnce?.median,
      piscina: pReinit?.median,
      ratio: ratioOf(pReinit?.median, loom),
      ratioLabel: "piscina/loom",
      target,
      extra,
    },
    {
      case: "actors vs piscina module-level cache",
      unit: "s",
      loom,
      serial: buildOnce?.median,
      piscina: pCached?.median,
      ratio: ratioOf(pCached?.median, loom),
      ratioLabel: "piscina/loom",
    },
  ];
  return { name: "expensive-init", title: "Expensive initialization (actors)", quick, params: { ...p }, rows: rows.map(evaluateTarget), notes, ...(skipped ? { skipped } : {}) };
}
