// FlightStats: the mergeable partial every aggregate task returns. It keeps, per hour and per distance band, a
// histogram of the integer delays (exact: counts, sums, the >15 share and both quantiles follow from it), and
// per origin and per route a count and a delay sum. Merging adds integers, so any merge order gives the same bits.
import type { RecordBatch } from "apache-arrow";
import { COL } from "./columns.js";

/** Distance bands, half-open `[lo, hi)` on the integer distance; the last has no upper edge. */
export const DISTANCE_BANDS = [
  { band: "0-250", lo: 0, hi: 250 },
  { band: "250-500", lo: 250, hi: 500 },
  { band: "500-1000", lo: 500, hi: 1000 },
  { band: "1000-2000", lo: 1000, hi: 2000 },
  { band: "2000+", lo: 2000, hi: null },
] as const;
export const HOURS = 24;

/** Band index of a distance, or -1 below the first band. */
export function distanceBand(distance: number): number {
  if (distance < 0) return -1;
  let b = 0;
  while (b < DISTANCE_BANDS.length - 1 && distance >= DISTANCE_BANDS[b].hi!) b++;
  return b;
}

/** Per group g, `hist[g * width + (delay - lo)]` flights had that delay. */
export interface DelayHistograms {
  groups: number;
  lo: number;
  width: number;
  hist: Float64Array;
}

/** A count and a delay sum per named key (origin) or pair of names (route: origin, destination). */
export interface NamedSums {
  names: string[];
  second?: string[];
  count: Float64Array;
  sum: Float64Array;
}

export interface FlightStats {
  rows: number;
  byHour: DelayHistograms;
  byBand: DelayHistograms;
  /** Absent when the source has no origin column. */
  byOrigin?: NamedSums;
  /** Absent when the source lacks origin or destination. */
  byRoute?: NamedSums;
}

/** The partial of one normalized batch (see schema.ts): one pass for the delay range, one to count. */
export function batchStats(batch: RecordBatch): FlightStats {
  const rows = batch.numRows;
  const delay = ints(batch, COL.delay) as Int32Array;
  const hour = ints(batch, COL.hour) as Uint8Array;
  const distance = ints(batch, COL.distance) as Int32Array;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < rows; i++) {
    const d = delay[i];
    if (d < min) min = d;
    if (d > max) max = d;
  }
  const byHour = histograms(HOURS, min, max);
  const byBand = histograms(DISTANCE_BANDS.length, min, max);
  for (let i = 0; i < rows; i++) {
    const at = delay[i] - byHour.lo;
    const h = hour[i];
    if (h >= HOURS) throw new Error(`hour ${h} at row ${i} is outside 0..23`);
    byHour.hist[h * byHour.width + at]++;
    const b = distanceBand(distance[i]);
    if (b >= 0) byBand.hist[b * byBand.width + at]++;
  }
  const out: FlightStats = { rows, byHour, byBand };
  const origin = batch.getChild(COL.origin);
  if (!origin) return out;
  const airports = origin.data[0].dictionary!.toArray() as string[];
  const n = airports.length;
  const o = ints(batch, COL.origin) as Int16Array;
  const originCount = new Float64Array(n);
  const originSum = new Float64Array(n);
  for (let i = 0; i < rows; i++) {
    originCount[o[i]]++;
    originSum[o[i]] += delay[i];
  }
  out.byOrigin = named(originCount, originSum, (k) => airports[k]);
  if (!batch.getChild(COL.destination)) return out;
  const d = ints(batch, COL.destination) as Int16Array;
  const routeCount = new Float64Array(n * n);
  const routeSum = new Float64Array(n * n);
  for (let i = 0; i < rows; i++) {
    const k = o[i] * n + d[i];
    routeCount[k]++;
    routeSum[k] += delay[i];
  }
  out.byRoute = named(routeCount, routeSum, (k) => airports[Math.floor(k / n)], (k) => airports[k % n]);
  return out;
}

/** Combine two partials; neither is changed. */
export function mergeStats(a: FlightStats, b: FlightStats): FlightStats {
  const out: FlightStats = { rows: a.rows + b.rows, byHour: mergeHistograms(a.byHour, b.byHour), byBand: mergeHistograms(a.byBand, b.byBand) };
  if (a.byOrigin && b.byOrigin) out.byOrigin = mergeNamed(a.byOrigin, b.byOrigin);
  if (a.byRoute && b.byRoute) out.byRoute = mergeNamed(a.byRoute, b.byRoute);
  return out;
}

function histograms(groups: number, min: number, max: number): DelayHistograms {
  if (min > max) return { groups, lo: 0, width: 0, hist: new Float64Array(0) };
  const width = max - min + 1;
  if (width > 1 << 22) throw new Error(`delays span ${width} values; the histograms hold at most ${1 << 22}`);
  return { groups, lo: min, width, hist: new Float64Array(groups * width) };
}

function mergeHistograms(a: DelayHistograms, b: DelayHistograms): DelayHistograms {
  if (a.width === 0) return b;
  if (b.width === 0) return a;
  const out = histograms(a.groups, Math.min(a.lo, b.lo), Math.max(a.lo + a.width, b.lo + b.width) - 1);
  for (const src of [a, b]) {
    for (let g = 0; g < src.groups; g++) {
      const from = g * src.width;
      const to = g * out.width + (src.lo - out.lo);
      for (let v = 0; v < src.width; v++) out.hist[to + v] += src.hist[from + v];
    }
  }
  return out;
}

/** The codes that occur, named (routes: by two names). */
function named(count: Float64Array, sum: Float64Array, first: (key: number) => string, second?: (key: number) => string): NamedSums {
  const keys: number[] = [];
  for (let k = 0; k < count.length; k++) if (count[k] > 0) keys.push(k);
  return {
    names: keys.map(first),
    ...(second ? { second: keys.map(second) } : {}),
    count: Float64Array.from(keys, (k) => count[k]),
    sum: Float64Array.from(keys, (k) => sum[k]),
  };
}

function mergeNamed(a: NamedSums, b: NamedSums): NamedSums {
  const index = new Map<string, number>();
  const names: string[] = [];
  const second: string[] = [];
  const count: number[] = [];
  const sum: number[] = [];
  const paired = a.second !== undefined;
  for (const src of [a, b]) {
    for (let i = 0; i < src.names.length; i++) {
      const key = paired ? `${src.names[i]}\u0000${src.second![i]}` : src.names[i];
      let at = index.get(key);
      if (at === undefined) {
        at = names.length;
        index.set(key, at);
        names.push(src.names[i]);
        if (paired) second.push(src.second![i]);
        count.push(0);
        sum.push(0);
      }
      count[at] += src.count[i];
      sum[at] += src.sum[i];
    }
  }
  return { names, ...(paired ? { second } : {}), count: Float64Array.from(count), sum: Float64Array.from(sum) };
}

/** The column's values, exactly `numRows` of them (buffers from IPC or shared memory are padded). */
function ints(batch: RecordBatch, name: string): ArrayLike<number> {
  const col = batch.getChild(name);
  if (!col) throw new Error(`flight batch has no '${name}' column`);
  const data = col.data[0];
  return (data.values as Int32Array).subarray(0, data.length);
}
