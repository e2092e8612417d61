// Whether memory stayed flat after warm-up, from the memory soak's samples. Pure: the test feeds it synthetic
// curves. "Flat" here: drop the warm-up (the first third of the samples by default), split the rest into
// halves (the middle and last thirds), and for every series the median of the last part stays within
// `relative` of the middle part's median plus an absolute slack (bytes for memory, entries for tables).
// Medians, not maxima: one sample taken while a replaced worker's heap was still warming must not decide.
// The driver's graph (rt.graph()) is bounded by design, not flat: it fills to GRAPH_LIMIT nodes (about 150 B of
// driver heap each) and then drops its older half. So its size is judged against that bound, and the warm-up
// lasts at least until the graph first dropped nodes; a run that ends before that says so.
import { GRAPH_LIMIT } from "../../engine/graph/graph-recorder.js";
import type { MemorySample } from "./memory-sampler.js";

export interface FlatnessLimits {
  /** Share of warm-up samples dropped (default 1/3). */
  warmupShare: number;
  /**
   * Memory series: allowed growth, relative to the middle median, plus bytes (defaults 5%, 8 MiB). The medians
   * are a third of the run apart: over two hours, a leak of 0.5 MiB a minute moves them by 20 MiB and is caught.
   */
  relative: number;
  absoluteBytes: number;
  /** Table sizes: allowed growth, relative, plus entries (defaults 10%, 64). */
  tableRelative: number;
  tableAbsolute: number;
  /** Fewer samples than this (after warm-up) give no verdict (default 4). */
  minSamples: number;
}

export const DEFAULT_LIMITS: FlatnessLimits = {
  warmupShare: 1 / 3, relative: 0.05, absoluteBytes: 8 * 2 ** 20, tableRelative: 0.1, tableAbsolute: 64, minSamples: 4,
};

export interface SeriesVerdict {
  name: string;
  unit: "bytes" | "entries";
  middle: number;
  last: number;
  /** The most `last` may be while flat. */
  limit: number;
  grew: boolean;
  /** Least-squares slope over the samples after warm-up, per hour (for the record; the verdict uses medians). */
  perHour: number;
}

export interface FlatVerdict {
  /** undefined: too few samples to say. */
  flat: boolean | undefined;
  summary: string;
  series: SeriesVerdict[];
}

const MEMORY_SERIES = ["driverRss", "driverHeapUsed", "driverExternal", "arenaBytes", "segmentBytes", "idleSegmentBytes", "workerHeapSum", "workerHeapMax"] as const;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function slopePerHour(ts: number[], ys: number[]): number {
  const n = ts.length;
  if (n < 2) return 0;
  const mt = ts.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { num += (ts[i]! - mt) * (ys[i]! - my); den += (ts[i]! - mt) ** 2; }
  return den === 0 ? 0 : (num / den) * 3600;
}

export function flatVerdict(samples: MemorySample[], limits: Partial<FlatnessLimits> = {}): FlatVerdict {
  const l = { ...DEFAULT_LIMITS, ...limits };
  const graphFull = samples.findIndex((s, i) => i > 0 && s.tables.graphNodes !== undefined && s.tables.graphNodes < samples[i - 1]!.tables.graphNodes!);
  const warmup = Math.max(Math.floor(samples.length * l.warmupShare), graphFull);
  const after = samples.slice(warmup);
  const graphNote = graphFull < 0 && samples.some((s) => s.tables.graphNodes !== undefined)
    ? ` (the graph was still filling toward its ${GRAPH_LIMIT}-node bound: part of the driver heap's growth is the graph's)` : "";
  if (after.length < l.minSamples) {
    return { flat: undefined, summary: `too few samples to judge: ${samples.length}, ${after.length} after warm-up (need ${l.minSamples})`, series: [] };
  }
  const half = after.length >> 1;
  const judge = (name: string, unit: SeriesVerdict["unit"], pick: (s: MemorySample) => number | undefined): SeriesVerdict | undefined => {
    const points = after.map((s, i) => ({ i, t: s.t, y: pick(s) })).filter((p): p is { i: number; t: number; y: number } => p.y !== undefined);
    const middle = points.filter((p) => p.i < half), last = points.filter((p) => p.i >= half);
    if (middle.length === 0 || last.length === 0) return undefined;
    const m = median(middle.map((p) => p.y)), z = median(last.map((p) => p.y));
    const limit = unit === "bytes" ? m * (1 + l.relative) + l.absoluteBytes : m * (1 + l.tableRelative) + l.tableAbsolute;
    return { name, unit, middle: m, last: z, limit, grew: z > limit, perHour: slopePerHour(points.map((p) => p.t), points.map((p) => p.y)) };
  };
  const series: SeriesVerdict[] = [];
  for (const name of MEMORY_SERIES) {
    // A worker series counts only samples that reached every worker: a missing thread is not a smaller heap.
    const worker = name.startsWith("worker");
    const v = judge(name, "bytes", (s) => (worker && s.workersSeen < s.workerCount ? undefined : s[name]));
    if (v) series.push(v);
  }
  series.push(judge("storeObjects", "entries", (s) => s.storeObjects)!);
  const tableNames = new Set(after.flatMap((s) => Object.keys(s.tables)));
  tableNames.delete("graphNodes");
  const graphMost = Math.max(0, ...samples.map((s) => s.tables.graphNodes ?? 0));
  series.push({ name: "tables.graphNodes", unit: "entries", middle: graphMost, last: graphMost, limit: GRAPH_LIMIT, grew: graphMost > GRAPH_LIMIT, perHour: 0 });
  for (const name of tableNames) {
    const v = judge(`tables.${name}`, "entries", (s) => s.tables[name]);
    if (v) series.push(v);
  }
  const grew = series.filter((s) => s.grew);
  const show = (s: SeriesVerdict): string => s.unit === "bytes"
    ? `${s.name} ${(s.middle / 2 ** 20).toFixed(1)} -> ${(s.last / 2 ** 20).toFixed(1)} MiB (limit ${(s.limit / 2 ** 20).toFixed(1)})`
    : s.name === "tables.graphNodes" ? `${s.name} at most ${s.last} (bound ${s.limit})` : `${s.name} ${s.middle} -> ${s.last} (limit ${Math.floor(s.limit)})`;
  const summary = grew.length
    ? `NOT flat after warm-up: ${grew.map(show).join("; ")}${graphNote}`
    : `flat after warm-up (${warmup} warm-up samples dropped, medians of ${half} vs ${after.length - half}): ${series.filter((s) => s.unit === "bytes" && /^(driverRss|driverHeapUsed|workerHeapSum)$/.test(s.name)).map(show).join("; ")}${graphNote}`;
  return { flat: grew.length === 0, summary, series };
}
