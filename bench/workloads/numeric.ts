// Large numeric data (seeds' B2): per round a fresh 3000×3000 Float64Array image; one task per
// core convolves it with its own 4×4 filter. Loom puts the image once and every task reads the
// same shared copy; piscina's strongest form shares the image as a SharedArrayBuffer view (a
// structured-clone copy per task stays as context); serial runs the same kernels in the main thread
// on one image a round, as the others do.

import type { Piscina } from "piscina";
import os from "node:os";
import { interleave, progress, type Stats, type Variant } from "../lib/measure.js";
import { makePool, warmPool } from "../lib/pools.js";
import { guard, startLoom, warmLoom, type ModuleWrappers, type Runtime } from "../lib/loom.js";
import { AnswerLog, nearlyEqual, peerRows } from "../lib/comparison.js";
import type { BenchResult, BenchRow, RunOptions } from "../lib/types.js";
import { checksum, convolveFullStrided, makeFilter, makeImage } from "./modules/numeric-kernel.js";
import type * as NumericModule from "./modules/numeric-task.js";

const TASK_MODULE = new URL("./modules/numeric-task.ts", import.meta.url);
const POOL_MODULE = new URL("./modules/numeric-pool.ts", import.meta.url);

interface Params {
  side: number;
  tasksPerRound: number;
  warmup: number;
  rounds: number;
}

function params(quick: boolean, workers?: number, reps?: number): Params {
  const tasksPerRound = workers ?? os.availableParallelism();
  const p = quick ? { side: 2000, tasksPerRound, warmup: 1, rounds: 2 } : { side: 3000, tasksPerRound, warmup: 1, rounds: 10 };
  return reps === undefined ? p : { ...p, rounds: reps };
}

/** One task per worker; `workers` (default: one per core) sets both the Loom workers and the piscina threads. */
export async function run({ quick, workers, reps }: RunOptions): Promise<BenchResult> {
  const p = params(quick, workers, reps);
  const filters = Array.from({ length: p.tasksPerRound }, (_, i) => makeFilter(i));
  const notes: string[] = [];
  const answers = new AnswerLog<number>();
  const keep = (k: string, xs: number[]) => answers.record(k, xs.reduce((a, b) => a + b, 0));
  progress(`${p.rounds} rounds of ${p.tasksPerRound} convolutions of ${p.side}²`);
  const pool = await makePool(POOL_MODULE, { threads: p.tasksPerRound });
  await warmPool(pool, "ping", null);
  // The second variant: one image made before the clock, reused by every round (no allocation, no put).
  const fixedImage = makeImage(p.side);
  const fixedShared = makeImage(p.side, true);
  const variants: Record<string, Variant> = {
    serial: {
      fn: () => {
        const image = makeImage(p.side); // one image a round, as Loom and piscina make
        keep("serial", filters.map((f) => checksum(convolveFullStrided(image, f))));
      },
    },
    "serial reused": { fn: () => keep("serial reused", filters.map((f) => checksum(convolveFullStrided(fixedImage, f)))) },
    "piscina SharedArrayBuffer reused": {
      fn: async () => {
        keep("piscina SharedArrayBuffer reused", await Promise.all(filters.map((filter) => pool.run({ image: fixedShared, filter }, { name: "convolve" }) as Promise<number>)));
      },
    },
    "piscina clone": {
      fn: async () => {
        const image = makeImage(p.side);
        keep("piscina clone", await Promise.all(filters.map((filter) => pool.run({ image, filter }, { name: "convolve" }) as Promise<number>)));
      },
    },
    "piscina SharedArrayBuffer": {
      fn: async () => {
        const image = makeImage(p.side, true);
        keep("piscina SharedArrayBuffer", await Promise.all(filters.map((filter) => pool.run({ image, filter }, { name: "convolve" }) as Promise<number>)));
      },
    },
  };
  let skipped: string | undefined;
  let stats: Record<string, Stats | null> = {};
  let errors: Record<string, string> = {};
  const started = await startLoom({ workers: p.tasksPerRound });
  if ("skipped" in started) skipped = started.skipped;
  try {
    if (!("skipped" in started)) {
      const { rt } = started;
      const m: ModuleWrappers<typeof NumericModule> = await rt.module<typeof NumericModule>(TASK_MODULE);
      await warmLoom(rt, m.warm, p.tasksPerRound);
      const round = async (r: Runtime) => {
        const image = r.put(makeImage(p.side));
        keep("loom put once", await r.get(filters.map((f) => m.convolve.remote(image, f))));
      };
      variants["loom put once"] = { fn: () => guard(rt, "loom put once", 120, () => round(rt)) };
      const fixedRef = rt.put(fixedImage);
      variants["loom reused"] = {
        fn: () => guard(rt, "loom reused", 120, async () => keep("loom reused", await rt.get(filters.map((f) => m.convolve.remote(fixedRef, f))))),
      };
    }
    ({ stats, errors } = await interleave(variants, { warmup: p.warmup, reps: p.rounds }));
  } finally {
    if (!("skipped" in started)) await started.rt.shutdown();
    await pool.destroy();
  }
  const serial = stats["serial"] ?? null;
  const clone = stats["piscina clone"] ?? null;
  const sab = stats["piscina SharedArrayBuffer"] ?? null;
  const loom = stats["loom put once"] ?? null;
  const serialReused = stats["serial reused"] ?? null;
  const sabReused = stats["piscina SharedArrayBuffer reused"] ?? null;
  const loomReused = stats["loom reused"] ?? null;

  for (const [k, e] of Object.entries(errors)) {
    if (k.startsWith("loom")) skipped ??= `failed: ${e}`;
    else notes.push(`${k} failed: ${e}`);
  }
  // Every variant sums each round's checksums; the images are alike, so every run of every variant must agree.
  const ran = Object.keys(variants).filter((k) => !(k in errors));
  for (const w of answers.check("serial", ran, nearlyEqual(1e-9))) notes.push(`WRONG ANSWER: ${w}`);
  notes.push(`per round: a fresh ${p.side}×${p.side} Float64Array (${((p.side * p.side * 8) / 2 ** 20).toFixed(0)} MiB), ${p.tasksPerRound} tasks, each materializes a ${p.side + 3}² output; s/round, median of ${p.rounds}`);

  const rows: BenchRow[] = [
    ...peerRows({
      case: "fresh image a round, put once, read by every task",
      unit: "s/round",
      loom: loom?.median,
      variants: [
        { peer: "serial", variant: "one image a round", value: serial?.median },
        { peer: "piscina", variant: "SharedArrayBuffer", value: sab?.median },
        { peer: "piscina", variant: "a structured-clone copy per task", value: clone?.median },
      ],
      targets: {
        serial: { op: ">=", value: 1.8, text: "≥ 1.8× (2 cores)" },
        piscina: { op: ">=", value: 1, text: "≥ 1× (no slower)" },
      },
    }),
    ...peerRows({
      case: "image made once and reused by every round",
      unit: "s/round",
      loom: loomReused?.median,
      variants: [
        { peer: "serial", variant: "reused image", value: serialReused?.median },
        { peer: "piscina", variant: "reused SharedArrayBuffer", value: sabReused?.median },
      ],
      note: "no allocation or put in the clock: the convolutions alone",
    }),
  ];
  rows.find((r) => r.vs === "peer" && r.peer?.startsWith("piscina"))!.headline = true;
  return { name: "numeric", title: "Large numeric data (3000² image)", quick, params: { ...p }, rows, notes, ...(skipped ? { skipped } : {}) };
}
