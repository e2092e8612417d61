// `npm run bench` / `npm run bench:quick`: runs every workload (each with its baselines in this
// same process run), prints the machine and a results table, and writes bench/results/
// (latest.json, latest.md, SVG charts; quick/ for --quick; partial/ for --only). Flags: --quick
// (reduced sizes), --only a,b.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { finalize, peerRows } from "./lib/comparison.js";
import { summaryTable, targetLine, writeReport, type RunReport } from "./lib/report.js";
import { canary } from "./lib/canary.js";
import { withLimit } from "./lib/loom.js";
import { systemInfo } from "./lib/system.js";
import { ratioOf, type BenchResult, type BenchRow, type RunOptions } from "./lib/types.js";

/** In run order: cheap and robust first, so a quick run shows the most before anything slow. */
const WORKLOADS = [
  "throughput",
  "many-actors",
  "tree-reduce",
  "expensive-init",
  "stateful-prefix",
  "numeric",
  "monte-carlo-pi",
  "reconstruction",
  "streaming",
  "cluster",
  "million-tasks",
  "startup",
  "flagship-duckdb",
] as const;

const RESULTS_DIR = fileURLToPath(new URL("./results", import.meta.url));

/**
 * Where a run's report goes. A run of every workload owns latest.* and the charts (a quick one those under
 * quick/); a partial run (--only) gets files of its own under partial/, named after its workloads, without
 * charts, so that it never replaces a full run's report.
 */
function reportTarget(quick: boolean, only: string[] | null): { dir: string; base: string; withCharts: boolean } {
  if (!only) return { dir: quick ? `${RESULTS_DIR}/quick` : RESULTS_DIR, base: "latest", withCharts: true };
  const names = WORKLOADS.filter((w) => only.includes(w)).join("+");
  return { dir: `${RESULTS_DIR}/partial`, base: quick ? `${names}.quick` : names, withCharts: false };
}

function parseArgs(argv: string[]): { quick: boolean; only: string[] | null } {
  let quick = false;
  let only: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") quick = true;
    else if (a === "--only") only = (argv[++i] ?? "").split(",").filter(Boolean);
    else if (a.startsWith("--only=")) only = a.slice(7).split(",").filter(Boolean);
    else if (a === "--help" || a === "-h") {
      console.log(`usage: node --import tsx bench/run.ts [--quick] [--only ${WORKLOADS.join(",")}]`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (only?.length === 0) throw new Error("--only needs one or more workload names, separated by commas");
  if (only) for (const o of only) if (!(WORKLOADS as readonly string[]).includes(o)) throw new Error(`unknown workload ${o}; known: ${WORKLOADS.join(", ")}`);
  return { quick, only };
}

/** monte-carlo-pi.ts (written separately) returns times in ms and ratios; map them onto table rows. */
interface TimesAndRatios {
  samples?: number;
  times: { serialMs?: number; loomPoolMs?: number; piscinaOnLoomMs?: number; piscinaMs?: number };
  ratios?: Record<string, number>;
  startup?: Record<string, number>;
  pi?: number;
}

function fromTimesAndRatios(name: string, r: TimesAndRatios, quick: boolean): BenchResult {
  const s = (ms: number | undefined) => (typeof ms === "number" ? ms / 1e3 : null);
  const t = r.times;
  const rows: BenchRow[] = [
    ...peerRows({
      case: `Pool.map, ${r.samples?.toLocaleString("en-US") ?? "?"} samples`,
      unit: "s",
      loom: s(t.loomPoolMs),
      variants: [
        { peer: "piscina", variant: "the same jobs", value: s(t.piscinaMs) },
        { peer: "serial", variant: "one thread", value: s(t.serialMs) },
      ],
    }),
    {
      case: "piscina's code on loom/pool vs Pool.map",
      unit: "s",
      loom: s(t.piscinaOnLoomMs),
      vs: "loom",
      peer: "loom Pool.map",
      peerValue: s(t.loomPoolMs),
      ratio: ratioOf(t.loomPoolMs, t.piscinaOnLoomMs),
      ratioLabel: "loom Pool.map / loom piscina-API",
      extra: { ...(r.startup ?? {}) },
    },
  ];
  rows[0]!.headline = true;
  return { name, title: "Monte Carlo π", quick, params: { samples: r.samples }, rows, notes: [`π ≈ ${r.pi}`] };
}

/** A workload written elsewhere may return another shape: adapt what is known, show the rest as a note. */
function normalize(name: string, raw: unknown, quick: boolean): BenchResult {
  const r = (raw ?? {}) as Partial<BenchResult> & Record<string, unknown>;
  if (Array.isArray(r.rows)) {
    return { ...r, name: r.name ?? name, title: r.title ?? name, quick, params: r.params ?? {}, rows: r.rows as BenchRow[] } as BenchResult;
  }
  if (typeof r["times"] === "object" && r["times"] !== null) return fromTimesAndRatios(name, r as unknown as TimesAndRatios, quick);
  return { name, title: name, quick, params: {}, rows: [], notes: [`unrecognized result shape: ${JSON.stringify(raw).slice(0, 400)}`] };
}

/** Seconds a workload may take before the runner shuts Loom down under it (a hang must not stop the suite). */
function limitSeconds(name: string, quick: boolean): number {
  if (name === "million-tasks") return quick ? 150 : 450;
  // Seven whole processes per side and file on 2 cores, on top of the in-process runs.
  if (name === "flagship-duckdb") return quick ? 400 : 900;
  return quick ? 120 : 420;
}

async function runOne(name: string, opts: RunOptions): Promise<BenchResult | null> {
  const file = new URL(`./workloads/${name}.ts`, import.meta.url);
  if (!existsSync(file)) return null;
  const t0 = performance.now();
  try {
    const mod = (await import(file.href)) as { run?: (o: RunOptions) => Promise<unknown> };
    if (typeof mod.run !== "function") throw new Error(`${name}.ts exports no run()`);
    const res = finalize(normalize(name, await withLimit(name, mod.run(opts), limitSeconds(name, opts.quick)), opts.quick));
    res.wallSeconds = (performance.now() - t0) / 1e3;
    return res;
  } catch (err) {
    const e = err as Error;
    console.error(`\n✗ ${name} failed: ${e.stack ?? e}`);
    // A workload that throws did not finish: failed, not merely skipped (its message may be a wrong answer).
    const failures = [`threw: ${e.message.split("\n")[0]}`];
    return { name, title: name, quick: opts.quick, params: {}, rows: [], failures, wallSeconds: (performance.now() - t0) / 1e3 };
  }
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const system = systemInfo();
  console.log(`Loom benchmarks${quick ? " (quick)" : ""}`);
  console.log(`node ${system.node} · ${system.cores} cores (${system.cpu}) · build ${system.build} · ${system.date}`);
  console.log(`engine: ${system.engine}`);
  const firstCanary = await canary();
  console.log(`canary (two-thread parallel efficiency, 2.00 = two free cores): ${firstCanary.toFixed(2)}`);
  const t0 = performance.now();
  const results: BenchResult[] = [];
  for (const name of WORKLOADS) {
    if (only && !only.includes(name)) continue;
    if (!existsSync(new URL(`./workloads/${name}.ts`, import.meta.url))) {
      console.error(`\n▶ ${name}: bench/workloads/${name}.ts not present; skipped`);
      continue;
    }
    const before = await canary();
    console.error(`\n▶ ${name} (canary ${before.toFixed(2)})`);
    const res = await runOne(name, { quick });
    if (!res) continue;
    // Quick runs skip the second canary (time); the next workload's "before" reads about the same.
    res.canary = { before, after: quick ? NaN : await canary() };
    console.error(`  done in ${res.wallSeconds?.toFixed(1)} s${res.skipped ? ` — Loom skipped: ${res.skipped}` : ""}`);
    for (const f of res.failures ?? []) console.error(`  ✗ ${name} FAILED: ${f}`);
    results.push(res);
  }
  const report: RunReport = { system, quick, only, wallSeconds: (performance.now() - t0) / 1e3, results };
  const target = reportTarget(quick, only);
  const files = writeReport(target.dir, report, target.base, target.withCharts);
  console.log(`\n${summaryTable(results)}\n`);
  console.log(`${targetLine(results)} · wall ${report.wallSeconds.toFixed(0)} s (every row: the .md file below)`);
  const shown = files.map((f) => f.replace(`${process.cwd()}/`, "")).join(", ");
  console.log(only ? `wrote the partial run's report to ${shown} (latest.* and the charts untouched)` : `wrote ${shown}`);
  const failed = results.filter((r) => r.failures?.length).map((r) => r.name);
  if (failed.length) console.error(`FAILED (a wrong answer or a broken comparison rule): ${failed.join(", ")}`);
  // Workers or pools left by a failed workload must not keep the process alive.
  process.exit(failed.length ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
