// Expensive initialization (seeds' B4): a ~300 ms model build, then 10 batches per worker.
// Loom actors build once per actor. Peers: serial build-once, and piscina's strongest form, a module-level
// cache in each worker (piscina rebuilding per task stays as context). Loom tasks rebuilding per batch give a
// Loom-against-Loom ratio (re-init / actors), ideally (10·init + 10·batch) / (init + 10·batch) from serial
// timings. The clock starts before the first build; every variant gets the same warm-up and repetitions.

import type { Piscina } from "piscina";
import os from "node:os";
import { interleave, progress, statsOf, timeOnce, type Stats, type Variant } from "../lib/measure.js";
import { makePool, warmPool } from "../lib/pools.js";
import { guard, startLoom, warmLoom, type ModuleWrappers, type Runtime } from "../lib/loom.js";
import { AnswerLog, nearlyEqual, peerRows } from "../lib/comparison.js";
import { ratioOf, type BenchResult, type BenchRow, type RunOptions } from "../lib/types.js";
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
  const answers = new AnswerLog<number>();
  const keep = (k: string) => answers.keep(k);

  progress(`serial: build and batch costs; ${batches.length} batches`);
  const s = await serialSteps(batches, quick);
  const init = s.init.median;
  const batch = s.batch.median;
  const b = p.batchesPerWorker;
  const ideal = (b * init + b * batch) / (init + b * batch);

  const pool = await makePool(POOL_MODULE);
  await warmPool(pool, "ping", null);
  const variants: Record<string, Variant> = {
    "serial build-once": { fn: () => keep("serial build-once")(serialBuildOnce(batches)) },
    "piscina re-init": { fn: async () => keep("piscina re-init")(await piscinaReinit(pool, batches)) },
    "piscina module cache": { fn: async () => keep("piscina module cache")(await piscinaCached(pool, batches)) },
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
      variants["loom actors"] = { fn: () => guard(rt, "loom actors", 120, async () => keep("loom actors")(await loomActors(rt, m, p, batches))) };
      variants["loom re-init"] = { fn: () => guard(rt, "loom re-init", 120, async () => keep("loom re-init")(await loomReinit(rt, m, batches))) };
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
  const ran = Object.keys(variants).filter((k) => !(k in errors));
  for (const w of answers.check("serial build-once", ran, nearlyEqual(1e-6))) notes.push(`WRONG ANSWER: ${w}`);
  notes.push(
    `serial init ${(init * 1e3).toFixed(0)} ms, batch ${(batch * 1e3).toFixed(1)} ms → ideal ratio (${b}·init+${b}·batch)/(init+${b}·batch) = ${ideal.toFixed(2)}×${quick ? " (quick: 5 batches per worker, so a lower ideal than the full run's)" : ""}`,
  );
  notes.push(`${p.workers} workers × ${b} batches; actors: one per worker, built inside the clock; every variant warmed and repeated alike, round-robin`);

  const loom = actorStats?.median ?? null;
  const rows: BenchRow[] = [
    ...peerRows({
      case: "actors",
      unit: "s",
      loom,
      variants: [
        { peer: "piscina", variant: "module-level cache", value: pCached?.median },
        { peer: "piscina", variant: "re-init per task", value: pReinit?.median },
        { peer: "serial", variant: "build once", value: buildOnce?.median },
      ],
      targets: { piscina: { op: ">=", value: 1, text: "≥ 1× (no slower than the strongest pool)" } },
    }),
    {
      case: "actors vs Loom tasks re-initialising per batch",
      unit: "s",
      loom,
      vs: "loom",
      peer: "loom, tasks re-initialising per batch",
      peerValue: reinitStats?.median ?? null,
      ratio: ratioOf(reinitStats?.median, loom),
      ratioLabel: "loom re-init/actors",
      target: { on: "ratio", op: ">=", value: 0.9 * ideal, text: `≥ 0.9 × ${ideal.toFixed(2)} = ${(0.9 * ideal).toFixed(2)}×` },
      extra: { idealRatio: ideal, initMs: init * 1e3, batchMs: batch * 1e3 },
    },
  ];
  rows[0]!.headline = true;
  return { name: "expensive-init", title: "Expensive initialization (actors)", quick, params: { ...p }, rows, notes, ...(skipped ? { skipped } : {}) };
}
