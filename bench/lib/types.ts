// The shape every workload returns to bench/run.ts. A workload owns its measurements;
// the runner only formats them (table, JSON, charts) and never re-interprets numbers.

/** A pass/fail line for one row: `ratio >= 5.4` or `loom <= 1000`. */
export interface BenchTarget {
  /** Which number of the row the target is about. */
  on: "ratio" | "loom" | "extra";
  /** For `on: "extra"`: the key in `row.extra`. */
  key?: string;
  op: ">=" | "<=";
  value: number;
  /** How the target reads in the table, e.g. "≥ 0.9 × 6.0 = 5.4×". */
  text: string;
}

/**
 * What a row compares Loom with. "peer": the strongest variant of one peer in this run (bench/lib/comparison.ts
 * picks it), the only comparison with another system that may carry a target, and the only one in the summary
 * and the speedup chart; "context": a weaker variant of a peer, shown for scale, never with a target; "loom":
 * Loom against Loom (a design choice's effect, e.g. tree against linear); "absolute": Loom against a fixed bound.
 */
export type Comparison = "peer" | "context" | "loom" | "absolute";

/** One line of the results table. Times are medians unless `unit` says otherwise. */
export interface BenchRow {
  /** Short label of the case inside the workload, e.g. "actors vs state-passing pool". */
  case: string;
  /** Unit of `loom`, `serial`, `piscina` and `peerValue`: "s", "ms", "µs", "ops/s", "GB/s". */
  unit: string;
  loom?: number | null;
  serial?: number | null;
  piscina?: number | null;
  vs?: Comparison;
  /** What `peerValue` is: "piscina, module-level cache"; for `vs: "loom"`, the other Loom variant. */
  peer?: string;
  /** The compared figure, in `unit`. */
  peerValue?: number | null;
  /** The figure that matters; `ratioLabel` says what over what, e.g. "serial/loom". For "peer" and "context" rows > 1 is Loom ahead. */
  ratio?: number | null;
  ratioLabel?: string;
  /** Filled by `finalize`: ahead / even (±10%) / behind the peer, or failed (a wrong answer in the workload). */
  verdict?: "ahead" | "even" | "behind" | "failed" | "n/a";
  target?: BenchTarget;
  /** Filled by `evaluateTarget`; null when a number the target needs is missing. */
  met?: boolean | null;
  /** Other numbers worth keeping (spread, p99, RSS, ideal ratios...). */
  extra?: Record<string, number | string | null>;
  note?: string;
  /** The row drawn in the "speedup per workload" chart (one per workload at most). */
  headline?: boolean;
  /** Drawn in the "throughput vs piscina" chart (unit must be ops/s). */
  throughputChart?: boolean;
}

/** A line of a chart: y values over x. */
export interface BenchSeries {
  chart: string;
  name: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

export interface BenchResult {
  /** File name without extension, e.g. "stateful-prefix". */
  name: string;
  title: string;
  quick: boolean;
  params: Record<string, unknown>;
  rows: BenchRow[];
  series?: BenchSeries[];
  notes?: string[];
  /**
   * Why the workload failed although it ran: a wrong (or unchecked) answer in any variant, a row that breaks
   * the comparison rules. A failed workload's targets all count as unmet.
   */
  failures?: string[];
  /** Set when the workload could not run (e.g. the engine is missing); rows may hold baselines only. */
  skipped?: string;
  /** Wall time of the whole workload, filled by the runner. */
  wallSeconds?: number;
  /** Two-thread parallel efficiency measured right before and after the workload (2.0 = two free cores). */
  canary?: { before: number; after: number };
}

export interface RunOptions {
  quick: boolean;
  /**
   * Workers (Loom) and threads (piscina) instead of the workload's default, and, for a workload
   * whose work is one unit per worker (numeric: a filter each; stateful-prefix: an actor each),
   * that many units. Set by bench/scaling.ts; `npm run bench` leaves it unset.
   */
  workers?: number;
  /** Timed repetitions instead of the workload's own count (bench/scaling.ts, to bound its time). */
  reps?: number;
}

export type Workload = (opts: RunOptions) => Promise<BenchResult>;

/** Sets `row.met` from its target. */
export function evaluateTarget(row: BenchRow): BenchRow {
  const t = row.target;
  if (!t) return row;
  let v: number | string | null | undefined;
  if (t.on === "ratio") v = row.ratio;
  else if (t.on === "loom") v = row.loom;
  else v = t.key === undefined ? undefined : row.extra?.[t.key];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    row.met = null;
    return row;
  }
  row.met = t.op === ">=" ? v >= t.value : v <= t.value;
  return row;
}

/** `a / b` or null when either is missing or b is 0. */
export function ratioOf(a: number | null | undefined, b: number | null | undefined): number | null {
  if (typeof a !== "number" || typeof b !== "number" || b === 0) return null;
  return a / b;
}
