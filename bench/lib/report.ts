// Turns a run's results into the files under bench/results/: <base>.json, <base>.md (one table, every
// target with met yes/no) and, for a run of every workload, three SVG charts. Formatting only; no measuring.

import { mkdirSync, writeFileSync } from "node:fs";
import { groupedBarChart, lineChart, speedupChart, type BarGroup, type HBar } from "./svg.js";
import type { SystemInfo } from "./system.js";
import type { BenchResult, BenchRow } from "./types.js";

export interface RunReport {
  system: SystemInfo;
  quick: boolean;
  only: string[] | null;
  wallSeconds: number;
  results: BenchResult[];
}

export function fmtNum(v: number | null | undefined): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 10_000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

function fmtCell(v: number | null | undefined, unit: string): string {
  const s = fmtNum(v);
  return s === "–" ? s : `${s} ${unit}`;
}

function fmtRatio(row: BenchRow): string {
  if (typeof row.ratio !== "number" || !Number.isFinite(row.ratio)) return "–";
  return `${row.ratio.toFixed(2)}× (${row.ratioLabel ?? ""})`;
}

function fmtMet(row: BenchRow): string {
  if (!row.target) return "";
  if (row.met === true) return "yes";
  if (row.met === false) return "**no**";
  return "n/a";
}

/** Flattens `extra` into "k=v" pairs for the table's notes column. */
function fmtExtra(row: BenchRow): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(row.extra ?? {})) {
    if (v === null || v === undefined) continue;
    parts.push(`${k}=${typeof v === "number" ? fmtNum(v) : v}`);
  }
  if (row.note) parts.unshift(row.note);
  return parts.join("; ").replace(/\|/g, "\\|");
}

export function markdownTable(results: BenchResult[]): string {
  const lines = [
    "| workload | case | loom | serial | piscina | ratio | target | met | details |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    if (r.rows.length === 0) lines.push(`| ${r.name} | ${r.skipped ? `skipped: ${r.skipped}` : "no rows"} | | | | | | | |`);
    for (const row of r.rows) {
      lines.push(
        `| ${r.name} | ${row.case} | ${fmtCell(row.loom, row.unit)} | ${fmtCell(row.serial, row.unit)} | ${fmtCell(row.piscina, row.unit)} | ${fmtRatio(row)} | ${row.target?.text ?? ""} | ${fmtMet(row)} | ${fmtExtra(row)} |`,
      );
    }
  }
  return lines.join("\n");
}

export function markdownReport(rep: RunReport, withCharts = true): string {
  const s = rep.system;
  const out = [
    `# Loom benchmark results${rep.quick ? " (quick mode: reduced sizes)" : ""}`,
    "",
    `- date: ${s.date}`,
    `- node: ${s.node} (V8 ${s.v8}), ${s.platform}`,
    `- cores: ${s.cores} (${s.cpu}), memory ${s.totalMemGiB} GiB`,
    `- build: ${s.build}; loom ${s.loomVersion}; ${s.engine}`,
    `- command: \`npm run bench${rep.quick ? ":quick" : ""}\`${rep.only ? ` --only ${rep.only.join(",")}` : ""}; wall ${rep.wallSeconds.toFixed(0)} s`,
    "",
    "Every row's baselines ran in the same `node` process run as its Loom figure (million-tasks: each side in its own child process of this run, for a clean peak RSS); where a workload repeats, its variants are timed round-robin. Times are medians. The canary beside each workload is the parallel efficiency of two threads measured just before and after it (2.00 = two free cores; well below that, a neighbour was using the machine and every figure of that workload is suspect).",
    "",
    markdownTable(rep.results),
    "",
    "## Notes",
    "",
  ];
  for (const r of rep.results) {
    const notes = [...(r.skipped ? [`Loom variant skipped: ${r.skipped}`] : []), ...(r.notes ?? [])];
    const canary = r.canary ? `, canary ${r.canary.before.toFixed(2)}${Number.isFinite(r.canary.after) ? ` → ${r.canary.after.toFixed(2)}` : ""}` : "";
    out.push(`- **${r.name}** (${r.wallSeconds?.toFixed(0) ?? "?"} s${canary}): ${notes.join("; ")}`);
  }
  if (withCharts) out.push("", "## Charts", "", "![tree vs linear](tree-vs-linear.svg)", "", "![throughput vs piscina](throughput.svg)", "", "![speedup per workload](speedup.svg)");
  out.push("");
  return out.join("\n");
}

export function charts(rep: RunReport): Record<string, string> {
  const series = rep.results.flatMap((r) => r.series ?? []);
  const tree = lineChart(
    "Tree vs linear reduce, 20 ms tasks",
    "values reduced (n)",
    "ms (median)",
    series.filter((s) => s.chart === "tree-vs-linear"),
    { logX: true },
  );
  const thrRows = rep.results.flatMap((r) => r.rows.filter((row) => row.throughputChart && row.unit === "ops/s"));
  const groups: BarGroup[] = thrRows.map((row) => ({ label: row.case, values: [row.loom ?? null, row.piscina ?? null] }));
  const thr = groupedBarChart("Throughput: Loom vs piscina (log scale)", "operations / s", ["loom", "piscina"], groups);
  const bars: HBar[] = rep.results.flatMap((r) =>
    r.rows
      .filter((row) => row.headline)
      .map((row) => ({
        label: `${r.name}: ${row.ratioLabel ?? "ratio"}`,
        value: typeof row.ratio === "number" ? row.ratio : null,
        ...(row.target?.on === "ratio" ? { target: row.target.value } : {}),
        met: row.met ?? null,
      })),
  );
  const sp = speedupChart("Speedup per workload (headline ratio; > 1 is Loom ahead)", bars);
  return { "tree-vs-linear.svg": tree, "throughput.svg": thr, "speedup.svg": sp };
}

/** Writes `dir/<base>.json` and `dir/<base>.md`, and the charts beside them when `withCharts`; returns the paths. */
export function writeReport(dir: string, rep: RunReport, base = "latest", withCharts = true): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {
    [`${base}.json`]: `${JSON.stringify(rep, null, 2)}\n`,
    [`${base}.md`]: markdownReport(rep, withCharts),
    ...(withCharts ? charts(rep) : {}),
  };
  for (const [name, body] of Object.entries(files)) writeFileSync(`${dir}/${name}`, body);
  return Object.keys(files).map((f) => `${dir}/${f}`);
}
