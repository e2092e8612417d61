// One million trivial tasks through one driver (target ≤ 10 s, peak RSS ≤ 1.5 GB; quick: 100k).
// Each side runs in a fresh child process of this run so its peak RSS (process-wide, all
// worker threads included) is its own; all tasks are submitted at once, then gathered.

import os from "node:os";
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { progress } from "../lib/measure.js";
import { makePool, warmPool } from "../lib/pools.js";
import { startLoom, warmLoom } from "../lib/loom.js";
import { evaluateTarget, ratioOf, type BenchResult, type BenchRow, type RunOptions } from "../lib/types.js";
import type * as TrivialModule from "./modules/trivial-task.js";

const TASK_MODULE = new URL("./modules/trivial-task.ts", import.meta.url);
const POOL_MODULE = new URL("./modules/trivial-pool.ts", import.meta.url);


interface ChildReport {
  kind: "loom" | "piscina";
  n: number;
  /** Seconds from the first submission to the last result. */
  seconds?: number;
  /** Seconds spent in the submission loop alone. */
  submitSeconds?: number;
  peakRssBytes?: number;
  /** RSS right before the first submission (runtime and workers started). */
  baseRssBytes?: number;
  skipped?: string;
  error?: string;
}

async function childLoom(n: number): Promise<ChildReport> {
  const started = await startLoom();
  if ("skipped" in started) return { kind: "loom", n, skipped: started.skipped };
  const { rt } = started;
  try {
    const m = await rt.module<typeof TrivialModule>(TASK_MODULE);
    await warmLoom(rt, m.warm, os.availableParallelism());
    await rt.get(Array.from({ length: 1000 }, (_, i) => m.inc.remote(i)));
    const baseRssBytes = process.memoryUsage.rss();
    const t0 = performance.now();
    const refs = new Array<ReturnType<typeof m.inc.remote>>(n);
    for (let i = 0; i < n; i++) refs[i] = m.inc.remote(i);
    const t1 = performance.now();
    const out = await rt.get(refs);
    const t2 = performance.now();
    let sum = 0;
    for (const v of out) sum += v;
    if (sum !== (n * (n + 1)) / 2) throw new Error(`sum ${sum} != ${(n * (n + 1)) / 2}`);
    return { kind: "loom", n, seconds: (t2 - t0) / 1e3, submitSeconds: (t1 - t0) / 1e3, peakRssBytes: process.resourceUsage().maxRSS * 1024, baseRssBytes };
  } finally {
    await rt.shutdown();
  }
}

async function childPiscina(n: number): Promise<ChildReport> {
  const pool = await makePool(POOL_MODULE);
  try {
    await warmPool(pool, "ping", null);
    const baseRssBytes = process.memoryUsage.rss();
    const t0 = performance.now();
    const promises = new Array<Promise<number>>(n);
    for (let i = 0; i < n; i++) promises[i] = pool.run(i) as Promise<number>;
    const t1 = performance.now();
    const out = await Promise.all(promises);
    const t2 = performance.now();
    let sum = 0;
    for (const v of out) sum += v;
    if (sum !== (n * (n + 1)) / 2) throw new Error(`sum ${sum} != ${(n * (n + 1)) / 2}`);
    return { kind: "piscina", n, seconds: (t2 - t0) / 1e3, submitSeconds: (t1 - t0) / 1e3, peakRssBytes: process.resourceUsage().maxRSS * 1024, baseRssBytes };
  } finally {
    await pool.destroy();
  }
}

/** Runs this file as a child (`--child <kind> <n>`) and reads its JSON report from the last stdout line. */
function runChild(kind: "loom" | "piscina", n: number, timeoutMs: number): Promise<ChildReport> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", kind, String(n)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(last) as ChildReport);
      } catch {
        resolve({ kind, n, error: `child exited (code ${code}, signal ${signal}) without a report${signal === "SIGKILL" ? ` (killed after ${timeoutMs / 1e3} s)` : ""}` });
      }
    });
  });
}

export async function run({ quick }: RunOptions): Promise<BenchResult> {
  const n = quick ? 100_000 : 1_000_000;
  // Each child's budget; the runner's limit for this workload covers both plus start-up.
  const childTimeoutMs = quick ? 60_000 : 200_000;
  progress(`loom: ${n.toLocaleString("en-US")} tasks (child process)`);
  const lo = await runChild("loom", n, childTimeoutMs);
  progress(`loom: ${JSON.stringify(lo)}`);
  progress(`piscina: ${n.toLocaleString("en-US")} tasks (child process)`);
  const pi = await runChild("piscina", n, childTimeoutMs);
  progress(`piscina: ${JSON.stringify(pi)}`);

  const gib = (b: number | undefined) => (b === undefined ? null : b / 2 ** 30);
  const notes: string[] = [];
  for (const r of [lo, pi]) if (r.error) notes.push(`${r.kind}: ${r.error.split("\n")[0]}`);
  if (quick) notes.push("quick mode: 100k tasks; the targets are for 1M");
  const rows: BenchRow[] = [
    {
      case: `${n.toLocaleString("en-US")} tasks, one driver: time`,
      unit: "s",
      loom: lo.seconds ?? null,
      piscina: pi.seconds ?? null,
      ratio: ratioOf(pi.seconds, lo.seconds),
      ratioLabel: "piscina/loom",
      target: { on: "loom", op: "<=", value: quick ? 1 : 10, text: quick ? "≤ 1 s (10 s per 1M)" : "≤ 10 s" },
      extra: { loomSubmitS: lo.submitSeconds ?? null, piscinaSubmitS: pi.submitSeconds ?? null, loomTasksPerSec: lo.seconds ? n / lo.seconds : null },
    },
    {
      case: `${n.toLocaleString("en-US")} tasks, one driver: peak RSS`,
      unit: "GiB",
      loom: gib(lo.peakRssBytes),
      piscina: gib(pi.peakRssBytes),
      ratio: ratioOf(pi.peakRssBytes, lo.peakRssBytes),
      ratioLabel: "piscina/loom",
      target: { on: "loom", op: "<=", value: 1.5, text: "≤ 1.5 GB" },
      extra: { loomBaseRssGiB: gib(lo.baseRssBytes), piscinaBaseRssGiB: gib(pi.baseRssBytes) },
    },
    {
      case: `${n.toLocaleString("en-US")} tasks: throughput`,
      unit: "ops/s",
      loom: lo.seconds ? n / lo.seconds : null,
      piscina: pi.seconds ? n / pi.seconds : null,
      ratio: ratioOf(pi.seconds, lo.seconds),
      ratioLabel: "loom/piscina",
      throughputChart: true,
      headline: true,
    },
  ];
  return {
    name: "million-tasks",
    title: "One million tasks",
    quick,
    params: { n },
    rows: rows.map(evaluateTarget),
    notes,
    ...(lo.skipped ? { skipped: lo.skipped } : {}),
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain && process.argv[2] === "--child") {
  const kind = process.argv[3] === "piscina" ? "piscina" : "loom";
  const n = Number(process.argv[4]);
  (kind === "loom" ? childLoom(n) : childPiscina(n))
    .then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
    .catch((err: unknown) => process.stdout.write(`${JSON.stringify({ kind, n, error: String((err as Error).stack ?? err) })}\n`))
    .finally(() => process.exit(0));
}
