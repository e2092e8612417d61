// One million trivial tasks through one driver (target ≤ 10 s, peak RSS ≤ 1.5 GB; quick: 100k).
// Each side runs in a fresh child process of this run so its peak RSS (process-wide, all
// worker threads included) is its own; all tasks are submitted at once, then gathered and every
// answer checked. piscina runs twice, with its defaults and with concurrentTasksPerWorker 16 (its
// bulk-task tuning); the stronger of the two is the one compared.

import os from "node:os";
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { progress } from "../lib/measure.js";
import { makePool, warmPool } from "../lib/pools.js";
import { startLoom, warmLoom } from "../lib/loom.js";
import { peerRows, wrongAnswer } from "../lib/comparison.js";
import type { BenchResult, BenchRow, RunOptions } from "../lib/types.js";
import type * as TrivialModule from "./modules/trivial-task.js";

const TASK_MODULE = new URL("./modules/trivial-task.ts", import.meta.url);
const POOL_MODULE = new URL("./modules/trivial-pool.ts", import.meta.url);


type Kind = "loom" | "piscina" | "piscina-tuned";
const TUNED_CTPW = 16;

interface ChildReport {
  kind: Kind;
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
    checkAll("loom", out);
    return { kind: "loom", n, seconds: (t2 - t0) / 1e3, submitSeconds: (t1 - t0) / 1e3, peakRssBytes: process.resourceUsage().maxRSS * 1024, baseRssBytes };
  } finally {
    await rt.shutdown();
  }
}

/** inc(i) is i + 1, for every i: a result given to the wrong task shows. */
function checkAll(kind: Kind, out: readonly number[]): void {
  for (let i = 0; i < out.length; i++) if (out[i] !== i + 1) throw wrongAnswer(`${kind}: inc(${i}) gave ${out[i]}`);
}

async function childPiscina(n: number, kind: "piscina" | "piscina-tuned"): Promise<ChildReport> {
  const pool = await makePool(POOL_MODULE, kind === "piscina-tuned" ? { concurrentTasksPerWorker: TUNED_CTPW } : {});
  try {
    await warmPool(pool, "ping", null);
    const baseRssBytes = process.memoryUsage.rss();
    const t0 = performance.now();
    const promises = new Array<Promise<number>>(n);
    for (let i = 0; i < n; i++) promises[i] = pool.run(i) as Promise<number>;
    const t1 = performance.now();
    const out = await Promise.all(promises);
    const t2 = performance.now();
    checkAll(kind, out);
    return { kind, n, seconds: (t2 - t0) / 1e3, submitSeconds: (t1 - t0) / 1e3, peakRssBytes: process.resourceUsage().maxRSS * 1024, baseRssBytes };
  } finally {
    await pool.destroy();
  }
}

/** Runs this file as a child (`--child <kind> <n>`) and reads its JSON report from the last stdout line. */
function runChild(kind: Kind, n: number, timeoutMs: number): Promise<ChildReport> {
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
  progress(`piscina, concurrentTasksPerWorker ${TUNED_CTPW}: ${n.toLocaleString("en-US")} tasks (child process)`);
  const pt = await runChild("piscina-tuned", n, childTimeoutMs);
  progress(`piscina-tuned: ${JSON.stringify(pt)}`);

  const gib = (b: number | undefined) => (b === undefined ? null : b / 2 ** 30);
  const notes: string[] = [];
  for (const r of [lo, pi, pt]) if (r.error) notes.push(`${r.kind}: ${r.error.split("\n")[0]}`);
  if (quick) notes.push("quick mode: 100k tasks; the targets are for 1M");
  const N = n.toLocaleString("en-US");
  const rate = (r: ChildReport) => (r.seconds ? n / r.seconds : null);
  const piscinaVariants = (f: (r: ChildReport) => number | null) => [
    { peer: "piscina", variant: `concurrentTasksPerWorker ${TUNED_CTPW}`, value: f(pt) },
    { peer: "piscina", variant: "defaults", value: f(pi) },
  ];
  const rows: BenchRow[] = [
    {
      case: `${N} tasks, one driver: time`,
      unit: "s",
      loom: lo.seconds ?? null,
      vs: "absolute",
      target: { on: "loom", op: "<=", value: quick ? 1 : 10, text: quick ? "≤ 1 s (10 s per 1M)" : "≤ 10 s" },
      extra: { loomSubmitS: lo.submitSeconds ?? null, piscinaSubmitS: pi.submitSeconds ?? null, piscinaTunedSubmitS: pt.submitSeconds ?? null },
    },
    {
      case: `${N} tasks, one driver: peak RSS`,
      unit: "GiB",
      loom: gib(lo.peakRssBytes),
      vs: "absolute",
      target: { on: "loom", op: "<=", value: 1.5, text: "≤ 1.5 GB" },
      extra: { loomBaseRssGiB: gib(lo.baseRssBytes), piscinaBaseRssGiB: gib(pi.baseRssBytes) },
    },
    ...peerRows({ case: `${N} tasks: throughput`, unit: "ops/s", loom: rate(lo), variants: piscinaVariants(rate), throughputChart: true }),
    ...peerRows({ case: `${N} tasks: peak RSS`, unit: "GiB", loom: gib(lo.peakRssBytes), variants: piscinaVariants((r) => gib(r.peakRssBytes)) }),
  ];
  rows[2]!.headline = true;
  return {
    name: "million-tasks",
    title: "One million tasks",
    quick,
    params: { n },
    rows,
    notes,
    ...(lo.skipped ? { skipped: lo.skipped } : {}),
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain && process.argv[2] === "--child") {
  const kind: Kind = process.argv[3] === "piscina" || process.argv[3] === "piscina-tuned" ? process.argv[3] : "loom";
  const n = Number(process.argv[4]);
  (kind === "loom" ? childLoom(n) : childPiscina(n, kind))
    .then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
    .catch((err: unknown) => process.stdout.write(`${JSON.stringify({ kind, n, error: String((err as Error).stack ?? err) })}\n`))
    .finally(() => process.exit(0));
}
