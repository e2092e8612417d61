// KeyedStats: the small mergeable partial every flight aggregate returns (delay stats per integer key).
// Pure data and arithmetic; knows nothing of Arrow columns or of Loom.

/**
 * Delay histogram bin edges, minutes. Bin 0 holds delay < 0 (early), bin i holds
 * EDGES[i-1] <= delay < EDGES[i], the last bin holds delay >= 240.
 */
export const DELAY_BIN_EDGES = [0, 15, 30, 60, 120, 240] as const;
export const DELAY_BINS = DELAY_BIN_EDGES.length + 1;
export const DELAY_BIN_LABELS = ["early", "0-15", "15-30", "30-60", "60-120", "120-240", "240+"] as const;
/** First bin counted as "late" (the usual 15-minute rule). */
export const LATE_BIN = 2;

/**
 * Delay statistics per key, keys sorted ascending and unique. Every field is a
 * sum (or a max) of integers, so merging is exact in float64 (below 2^53) and
 * gives the same bits in any order: merge is associative and commutative.
 */
export interface KeyedStats {
  keys: Int32Array;
  count: Float64Array;
  delaySum: Float64Array;
  delayMax: Float64Array;
  /** keys.length x DELAY_BINS counts, row-major. */
  hist: Float64Array;
}

/** Which histogram bin a delay (minutes) falls into. */
export function delayBin(delay: number): number {
  let bin = 0;
  while (bin < DELAY_BIN_EDGES.length && delay >= DELAY_BIN_EDGES[bin]) bin++;
  return bin;
}

export function emptyStats(): KeyedStats {
  return alloc(0);
}

/**
 * Accumulate rows into stats: row i has key `keys[i]` (0 <= key < keySpace) and delay `delays[i]`.
 * 1. First pass: mark which keys occur. 2. Give them ranks in key order.
 * 3. Second pass: add each row to its key's rank.
 */
export function accumulate(keys: ArrayLike<number>, delays: ArrayLike<number>, keySpace: number): KeyedStats {
  const rank = new Int32Array(keySpace).fill(-1);
  for (let i = 0; i < keys.length; i++) rank[keys[i]] = 0;
  let n = 0;
  for (let k = 0; k < keySpace; k++) if (rank[k] === 0) rank[k] = n++;
  const out = alloc(n);
  for (let k = 0; k < keySpace; k++) if (rank[k] >= 0) out.keys[rank[k]] = k;
  out.delayMax.fill(-Infinity);
  for (let i = 0; i < keys.length; i++) {
    const r = rank[keys[i]];
    const d = delays[i];
    out.count[r]++;
    out.delaySum[r] += d;
    if (d > out.delayMax[r]) out.delayMax[r] = d;
    out.hist[r * DELAY_BINS + delayBin(d)]++;
  }
  return out;
}

/** Combine two partials by a sorted merge of their keys. */
export function mergeStats(a: KeyedStats, b: KeyedStats): KeyedStats {
  let n = 0;
  for (let i = 0, j = 0; i < a.keys.length || j < b.keys.length; n++) {
    if (j >= b.keys.length || (i < a.keys.length && a.keys[i] < b.keys[j])) i++;
    else if (i >= a.keys.length || b.keys[j] < a.keys[i]) j++;
    else (i++, j++);
  }
  const out = alloc(n);
  let i = 0;
  let j = 0;
  for (let r = 0; r < n; r++) {
    const fromA = j >= b.keys.length || (i < a.keys.length && a.keys[i] <= b.keys[j]);
    const fromB = i >= a.keys.length || (j < b.keys.length && b.keys[j] <= a.keys[i]);
    out.keys[r] = fromA ? a.keys[i] : b.keys[j];
    out.delayMax[r] = -Infinity;
    if (fromA) addRow(out, r, a, i++);
    if (fromB) addRow(out, r, b, j++);
  }
  return out;
}

function addRow(out: KeyedStats, r: number, src: KeyedStats, s: number): void {
  out.count[r] += src.count[s];
  out.delaySum[r] += src.delaySum[s];
  if (src.delayMax[s] > out.delayMax[r]) out.delayMax[r] = src.delayMax[s];
  for (let b = 0; b < DELAY_BINS; b++) out.hist[r * DELAY_BINS + b] += src.hist[s * DELAY_BINS + b];
}

/** Exact equality of two partials, field by field; returns the first difference or null. */
export function statsDiff(a: KeyedStats, b: KeyedStats): string | null {
  for (const field of ["keys", "count", "delaySum", "delayMax", "hist"] as const) {
    const x = a[field];
    const y = b[field];
    if (x.length !== y.length) return `${field}: length ${x.length} != ${y.length}`;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return `${field}[${i}]: ${x[i]} != ${y[i]}`;
  }
  return null;
}

/** One key's figures, derived for reports. */
export interface KeyRow {
  key: number;
  flights: number;
  meanDelay: number;
  maxDelay: number;
  /** Share of flights at least 15 minutes late. */
  lateShare: number;
  hist: number[];
}

export function rows(stats: KeyedStats): KeyRow[] {
  const out: KeyRow[] = [];
  for (let r = 0; r < stats.keys.length; r++) {
    const hist = Array.from(stats.hist.subarray(r * DELAY_BINS, (r + 1) * DELAY_BINS));
    const late = hist.slice(LATE_BIN).reduce((s, v) => s + v, 0);
    const flights = stats.count[r];
    out.push({
      key: stats.keys[r],
      flights,
      meanDelay: stats.delaySum[r] / flights,
      maxDelay: stats.delayMax[r],
      lateShare: late / flights,
      hist,
    });
  }
  return out;
}

function alloc(n: number): KeyedStats {
  return {
    keys: new Int32Array(n),
    count: new Float64Array(n),
    delaySum: new Float64Array(n),
    delayMax: new Float64Array(n),
    hist: new Float64Array(n * DELAY_BINS),
  };
}
