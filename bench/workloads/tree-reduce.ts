// Tree vs linear reduce of n values with 20 ms add tasks (the design card's microbenchmark).
// Loom submits the whole graph at once (refs as data edges, no driver hop per edge); piscina
// orchestrates from the driver, as a pairwise promise tree and as an "as-ready" loop (add any two
// values as soon as they exist, Ray's wait() pattern), and the faster of the two is its strongest
// form. Loom and piscina run round-robin with the same number of slots. Ideal: linear (n−1)·20 ms;
// tree ⌈log2 n⌉·20 ms with unbounded slots, Σ_levels ⌈pairs/slots⌉·20 ms with a fixed number.

import type { Piscina } from "piscina";
import os from "node:os";
import { interleave, progress, type Stats, type Variant } from "../lib/measure.js";
import { makePool, warmPool } from "../lib/pools.js";
import { guard, startLoom, warmLoom, type ModuleWrappers, type ObjectRef, type Runtime } from "../lib/loom.js";
import { WRONG_ANSWER, peerRows, wrongAnswer } from "../lib/comparison.js";
import { ratioOf, type BenchResult, type BenchRow, type BenchSeries, type RunOptions } from "../lib/types.js";
import { ADD_MS } from "./modules/reduce-task.js";
import type * as ReduceModule from "./modules/reduce-task.js";

const TASK_MODULE = new URL("./modules/reduce-task.ts", import.meta.url);
const POOL_MODULE = new URL("./modules/reduce-pool.ts", import.meta.url);

interface Params {
  sizes: number[];
  warmup: number;
  reps: number;
  cores: number;
}

function params(quick: boolean): Params {
  const cores = os.availableParallelism();
  return quick ? { sizes: [8, 16], warmup: 1, reps: 1, cores } : { sizes: [8, 16, 32, 64], warmup: 1, reps: 3, cores };
}

/** Milliseconds of the best schedule: pairs of each level in waves of `slots`. */
export function idealTreeMs(n: number, slots: number): number {
  let ms = 0;
  for (let m = n; m > 1; m = Math.ceil(m / 2)) ms += Math.max(1, Math.ceil(Math.floor(m / 2) / slots)) * ADD_MS;
  return ms;
}
export function idealLinearMs(n: number): number {
  return (n - 1) * ADD_MS;
}

const values = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const expectedSum = (n: number) => (n * (n + 1)) / 2;

function check(name: string, n: number, got: number): void {
  if (got !== expectedSum(n)) throw wrongAnswer(`${name}: reduce of ${n} values gave ${got}, expected ${expectedSum(n)}`);
}

async function loomTree(rt: Runtime, m: ModuleWrappers<typeof ReduceModule>, n: number): Promise<number> {
  let level: Array<number | ObjectRef<number>> = values(n);
  while (level.length > 1) {
    const next: Array<number | ObjectRef<number>> = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(m.add.remote(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  const root = level[0]!;
  return typeof root === "number" ? root : rt.get(root);
}

async function loomLinear(rt: Runtime, m: ModuleWrappers<typeof ReduceModule>, n: number): Promise<number> {
  const v = values(n);
  let acc = m.add.remote(v[0]!, v[1]!);
  for (let i = 2; i < n; i++) acc = m.add.remote(acc, v[i]!);
  return rt.get(acc);
}

async function poolTree(pool: Piscina, n: number): Promise<number> {
  let level: Array<Promise<number>> = values(n).map((v) => Promise.resolve(v));
  const pair = async (a: Promise<number>, b: Promise<number>) => (await pool.run([await a, await b], { name: "add" })) as number;
  while (level.length > 1) {
    const next: Array<Promise<number>> = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(pair(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

async function poolLinear(pool: Piscina, n: number): Promise<number> {
  const v = values(n);
  let acc = v[0]!;
  for (let i = 1; i < n; i++) acc = (await pool.run([acc, v[i]!], { name: "add" })) as number;
  return acc;
}

/** Ray's wait() pattern from the driver: whenever two values exist, add them; done when one is left and none is out. */
function poolAsReady(pool: Piscina, n: number): Promise<number> {
  const ready = values(n);
  let out = 0;
  return new Promise((resolve, reject) => {
    const pump = () => {
      while (ready.length >= 2) {
        const pair = [ready.pop()!, ready.pop()!];
        out++;
        (pool.run(pair, { name: "add" }) as Promise<number>).then((v) => {
          out--;
          ready.push(v);
          pump();
        }, reject);
      }
      if (out === 0 && ready.length === 1) resolve(ready[0]!);
    };
    pump();
  });
}

const VARIANTS = ["loom tree", "loom linear", "piscina tree", "piscina as-ready", "piscina linear"] as const;
type VariantName = (typeof VARIANTS)[number];

/** Medians by variant and n, for one number of slots. */
interface Shape {
  stats: Record<VariantName, Map<number, Stats>>;
  skipped?: string;
  errors: string[];
}

/**
 * Loom with `workers` workers and a piscina pool of `threads` × `ctpw` slots, both up at once; for each n the
 * five variants run round-robin with the same warm-up and repetitions.
 */
async function measureShape(label: string, p: Params, workers: number, threads: number, ctpw: number): Promise<Shape> {
  const shape: Shape = { stats: Object.fromEntries(VARIANTS.map((v) => [v, new Map()])) as Shape["stats"], errors: [] };
  const pool = await makePool(POOL_MODULE, { threads, concurrentTasksPerWorker: ctpw });
  await warmPool(pool, "ping", null);
  const started = await startLoom({ workers });
  let loom: { rt: Runtime; m: ModuleWrappers<typeof ReduceModule> } | null = null;
  try {
    if ("skipped" in started) shape.skipped = started.skipped;
    else {
      const m = await started.rt.module<typeof ReduceModule>(TASK_MODULE);
      await warmLoom(started.rt, m.warm, workers);
      loom = { rt: started.rt, m };
    }
    for (const n of p.sizes) {
      const variants: Partial<Record<VariantName, Variant>> = {
        "piscina tree": { fn: async () => check("piscina tree", n, await poolTree(pool, n)) },
        "piscina as-ready": { fn: async () => check("piscina as-ready", n, await poolAsReady(pool, n)) },
        "piscina linear": { fn: async () => check("piscina linear", n, await poolLinear(pool, n)) },
      };
      if (loom && !shape.skipped) {
        const { rt, m } = loom;
        variants["loom tree"] = { fn: () => guard(rt, `${label} tree`, 60, async () => check("loom tree", n, await loomTree(rt, m, n))) };
        variants["loom linear"] = { fn: () => guard(rt, `${label} linear`, 60, async () => check("loom linear", n, await loomLinear(rt, m, n))) };
      }
      const { stats, errors } = await interleave(variants as Record<string, Variant>, { warmup: p.warmup, reps: p.reps });
      for (const [k, st] of Object.entries(stats)) if (st) shape.stats[k as VariantName].set(n, st);
      for (const [k, e] of Object.entries(errors)) {
        if (k.startsWith("loom") && !e.includes(WRONG_ANSWER)) shape.skipped ??= `failed: ${e}`;
        else shape.errors.push(`${label} n=${n} ${k}: ${e}`);
      }
      const ms = (k: VariantName) => ((shape.stats[k].get(n)?.median ?? NaN) * 1e3).toFixed(0);
      progress(`${label} n=${n}: loom tree ${ms("loom tree")} / linear ${ms("loom linear")} ms; piscina tree ${ms("piscina tree")}, as-ready ${ms("piscina as-ready")}, linear ${ms("piscina linear")} ms`);
    }
  } finally {
    if (!("skipped" in started)) await started.rt.shutdown();
    await pool.destroy();
  }
  return shape;
}

export async function run({ quick }: RunOptions): Promise<BenchResult> {
  const p = params(quick);
  const nMax = Math.max(...p.sizes);
  const wide = nMax / 2; // enough slots for the widest level
  const notes: string[] = [];

  const cores = await measureShape(`${p.cores} slots`, p, p.cores, p.cores, 1);
  const wideShape = await measureShape(`${wide} slots`, p, wide, p.cores, Math.ceil(wide / p.cores));
  const skipped = cores.skipped ?? wideShape.skipped;
  for (const e of [...cores.errors, ...wideShape.errors]) notes.push(e);

  const med = (c: Shape, k: VariantName, n: number) => c.stats[k].get(n)?.median ?? null;
  const ms = (v: number | null) => (v === null ? null : v * 1e3);
  const idealUnbounded = idealLinearMs(nMax) / idealTreeMs(nMax, Infinity);
  const idealCores = idealLinearMs(nMax) / idealTreeMs(nMax, p.cores);

  const shapeRows = (c: Shape, slots: string, ideal: number, targetText: string): BenchRow[] => {
    const rows = [
      ...peerRows({
        case: `tree reduce, n=${nMax}, ${slots}`,
        unit: "ms",
        loom: ms(med(c, "loom tree", nMax)),
        variants: [
          { peer: "piscina", variant: "as-ready loop", value: ms(med(c, "piscina as-ready", nMax)) },
          { peer: "piscina", variant: "pairwise promise tree", value: ms(med(c, "piscina tree", nMax)) },
        ],
      }),
      ...peerRows({
        case: `linear reduce (a chain), n=${nMax}, ${slots}`,
        unit: "ms",
        loom: ms(med(c, "loom linear", nMax)),
        variants: [{ peer: "piscina", variant: "await each add", value: ms(med(c, "piscina linear", nMax)) }],
      }),
      {
        case: `linear/tree, n=${nMax}, ${slots}`,
        unit: "ms",
        loom: ms(med(c, "loom tree", nMax)),
        vs: "loom",
        peer: "loom linear",
        peerValue: ms(med(c, "loom linear", nMax)),
        ratio: ratioOf(med(c, "loom linear", nMax), med(c, "loom tree", nMax)),
        ratioLabel: "loom linear/loom tree",
        target: { on: "ratio", op: ">=", value: 0.9 * ideal, text: targetText },
        extra: {
          piscinaRatio: ratioOf(med(c, "piscina linear", nMax), Math.min(med(c, "piscina tree", nMax) ?? Infinity, med(c, "piscina as-ready", nMax) ?? Infinity)),
          idealRatio: ideal,
        },
        note: "Loom against Loom: the tree's gain over a chain; piscinaRatio: the same for piscina's strongest tree",
      } satisfies BenchRow,
    ];
    return rows;
  };
  const rows: BenchRow[] = [
    ...shapeRows(wideShape, `${wide} slots`, idealUnbounded, `≥ 0.9 × ${nMax - 1}/${Math.log2(nMax)} = ${(0.9 * idealUnbounded).toFixed(2)}×`),
    ...shapeRows(cores, `${p.cores} slots (= cores)`, idealCores, `≥ 0.9 × achievable ${idealCores.toFixed(2)} = ${(0.9 * idealCores).toFixed(2)}×`),
  ];
  rows[0]!.headline = true;
  notes.push(
    `ideal with unbounded slots: linear ${idealLinearMs(nMax)} ms / tree ${idealTreeMs(nMax, Infinity)} ms = ${idealUnbounded.toFixed(2)}×; ` +
      `with ${p.cores} slots (one 20 ms task per worker at a time) the best tree is ${idealTreeMs(nMax, p.cores)} ms, so the achievable ratio is ${idealCores.toFixed(2)}×`,
  );
  notes.push(`"${wide} slots": Loom with ${wide} workers (tasks sleep, they do not burn CPU); piscina with ${p.cores} threads × concurrentTasksPerWorker ${Math.ceil(wide / p.cores)}; Loom and piscina round-robin for each n, every answer checked`);

  const series: BenchSeries[] = [];
  const curve = (name: string, c: Shape, k: VariantName, dashed = false) => {
    const points = p.sizes.filter((n) => c.stats[k].has(n)).map((n): [number, number] => [n, c.stats[k].get(n)!.median * 1e3]);
    if (points.length) series.push({ chart: "tree-vs-linear", name, points, dashed });
  };
  curve(`loom tree (${wide} workers)`, wideShape, "loom tree");
  curve(`loom linear (${wide} workers)`, wideShape, "loom linear");
  curve(`loom tree (${p.cores} workers)`, cores, "loom tree");
  curve(`piscina tree, as-ready (${wide} slots)`, wideShape, "piscina as-ready", true);
  curve(`piscina tree, pairwise (${wide} slots)`, wideShape, "piscina tree", true);
  curve(`piscina linear (${wide} slots)`, wideShape, "piscina linear", true);
  series.push({ chart: "tree-vs-linear", name: "ideal tree (unbounded)", points: p.sizes.map((n) => [n, idealTreeMs(n, Infinity)]), dashed: true });
  series.push({ chart: "tree-vs-linear", name: "ideal linear", points: p.sizes.map((n) => [n, idealLinearMs(n)]), dashed: true });

  return { name: "tree-reduce", title: "Tree vs linear reduce (20 ms tasks)", quick, params: { ...p }, rows, series, notes, ...(skipped ? { skipped } : {}) };
}
