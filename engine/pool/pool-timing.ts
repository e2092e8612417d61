// Run and wait time histograms of a Pool's threads (piscina's `histogram`, `runTime`, `waitTime`,
// `utilization`). Owns the two node:perf_hooks histograms; values are recorded in microseconds and read in
// milliseconds.
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";

/** A histogram read out, in milliseconds; average/mean/stddev are NaN while it is empty. */
export interface TimingSummary {
  average: number; mean: number; stddev: number; min: number; max: number;
  p0_001: number; p0_01: number; p0_1: number; p1: number; p2_5: number; p10: number; p25: number; p50: number;
  p75: number; p90: number; p97_5: number; p99: number; p99_9: number; p99_99: number; p99_999: number;
}

/** `pool.histogram`: summaries are undefined when the pool does not record timing. */
export interface PoolHistogram {
  readonly runTime: TimingSummary | undefined;
  readonly waitTime: TimingSummary | undefined;
  resetRunTime(): void;
  resetWaitTime(): void;
}

const PERCENTILES: Array<[keyof TimingSummary, number]> = [
  ["p0_001", 0.001], ["p0_01", 0.01], ["p0_1", 0.1], ["p1", 1], ["p2_5", 2.5], ["p10", 10], ["p25", 25], ["p50", 50],
  ["p75", 75], ["p90", 90], ["p97_5", 97.5], ["p99", 99], ["p99_9", 99.9], ["p99_99", 99.99], ["p99_999", 99.999],
];

/** A histogram of microseconds read out in milliseconds. */
export function summaryOf(h: RecordableHistogram): TimingSummary {
  const empty = h.count === 0;
  const summary = {
    average: empty ? NaN : h.mean / 1000,
    mean: empty ? NaN : h.mean / 1000,
    stddev: empty ? NaN : h.stddev / 1000,
    min: empty ? 0 : h.min / 1000,
    max: h.max / 1000,
  } as TimingSummary;
  for (const [key, p] of PERCENTILES) summary[key] = h.percentile(p) / 1000;
  return summary;
}

/** Histograms record integers >= 1: a duration in ms becomes whole microseconds. */
export const micros = (ms: number): number => Math.max(1, Math.trunc(ms * 1000));

export class PoolTiming implements PoolHistogram {
  private readonly run = createHistogram();
  private readonly wait = createHistogram();

  constructor(private readonly enabled: boolean) {}

  get runTime(): TimingSummary | undefined {
    return this.enabled ? summaryOf(this.run) : undefined;
  }

  get waitTime(): TimingSummary | undefined {
    return this.enabled ? summaryOf(this.wait) : undefined;
  }

  /** Tasks that ran to an end and were timed. */
  get runCount(): number {
    return this.run.count;
  }

  /** Milliseconds of task running, summed (mean × count). */
  get runTotal(): number {
    return this.run.count === 0 ? 0 : (this.run.mean / 1000) * this.run.count;
  }

  recordRun(ms: number): void {
    if (this.enabled) this.run.record(micros(ms));
  }

  recordWait(ms: number): void {
    if (this.enabled) this.wait.record(micros(ms));
  }

  resetRunTime(): void {
    this.run.reset();
  }

  resetWaitTime(): void {
    this.wait.reset();
  }
}
