// Tree vs linear reduce of n values with 20 ms add tasks (the design card's microbenchmark).
// Loom submits the whole graph at once (refs as data edges, no driver hop per edge); piscina
// composes promises in the driver. Ideal: linear (n−1)·20 ms; tree ⌈log2 n⌉·20 ms with
// unbounded slots, Σ_levels ⌈pairs/slots⌉·20 ms with a fixed number of slots.

import type { Piscina } from "piscina";
import os from "node:os";
import { progress, sample, type Stats } from "../lib/measure.js";
import { makePool, warmPool } from "../lib/pools.js";
import { guard, startLoom, warmLoom, type InitOptions, type ModuleWrappers, type ObjectRef, type Runtime } from "../lib/loom.js";
import { evaluateTarget, ratioOf, type BenchResult, type BenchRow, type BenchSeries, type RunOptions } from "../lib/types.js";
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
  if (got !== expectedSum(n)) throw new Error(`${name}: reduce of ${n} values gave ${got}, expected ${expectedSum(n)}`);
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

interface Curve {
  tree: Map<number, Stats>;
  linear: Map<number, Stats>;
}

async function measureCurve(label: string, p: Params, tree: (n: number) => Promise<number>, linear: (n: number) => Promise<number>): Promise<Curve> {
  const c: Curve = { tree: new Map(), linear: new Map() };
  for (const n of p.sizes) {
    c.tree.set(n, await sample(async () => check(`${label} tree`, n, await tree(n)), { warmup: p.warmup, reps: p.reps }));
    c.linear.set(n, await sample(async () => check(`${label} linear`, n, await linear(n)), { warmup: p.warmup, reps: p.reps }));
    progress(`${label} n=${n}: tree ${(c.tree.get(n)!.median * 1e3).toFixed(0)} ms, linear ${(c.linear.get(n)!.median * 1e3).toFixed(0)} ms`);
  }
  return c;
}

async function loomCurve(label: string, p: Params, init: InitOptions): Promise<Curve | string> {
  const started = await startLoom(init);
  if ("skipped" in started) return started.skipped;
  const { rt } = started;
  try {
    return await guard(rt, label, 240, async () => {
      const m = await rt.module<typeof ReduceModule>(TASK_MODULE);
      await warmLoom(rt, m.warm, init.workers ?? p.cores);
      return await measureCurve(label, p, (n) => loomTree(rt, m, n), (n) => loomLinear(rt, m, n));
    });
  } catch (err) {
    return `failed: ${(err as Error).message.split("\n")[0]}`;
  } finally {
    await rt.shutdown();
  }
}

async function poolCurve(label: string, p: Params, threads: number, ctpw: number): Promise<Curve> {
  const pool = await makePool(POOL_MODULE, { threads, concurrentTasksPerWorker: ctpw });
  await warmPool(pool, "ping", null);
  try {
    return await measureCurve(label, p, (n) => poolTree(pool, n), (n) => poolLinear(pool, n));
  } finally {
    await pool.destroy();
  }
}

export async function run({ quick }: RunOptions): Promise<BenchResult> {
  const p = params(quick);
  const nMax = Math.max(...p.sizes);
  const wide = nMax / 2; // enough slots for the widest level
  const notes: string[] = [];

  const poolCores = await poolCurve(`piscina ${p.cores}×1`, p, p.cores, 1);
  const poolWide = await poolCurve(`piscina ${p.cores}×ctpw ${Math.ceil(wide / p.cores)}`, p, p.cores, Math.ceil(wide / p.cores));
  const loomCores = await loomCurve(`loom ${p.cores} workers`, p, { workers: p.cores });
  const loomWide = typeof loomCores === "string" ? loomCores : await loomCurve(`loom ${wide} workers`, p, { workers: wide });
  const skipped = typeof loomCores === "string" ? loomCores : typeof loomWide === "string" ? loomWide : undefined;

  const med = (c: Curve | string, k: "tree" | "linear", n: number) => (typeof c === "string" ? null : (c[k].get(n)?.median ?? null));
  const ms = (v: number | null) => (v === null ? null : v * 1e3);
  const idealUnbounded = idealLinearMs(nMax) / idealTreeMs(nMax, Infinity);
  const idealCores = idealLinearMs(nMax) / idealTreeMs(nMax, p.cores);

  const rows: BenchRow[] = [
    {
      case: `linear/tree, n=${nMax}, ${wide} slots`,
      unit: "ms (tree)",
      loom: ms(med(loomWide, "tree", nMax)),
      piscina: ms(med(poolWide, "tree", nMax)),
      ratio: ratioOf(med(loomWide, "linear", nMax), med(loomWide, "tree", nMax)),
      ratioLabel: "loom linear/tree",
      target: { on: "ratio", op: ">=", value: 0.9 * idealUnbounded, text: `≥ 0.9 × ${nMax - 1}/${Math.log2(nMax)} = ${(0.9 * idealUnbounded).toFixed(2)}×` },
      extra: {
        loomLinearMs: ms(med(loomWide, "linear", nMax)),
        piscinaLinearMs: ms(med(poolWide, "linear", nMax)),
        piscinaRatio: ratioOf(med(poolWide, "linear", nMax), med(poolWide, "tree", nMax)),
        idealTreeMs: idealTreeMs(nMax, Infinity),
        idealRatio: idealUnbounded,
      },
      headline: true,
    },
    {
      case: `linear/tree, n=${nMax}, ${p.cores} workers (= cores)`,
      unit: "ms (tree)",
      loom: ms(med(loomCores, "tree", nMax)),
      piscina: ms(med(poolCores, "tree", nMax)),
      ratio: ratioOf(med(loomCores, "linear", nMax), med(loomCores, "tree", nMax)),
      ratioLabel: "loom linear/tree",
      target: { on: "ratio", op: ">=", value: 0.9 * idealCores, text: `≥ 0.9 × achievable ${idealCores.toFixed(2)} = ${(0.9 * idealCores).toFixed(2)}×` },
      extra: {
        loomLinearMs: ms(med(loomCores, "linear", nMax)),
        piscinaLinearMs: ms(med(poolCores, "linear", nMax)),
        piscinaRatio: ratioOf(med(poolCores, "linear", nMax), med(poolCores, "tree", nMax)),
        idealTreeMs: idealTreeMs(nMax, p.cores),
        idealRatio: idealCores,
      },
    },
  ];
  notes.push(
    `ideal with unbounded slots: linear ${idealLinearMs(nMax)} ms / tree ${idealTreeMs(nMax, Infinity)} ms = ${idealUnbounded.toFixed(2)}×; ` +
      `with ${p.cores} slots (one 20 ms task per worker at a time) the best tree is ${idealTreeMs(nMax, p.cores)} ms, so the achievable ratio is ${idealCores.toFixed(2)}×`,
  );
  notes.push(`"${wide} slots": Loom with ${wide} workers (tasks sleep, they do not burn CPU); piscina with ${p.cores} threads × concurrentTasksPerWorker ${Math.ceil(wide / p.cores)}`);

  const series: BenchSeries[] = [];
  const curve = (name: string, c: Curve | string, k: "tree" | "linear", dashed = false) => {
    if (typeof c === "string") return;
    series.push({ chart: "tree-vs-linear", name, points: p.sizes.map((n) => [n, c[k].get(n)!.median * 1e3]), dashed });
  };
  curve(`loom tree (${wide} workers)`, loomWide, "tree");
  curve(`loom linear (${wide} workers)`, loomWide, "linear");
  curve(`loom tree (${p.cores} workers)`, loomCores, "tree");
  curve(`piscina tree (${wide} slots)`, poolWide, "tree", true);
  curve(`piscina linear (${wide} slots)`, poolWide, "linear", true);
  series.push({ chart: "tree-vs-linear", name: "ideal tree (unbounded)", points: p.sizes.map((n) => [n, idealTreeMs(n, Infinity)]), dashed: true });
  series.push({ chart: "tree-vs-linear", name: "ideal linear", points: p.sizes.map((n) => [n, idealLinearMs(n)]), dashed: true });

  return { name: "tree-reduce", title: "Tree vs linear reduce (20 ms tasks)", quick, params: { ...p }, rows: rows.map(evaluateTarget), series, notes, ...(skipped ? { skipped } : {}) };
}
