// Turns a run's results into the files under bench/results/: <base>.json, <base>.md (one table, every
// target with met yes/no, Loom against the strongest peer first) and, for a run of every workload, three SVG
// charts. Formatting only; no measuring.

import { mkdirSync, writeFileSync } from "node:fs";
import { groupedBarChart, lineChart, speedupChart, type BarGroup, type HBar } from "./svg.js";
import type { SystemInfo } from "./system.js";
import { EVEN_BAND, summaryLines, targetCounts } from "./comparison.js";
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

const VS_LABEL: Record<string, string> = { peer: "strongest peer", context: "weaker peer (context)", loom: "Loom vs Loom", absolute: "absolute" };

function fmtVerdict(row: BenchRow): string {
  if (!row.verdict || row.verdict === "n/a") return row.verdict ?? "";
  return row.verdict === "ahead" || row.verdict === "even" ? row.verdict : `**${row.verdict}**`;
}

/** Every row of every workload: what it compares with, both figures, the ratio, the verdict and the target. */
export function markdownTable(results: BenchResult[]): string {
  const lines = [
    "| workload | case | compared with | loom | other figure | ratio | verdict | target | met | details |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    if (r.rows.length === 0) lines.push(`| ${r.name} | ${r.skipped ? `skipped: ${r.skipped}` : "no rows"} | | | | | | | | |`);
    for (const row of r.rows) {
      const other = row.peerValue !== undefined ? `${row.peer ?? ""}: ${fmtCell(row.peerValue, row.unit)}` : "";
      lines.push(
        `| ${r.name} | ${row.case} | ${VS_LABEL[row.vs ?? ""] ?? "?"} | ${fmtCell(row.loom, row.unit)} | ${other} | ${fmtRatio(row)} | ${fmtVerdict(row)} | ${row.target?.text ?? ""} | ${fmtMet(row)} | ${fmtExtra(row)} |`,
      );
    }
  }
  return lines.join("\n");
}

/** Loom against the strongest variant of each peer only: one line per such row, failed and skipped workloads named. */
export function summaryTable(results: BenchResult[]): string {
  const lines = [
    "| workload | case | Loom | strongest peer | its figure | ratio (> 1: Loom ahead) | verdict |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const l of summaryLines(results)) {
    const ratio = typeof l.ratio === "number" ? `${l.ratio.toFixed(2)}×` : "–";
    const verdict = l.verdict === "behind" || l.verdict === "failed" ? `**${l.verdict}**` : l.verdict;
    lines.push(`| ${l.workload} | ${l.case} | ${fmtCell(l.loom, l.unit)} | ${l.peer} | ${fmtCell(l.peerValue, l.unit)} | ${ratio} | ${verdict} |`);
  }
  for (const r of results) {
    if (r.failures?.length) lines.push(`| ${r.name} | **FAILED**: ${r.failures.join("; ").replace(/\|/g, "\\|")} | | | | | failed |`);
    else if (r.skipped) lines.push(`| ${r.name} | Loom skipped: ${r.skipped.replace(/\|/g, "\\|")} | | | | | |`);
    else if (!r.rows.some((row) => row.vs === "peer")) lines.push(`| ${r.name} | no peer runs this workload: Loom against a bound or against itself (every row below) | | | | | |`);
  }
  return lines.join("\n");
}

/** "targets met: against the strongest peers 3/7 · absolute 4/4 · Loom against Loom 5/6". */
export function targetLine(results: BenchResult[]): string {
  const c = targetCounts(results);
  return `targets met: against the strongest peers ${c.peer.met}/${c.peer.of} · absolute ${c.absolute.met}/${c.absolute.of} · Loom against Loom ${c.loom.met}/${c.loom.of}`;
}

export function markdownReport(rep: RunReport, withCharts = true): string {
  const s = rep.system;
  const failed = rep.results.filter((r) => r.failures?.length).map((r) => r.name);
  const out = [
    `# Loom benchmark results${rep.quick ? " (quick mode: reduced sizes)" : ""}`,
    "",
    `- date: ${s.date}`,
    `- node: ${s.node} (V8 ${s.v8}), ${s.platform}`,
    `- cores: ${s.cores} (${s.cpu}), memory ${s.totalMemGiB} GiB`,
    `- build: ${s.build}; loom ${s.loomVersion}; ${s.engine}`,
    `- command: \`npm run bench${rep.quick ? ":quick" : ""}\`${rep.only ? ` --only ${rep.only.join(",")}` : ""}; wall ${rep.wallSeconds.toFixed(0)} s`,
    `- ${targetLine(rep.results)}${failed.length ? `; **failed (wrong answer or broken rule): ${failed.join(", ")}**` : ""}`,
    "",
    "## Loom against the strongest peer",
    "",
    `For each workload, Loom against the best variant of each peer that ran (the fastest of the forms a competent user would write; weaker forms are in the full table as context). Ratio > 1: Loom ahead; within ±${EVEN_BAND * 100}%: even. A workload in which any variant gave a wrong answer is failed as a whole.`,
    "",
    summaryTable(rep.results),
    "",
    "## Every row",
    "",
    "Every row's baselines ran in the same `node` process run as its Loom figure (million-tasks: each side in its own child process of this run, for a clean peak RSS); where a workload repeats, its variants are timed round-robin. Times are medians. \"Loom vs Loom\" rows measure one of Loom's own design choices, not a peer. The canary beside each workload is the parallel efficiency of two threads measured just before and after it (2.00 = two free cores; well below that, a neighbour was using the machine and every figure of that workload is suspect).",
    "",
    markdownTable(rep.results),
    "",
    "## Notes",
    "",
  ];
  for (const r of rep.results) {
    const notes = [...(r.failures ?? []).map((f) => `FAILED: ${f}`), ...(r.skipped ? [`Loom variant skipped: ${r.skipped}`] : []), ...(r.notes ?? [])];
    const canary = r.canary ? `, canary ${r.canary.before.toFixed(2)}${Number.isFinite(r.canary.after) ? ` → ${r.canary.after.toFixed(2)}` : ""}` : "";
    out.push(`- **${r.name}** (${r.wallSeconds?.toFixed(0) ?? "?"} s${canary}): ${notes.join("; ")}`);
  }
  if (withCharts) out.push("", "## Charts", "", "![tree vs linear](tree-vs-linear.svg)", "", "![throughput vs the strongest peer](throughput.svg)", "", "![Loom against the strongest peer](speedup.svg)");
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
  const thrRows = rep.results.flatMap((r) => r.rows.filter((row) => row.throughputChart && row.vs === "peer" && row.unit === "ops/s"));
  const groups: BarGroup[] = thrRows.map((row) => ({ label: `${row.case.split(" vs ")[0]} (${row.peer})`, values: [row.loom ?? null, row.peerValue ?? null] }));
  const thr = groupedBarChart("Throughput: Loom vs the strongest peer (log scale)", "operations / s", ["loom", "strongest peer"], groups);
  // Only rows against a strongest peer, and only the workload's headline one: never Loom against Loom.
  const bars: HBar[] = rep.results.flatMap((r) =>
    r.rows
      .filter((row) => row.headline && row.vs === "peer")
      .map((row) => ({
        label: `${r.name} vs ${row.peer ?? "?"}`,
        value: typeof row.ratio === "number" ? row.ratio : null,
        ...(row.target?.on === "ratio" ? { target: row.target.value } : {}),
        met: row.met ?? null,
      })),
  );
  const sp = speedupChart("Loom against the strongest peer (headline case per workload; > 1 is Loom ahead)", bars);
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
