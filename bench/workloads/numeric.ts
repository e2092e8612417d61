// Large numeric data (seeds' B2): per round a fresh 3000×3000 Float64Array image; one task per
// core convolves it with its own 4×4 filter. Loom puts the image once and every task reads the
// same shared copy; piscina passes a structured-clone copy to each task (and, for context, a
// SharedArrayBuffer view); serial runs the same kernels in the main thread.

import type { Piscina } from "piscina";
import os from "node:os";
import { interleave, progress, type Stats, type Variant } from "../lib/measure.js";
import { makePool, warmPool } from "../lib/pools.js";
import { guard, startLoom, warmLoom, type ModuleWrappers, type Runtime } from "../lib/loom.js";
import { evaluateTarget, ratioOf, type BenchResult, type BenchRow, type RunOptions } from "../lib/types.js";
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
  const answers: Record<string, number> = {};
  const keep = (k: string, xs: number[]) => {
    answers[k] = xs.reduce((a, b) => a + b, 0);
  };
  progress(`${p.rounds} rounds of ${p.tasksPerRound} convolutions of ${p.side}²`);
  const pool = await makePool(POOL_MODULE, { threads: p.tasksPerRound });
  await warmPool(pool, "ping", null);
  // The second variant: one image made before the clock, reused by every round (no allocation, no put).
  const fixedImage = makeImage(p.side);
  const fixedShared = makeImage(p.side, true);
  const variants: Record<string, Variant> = {
    serial: { fn: () => keep("serial", filters.map((f) => checksum(convolveFullStrided(makeImage(p.side), f)))) },
    "serial reused": { fn: () => keep("serial-reused", filters.map((f) => checksum(convolveFullStrided(fixedImage, f)))) },
    "piscina SharedArrayBuffer reused": {
      fn: async () => {
        keep("piscina-sab-reused", await Promise.all(filters.map((filter) => pool.run({ image: fixedShared, filter }, { name: "convolve" }) as Promise<number>)));
      },
    },
    "piscina clone": {
      fn: async () => {
        const image = makeImage(p.side);
        keep("piscina-clone", await Promise.all(filters.map((filter) => pool.run({ image, filter }, { name: "convolve" }) as Promise<number>)));
      },
    },
    "piscina SharedArrayBuffer": {
      fn: async () => {
        const image = makeImage(p.side, true);
        keep("piscina-sab", await Promise.all(filters.map((filter) => pool.run({ image, filter }, { name: "convolve" }) as Promise<number>)));
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
        keep("loom", await r.get(filters.map((f) => m.convolve.remote(image, f))));
      };
      variants["loom put once"] = { fn: () => guard(rt, "loom put once", 120, () => round(rt)) };
      const fixedRef = rt.put(fixedImage);
      variants["loom reused"] = {
        fn: () => guard(rt, "loom reused", 120, async () => keep("loom-reused", await rt.get(filters.map((f) => m.convolve.remote(fixedRef, f))))),
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
  const expected = answers["serial"]!;
  // Every variant sums its last round's checksums; the images are alike, so all must agree.
  for (const [k, v] of Object.entries(answers)) {
    if (Math.abs(v - expected) > 1e-9 * Math.max(1, Math.abs(expected))) notes.push(`WRONG ANSWER: ${k} = ${v}, serial = ${expected}`);
  }
  notes.push(`per round: a fresh ${p.side}×${p.side} Float64Array (${((p.side * p.side * 8) / 2 ** 20).toFixed(0)} MiB), ${p.tasksPerRound} tasks, each materializes a ${p.side + 3}² output; s/round, median of ${p.rounds}`);

  const lo = loom?.median ?? null;
  const rows: BenchRow[] = [
    {
      case: "put once, read by every task vs serial",
      unit: "s/round",
      loom: lo,
      serial: serial?.median,
      ratio: ratioOf(serial?.median, lo),
      ratioLabel: "serial/loom",
      target: { on: "ratio", op: ">=", value: 1.8, text: "≥ 1.8× (2 cores)" },
      headline: true,
    },
    {
      case: "put once vs piscina passing copies",
      unit: "s/round",
      loom: lo,
      piscina: clone?.median,
      ratio: ratioOf(clone?.median, lo),
      ratioLabel: "piscina/loom",
      target: { on: "ratio", op: ">=", value: 2, text: "≥ 2×" },
    },
    {
      case: "put once vs piscina SharedArrayBuffer",
      unit: "s/round",
      loom: lo,
      piscina: sab?.median,
      ratio: ratioOf(sab?.median, lo),
      ratioLabel: "piscina/loom",
      target: { on: "ratio", op: ">=", value: 1, text: "≥ 1× (no slower)" },
      note: "hand-managed shared memory: the best a pool can do",
    },
    {
      case: "image made once and reused by every round vs serial",
      unit: "s/round",
      loom: loomReused?.median,
      serial: serialReused?.median,
      ratio: ratioOf(serialReused?.median, loomReused?.median),
      ratioLabel: "serial/loom",
      note: "no allocation or put in the clock: the convolutions alone",
    },
    {
      case: "image reused vs piscina SharedArrayBuffer reused",
      unit: "s/round",
      loom: loomReused?.median,
      piscina: sabReused?.median,
      ratio: ratioOf(sabReused?.median, loomReused?.median),
      ratioLabel: "piscina/loom",
    },
  ];
  return { name: "numeric", title: "Large numeric data (3000² image)", quick, params: { ...p }, rows: rows.map(evaluateTarget), notes, ...(skipped ? { skipped } : {}) };
}
