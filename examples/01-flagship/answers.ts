// The flagship's answers, defined exactly so that an independent engine (DuckDB, bench/workloads/flagship-duckdb.ts)
// can be checked against them bit for bit: integer counts and sums, one double division per mean, and DuckDB's
// quantile_cont / quantile_disc at 0.9. Built from a merged FlightStats; the JSON written by `--json` is this object.
import { DISTANCE_BANDS, type DelayHistograms, type FlightStats, type NamedSums } from "./flight-stats.js";

export interface HourRow { hour: number; count: number; sum_delay: number; mean_delay: number; delayed_gt15: number; share_delayed_gt15: number }
export interface HourP90Row { hour: number; count: number; p90_delay_cont: number; p90_delay_disc: number }
export interface BandRow {
  band: string; lo: number; hi: number | null; count: number; sum_delay: number; mean_delay: number;
  p90_delay_cont: number; p90_delay_disc: number;
}
export interface OriginRow { origin: string; count: number; sum_delay: number; mean_delay: number }
export interface RouteRow { origin: string; destination: string; count: number; sum_delay: number; mean_delay: number }
export interface RouteSummary {
  total_routes: number;
  routes_with_at_least_500: number;
  route_11th: { origin: string; destination: string; count: number; mean_delay: number } | null;
}

/** Sections whose columns the file lacks are absent (origin: by_origin and its top 10; routes: both route sections). */
export interface FlightAnswers {
  producer?: string;
  dataset?: string;
  notes?: string;
  by_hour: HourRow[];
  by_distance_band: BandRow[];
  by_origin?: OriginRow[];
  top10_busiest_origins?: OriginRow[];
  top10_routes_mean_delay_min500?: RouteRow[];
  routes?: RouteSummary;
  totals: { count: number; sum_delay: number; mean_delay: number };
  extra_by_hour_p90: HourP90Row[];
}

export const ROUTE_MIN_FLIGHTS = 500;
const Q = 0.9;

/** The answers of one merged partial. */
export function answersFrom(stats: FlightStats, labels: { producer?: string; dataset?: string } = {}): FlightAnswers {
  const hours = groupRows(stats.byHour);
  const bands = groupRows(stats.byBand);
  const count = hours.reduce((s, h) => s + h.count, 0);
  const sum = hours.reduce((s, h) => s + h.sum, 0);
  const out: FlightAnswers = {
    ...labels,
    by_hour: hours.map((h) => ({
      hour: h.group, count: h.count, sum_delay: h.sum, mean_delay: h.sum / h.count, delayed_gt15: h.gt15, share_delayed_gt15: h.gt15 / h.count,
    })),
    by_distance_band: bands.map((b) => ({
      ...DISTANCE_BANDS[b.group], count: b.count, sum_delay: b.sum, mean_delay: b.sum / b.count, p90_delay_cont: b.p90Cont, p90_delay_disc: b.p90Disc,
    })),
    totals: { count, sum_delay: sum, mean_delay: sum / count },
    extra_by_hour_p90: hours.map((h) => ({ hour: h.group, count: h.count, p90_delay_cont: h.p90Cont, p90_delay_disc: h.p90Disc })),
  };
  if (stats.byOrigin) {
    const origins = named(stats.byOrigin).sort((a, b) => b.count - a.count || byteCompare(a.origin, b.origin));
    out.by_origin = origins.map(({ origin, count, sum_delay, mean_delay }) => ({ origin, count, sum_delay, mean_delay }));
    out.top10_busiest_origins = out.by_origin.slice(0, 10);
  }
  if (stats.byRoute) {
    const all = named(stats.byRoute);
    const ranked = all.filter((r) => r.count >= ROUTE_MIN_FLIGHTS).sort((a, b) =>
      b.mean_delay - a.mean_delay || b.count - a.count || byteCompare(a.origin, b.origin) || byteCompare(a.destination, b.destination));
    out.top10_routes_mean_delay_min500 = ranked.slice(0, 10);
    const r11 = ranked[10];
    out.routes = {
      total_routes: all.length,
      routes_with_at_least_500: ranked.length,
      route_11th: r11 ? { origin: r11.origin, destination: r11.destination, count: r11.count, mean_delay: r11.mean_delay } : null,
    };
  }
  return out;
}

/** quantile_cont over a sorted list, as DuckDB computes it (doubles); for histograms see `groupRows`. */
export function quantileCont(sorted: ArrayLike<number>, q: number): number {
  return contFrom((k) => sorted[k], sorted.length, q);
}

/** quantile_disc(x, 0.9) over a sorted list, DuckDB's: the value at `n - floor(n / 10) - 1`. */
export function quantileDisc90(sorted: ArrayLike<number>): number {
  return sorted[disc90Index(sorted.length)];
}

function contFrom(at: (k: number) => number, n: number, q: number): number {
  const rn = (n - 1) * q;
  const frn = Math.floor(rn);
  const crn = Math.ceil(rn);
  const lo = at(frn);
  if (frn === crn) return lo;
  const d = rn - frn;
  return lo * (1 - d) + at(crn) * d;
}

// In integers: `1 - 0.9` is 0.09999999999999998 in doubles, and floor(n * that) would be one short for n = 10.
function disc90Index(n: number): number {
  return n - Math.floor(n / 10) - 1;
}

interface GroupRow { group: number; count: number; sum: number; gt15: number; p90Cont: number; p90Disc: number }

/** Per group with flights: count, sum, delays > 15 and the 0.9 quantiles, read off the histogram. */
function groupRows(h: DelayHistograms): GroupRow[] {
  const rows: GroupRow[] = [];
  for (let g = 0; g < h.groups; g++) {
    const base = g * h.width;
    let count = 0;
    let sum = 0;
    let gt15 = 0;
    for (let v = 0; v < h.width; v++) {
      const c = h.hist[base + v];
      if (c === 0) continue;
      const delay = h.lo + v;
      count += c;
      sum += c * delay;
      if (delay > 15) gt15 += c;
    }
    if (count === 0) continue;
    const kth = kthOf(h, base);
    rows.push({ group: g, count, sum, gt15, p90Cont: contFrom(kth, count, Q), p90Disc: kth(disc90Index(count)) });
  }
  return rows;
}

/** x[k] of a group's sorted delays, from its histogram. */
function kthOf(h: DelayHistograms, base: number): (k: number) => number {
  return (k) => {
    let seen = 0;
    for (let v = 0; v < h.width; v++) {
      seen += h.hist[base + v];
      if (seen > k) return h.lo + v;
    }
    throw new Error(`quantile position ${k} is past the group's ${seen} flights`);
  };
}

function named(sums: NamedSums): RouteRow[] {
  return sums.names.map((origin, i) => ({
    origin, destination: sums.second?.[i] ?? "", count: sums.count[i], sum_delay: sums.sum[i], mean_delay: sums.sum[i] / sums.count[i],
  }));
}

/** UTF-8 byte order, which is code point order (JavaScript's `<` compares UTF-16 units instead). */
export function byteCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** The first difference between two answer sets (numbers by Object.is, so bit for bit), or null. */
export function answersDiff(a: unknown, b: unknown, path = "answers"): string | null {
  if (typeof a === "number" && typeof b === "number") return Object.is(a, b) ? null : `${path}: ${a} != ${b}`;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b ? null : `${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`;
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length || ka.some((k) => !kb.includes(k))) return `${path}: keys ${ka.join(",")} != ${kb.join(",")}`;
  for (const k of ka) {
    const d = answersDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d) return d;
  }
  return null;
}
