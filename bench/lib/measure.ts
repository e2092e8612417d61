// Timing primitives for the workloads: warm-up + median of N for whole workloads,
// percentiles for latency loops, and a promise wrapper around benchmark.js for micro-ops.
// Owns no state; every function measures exactly what its callback does.

import Benchmark from "benchmark";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface Stats {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function statsOf(samples: readonly number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  if (s.length === 0) return { median: NaN, min: NaN, max: NaN, samples: [] };
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, samples: [...samples] };
}

/** p in [0, 100]; nearest-rank on a sorted copy. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

/** Seconds taken by one call of `fn`. */
export async function timeOnce(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export interface SampleOptions {
  warmup: number;
  reps: number;
  /** Called before each timed and untimed run, outside the clock (reset state, GC). */
  before?: () => Promise<void> | void;
  label?: string;
}

/** Runs `fn` `warmup` times untimed, then `reps` times timed; returns seconds. */
export async function sample(fn: () => Promise<unknown> | unknown, opts: SampleOptions): Promise<Stats> {
  for (let i = 0; i < opts.warmup; i++) {
    await opts.before?.();
    await fn();
  }
  const out: number[] = [];
  for (let i = 0; i < opts.reps; i++) {
    await collect();
    await opts.before?.();
    out.push(await timeOnce(fn));
    if (opts.label) progress(`${opts.label}: ${fmtSeconds(out[out.length - 1]!)} (${i + 1}/${opts.reps})`);
  }
  return statsOf(out);
}

export interface Variant {
  fn: () => Promise<unknown> | unknown;
  /** Timed repetitions for this variant (default: the common `reps`), e.g. 1 for a 30 s baseline. */
  reps?: number;
  warmup?: number;
}

/**
 * Times several variants round-robin (A B C, A B C, ...) rather than one after another, so a
 * neighbour's burst of load on a shared machine hits every variant alike. Seconds per variant.
 * A variant that throws is dropped from later rounds and reported in `errors`; the others go on.
 */
export async function interleave(
  variants: Record<string, Variant>,
  opts: { warmup: number; reps: number },
): Promise<{ stats: Record<string, Stats | null>; errors: Record<string, string> }> {
  const names = Object.keys(variants);
  const errors: Record<string, string> = {};
  const warm = (n: string) => variants[n]!.warmup ?? opts.warmup;
  const reps = (n: string) => variants[n]!.reps ?? opts.reps;
  const attempt = async (n: string, timed: boolean): Promise<number | null> => {
    if (n in errors) return null;
    await collect();
    try {
      return timed ? await timeOnce(variants[n]!.fn) : (await variants[n]!.fn(), 0);
    } catch (err) {
      errors[n] = (err as Error).message?.split("\n")[0] ?? String(err);
      progress(`${n}: FAILED: ${errors[n]}`);
      return null;
    }
  };
  for (let i = 0; i < Math.max(0, ...names.map(warm)); i++) {
    for (const n of names) if (i < warm(n)) await attempt(n, false);
  }
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < Math.max(0, ...names.map(reps)); i++) {
    for (const n of names) {
      if (i >= reps(n)) continue;
      const s = await attempt(n, true);
      if (s === null) continue;
      out[n]!.push(s);
      progress(`${n}: ${fmtSeconds(s)} (${i + 1}/${reps(n)})`);
    }
  }
  const stats = Object.fromEntries(names.map((n) => [n, out[n]!.length ? statsOf(out[n]!) : null]));
  return { stats, errors };
}

/** Latency of `n` sequential calls, after `warmup` untimed ones; microseconds. */
export async function latencies(fn: () => Promise<unknown>, n: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out[i] = (performance.now() - t0) * 1000;
  }
  return out;
}

export interface BenchJsResult {
  name: string;
  hz: number;
  /** Mean seconds per operation. */
  mean: number;
  /** Relative margin of error, percent. */
  rme: number;
  cycles: number;
}

/**
 * Runs one asynchronous operation under benchmark.js (deferred mode) and resolves with its
 * ops/s. `op` must settle once per call; benchmark.js picks how many calls make a sample.
 */
export function benchJs(name: string, op: () => Promise<unknown>, maxTime: number): Promise<BenchJsResult> {
  return new Promise((resolve, reject) => {
    const bench = new Benchmark(name, {
      defer: true,
      maxTime,
      minSamples: 5,
      fn(deferred: Benchmark.Deferred) {
        const fail = (err: unknown) => {
          bench.abort();
          reject(err);
        };
        let p: Promise<unknown>;
        try {
          p = op();
        } catch (err) {
          fail(err);
          return;
        }
        p.then(() => deferred.resolve(), fail);
      },
    });
    bench.on("complete", () => {
      if (bench.error) return reject(bench.error);
      progress(String(bench));
      resolve({ name, hz: bench.hz, mean: bench.stats.mean, rme: bench.stats.rme, cycles: bench.cycles });
    });
    bench.on("error", () => reject(bench.error));
    bench.run({ async: true });
  });
}

/** Peak resident set size of this process so far, bytes (includes every worker thread). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

let gcFn: (() => void) | undefined;

/**
 * A full garbage collection, then two event-loop turns so FinalizationRegistry callbacks run (the
 * engine frees objects whose ObjectRefs died in them). Called between repetitions, outside the
 * clock, for every variant alike: each repetition starts from a clean heap and object table.
 * Works without --expose-gc (the flag is set at run time and `gc` read from a fresh context).
 */
export async function collect(): Promise<void> {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) gcFn = g;
    else {
      setFlagsFromString("--expose-gc");
      gcFn = runInNewContext("gc") as () => void;
    }
  }
  gcFn();
  await tick();
  await tick();
}

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return "–";
  if (s >= 1) return `${s.toFixed(2)} s`;
  if (s >= 1e-3) return `${(s * 1e3).toFixed(1)} ms`;
  return `${(s * 1e6).toFixed(1)} µs`;
}

/** Progress lines go to stderr so stdout stays the report. */
export function progress(msg: string): void {
  process.stderr.write(`  · ${msg}\n`);
}

/** Yields to the event loop (lets pending I/O and timers run between phases). */
export function tick(ms = 0): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
