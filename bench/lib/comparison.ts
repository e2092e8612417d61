// What a row compares Loom with, and the verdicts drawn from it. Pure functions, no measuring: a workload
// hands every variant of every peer to `peerRows`, which picks the strongest variant of each peer (the figure
// a target may be set against) and keeps the others as context; `AnswerLog` holds every answer every variant
// gave, so that one wrong answer fails the workload; `finalize` applies the rules to a workload's result
// before it is reported. bench/lib/comparison.test.ts pins each rule.

import { evaluateTarget, type BenchResult, type BenchRow, type BenchTarget } from "./types.js";

/** One way a peer can do the work, as a competent user would write it, with its measured figure. */
export interface PeerVariant {
  /** The peer: "piscina", "serial", "DuckDB", "raw TCP"... Variants of one peer compete for "strongest". */
  peer: string;
  /** How this variant does it, e.g. "module-level cache" or "SharedArrayBuffer". */
  variant: string;
  value: number | null | undefined;
}

/** Units where a larger figure is better; for every other unit (times) a smaller one is. */
const RATE_UNIT = /\/s$|^GB\/s$/;

export function higherIsBetter(unit: string): boolean {
  return RATE_UNIT.test(unit);
}

/** Loom's figure over the peer's, oriented so that > 1 always means Loom is ahead; null when either is missing. */
export function aheadRatio(unit: string, loom: number | null | undefined, peer: number | null | undefined): number | null {
  if (typeof loom !== "number" || typeof peer !== "number" || !Number.isFinite(loom) || !Number.isFinite(peer) || loom <= 0 || peer <= 0) return null;
  return higherIsBetter(unit) ? loom / peer : peer / loom;
}

/** The ratio column's label for `aheadRatio`: "piscina/loom" for times, "loom/piscina" for rates. */
export function aheadRatioLabel(unit: string, peer: string): string {
  return higherIsBetter(unit) ? `loom/${peer}` : `${peer}/loom`;
}

export type Verdict = "ahead" | "even" | "behind" | "failed" | "n/a";

/** Within ±10% of the peer is "even". */
export const EVEN_BAND = 0.1;

/** On the ratio as printed (two decimals), so that a row never reads "0.90×, behind". */
export function verdictOf(ratio: number | null | undefined): Verdict {
  if (typeof ratio !== "number" || !Number.isFinite(ratio)) return "n/a";
  const shown = Math.round(ratio * 100) / 100;
  if (shown > 1 + EVEN_BAND) return "ahead";
  if (shown < 1 - EVEN_BAND) return "behind";
  return "even";
}

/** The best variant with a figure, by the unit's direction; ties go to the first listed. Null when none has one. */
export function strongestVariant(unit: string, variants: readonly PeerVariant[]): PeerVariant | null {
  const better = higherIsBetter(unit) ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  let best: PeerVariant | null = null;
  for (const v of variants) {
    if (typeof v.value !== "number" || !Number.isFinite(v.value)) continue;
    if (best === null || better(v.value, best.value as number)) best = v;
  }
  return best;
}

export interface PeerComparison {
  /** The case, without the peer: "trivial tasks, 200,000 submitted at once". */
  case: string;
  unit: string;
  loom: number | null | undefined;
  variants: readonly PeerVariant[];
  /** Targets by peer name, on the ratio against that peer's strongest variant (> 1: Loom ahead). */
  targets?: Record<string, { op: ">=" | "<="; value: number; text: string }>;
  extra?: BenchRow["extra"];
  note?: string;
  /** Flags copied onto the strongest-peer rows. */
  throughputChart?: boolean;
}

/**
 * One row per peer against its strongest variant (`vs: "peer"`, the only rows that carry a target), then one
 * row per weaker variant (`vs: "context"`, no target). A peer none of whose variants has a figure still gets
 * its "peer" row, with no ratio, so that its target shows as not measured rather than vanishing.
 */
export function peerRows(c: PeerComparison): BenchRow[] {
  const peers = [...new Set(c.variants.map((v) => v.peer))];
  const strongest: BenchRow[] = [];
  const context: BenchRow[] = [];
  for (const peer of peers) {
    const own = c.variants.filter((v) => v.peer === peer);
    const best = strongestVariant(c.unit, own);
    const unmeasured = own.filter((v) => typeof v.value !== "number" || !Number.isFinite(v.value)).map((v) => v.variant);
    const t = c.targets?.[peer];
    const target: BenchTarget | undefined = t ? { on: "ratio", op: t.op, value: t.value, text: t.text } : undefined;
    const notes = [c.note, unmeasured.length ? `not measured: ${peer} ${unmeasured.join(", ")}` : undefined].filter(Boolean);
    strongest.push({
      case: `${c.case} vs ${peer}`, // the variant is in \`peer\`: which one is strongest may change between runs
      unit: c.unit,
      loom: c.loom ?? null,
      vs: "peer",
      peer: `${peer}, ${best?.variant ?? "no variant measured"}`,
      peerValue: best?.value ?? null,
      ratio: aheadRatio(c.unit, c.loom, best?.value),
      ratioLabel: aheadRatioLabel(c.unit, peer),
      ...(target ? { target } : {}),
      ...(c.extra ? { extra: c.extra } : {}),
      ...(notes.length ? { note: notes.join("; ") } : {}),
      ...(c.throughputChart ? { throughputChart: true } : {}),
    });
    for (const v of own) {
      if (v === best || unmeasured.includes(v.variant)) continue; // named in the strongest row's note
      context.push({
        case: `${c.case} vs ${peer}, ${v.variant} (weaker here)`,
        unit: c.unit,
        loom: c.loom ?? null,
        vs: "context",
        peer: `${peer}, ${v.variant}`,
        peerValue: typeof v.value === "number" ? v.value : null,
        ratio: aheadRatio(c.unit, c.loom, v.value),
        ratioLabel: aheadRatioLabel(c.unit, peer),
      });
    }
  }
  return [...strongest, ...context];
}

/**
 * Every answer every variant gave, repetition by repetition. `check` compares each with the reference
 * variant's first answer and also fails a variant that was expected but recorded none (a variant whose
 * answer nobody looked at is as bad as a wrong one).
 */
export class AnswerLog<T> {
  private readonly answers = new Map<string, T[]>();

  record(variant: string, value: T): T {
    const list = this.answers.get(variant);
    if (list) list.push(value);
    else this.answers.set(variant, [value]);
    return value;
  }

  /** A recorder bound to one variant, for `fn: () => log.keep("x")(compute())`. */
  keep(variant: string): (value: T) => T {
    return (value) => this.record(variant, value);
  }

  variants(): string[] {
    return [...this.answers.keys()];
  }

  /** The variant's first answer (the reference value to print), if it gave one. */
  first(variant: string): T | undefined {
    return this.answers.get(variant)?.[0];
  }

  /**
   * Lines naming each wrong or missing answer; empty when all agree. `expected` lists the variants that ran
   * (a failed variant is reported by its error, so leave it out); `same` decides equality (default `===`).
   */
  check(reference: string, expected: readonly string[], same: (a: T, b: T) => boolean = (a, b) => a === b, show: (v: T) => string = String): string[] {
    const ref = this.answers.get(reference)?.[0];
    if (ref === undefined) return [`no answer from ${reference}, the reference: nothing could be checked`];
    const wrong: string[] = [];
    for (const name of expected) if (!this.answers.has(name)) wrong.push(`${name} recorded no answer`);
    for (const [name, list] of this.answers) {
      list.forEach((v, i) => {
        if (!same(v, ref)) wrong.push(`${name} (run ${i + 1} of ${list.length}) answered ${show(v)}, ${reference} ${show(ref)}`);
      });
    }
    return wrong;
  }
}

/** Equal within a relative tolerance (floating-point sums taken in a different order). */
export function nearlyEqual(rel: number): (a: number, b: number) => boolean {
  return (a, b) => a === b || Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));
}

/** The prefix every wrong-answer message carries, wherever it ends up (an error, a note, a skip reason). */
export const WRONG_ANSWER = "WRONG ANSWER";

/** An error for a variant whose answer is wrong: `finalize` fails the workload when it meets its message. */
export function wrongAnswer(what: string): Error {
  return new Error(`${WRONG_ANSWER}: ${what}`);
}

/** Why a row breaks the comparison rules, or null. Caught in the runner, so a workload cannot publish one. */
export function ruleBroken(row: BenchRow): string | null {
  if (!row.vs) return `"${row.case}" does not say what it compares Loom with (vs)`;
  if (row.vs === "context" && row.target) return `"${row.case}" is context (a weaker variant) but carries a target`;
  if ((row.vs === "peer" || row.vs === "context") && !row.peer) return `"${row.case}" compares with a peer but does not name it`;
  if (row.vs === "loom" && !/loom/i.test(row.ratioLabel ?? "")) return `"${row.case}" is Loom against Loom but its ratio label does not say so`;
  if (row.headline && row.vs !== "peer") return `"${row.case}" is drawn in the speedup chart but is not against a strongest peer`;
  if (row.vs === "peer" && row.ratio != null && row.ratio !== aheadRatio(row.unit, row.loom, row.peerValue)) {
    return `"${row.case}": the ratio ${row.ratio} is not the peer's figure over Loom's in the unit's direction`;
  }
  return null;
}

/**
 * The result as it will be reported: every target evaluated, a row that breaks the rules moved into the
 * workload's failures, and a workload with any failure (a wrong answer, a broken rule) failed as a whole:
 * each of its targets unmet, each verdict "failed".
 */
export function finalize(result: BenchResult): BenchResult {
  const broken = result.rows.map(ruleBroken).filter((x): x is string => x !== null);
  // A wrong answer may have been reported anywhere: thrown by a Loom variant (the skip reason), or noted.
  const reported = [result.skipped ?? "", ...(result.notes ?? [])].filter((x) => x.includes(WRONG_ANSWER));
  const failures = [...new Set([...(result.failures ?? []), ...reported, ...broken])];
  const rows = result.rows.map((row) => {
    const r = evaluateTarget({ ...row });
    r.verdict = failures.length ? "failed" : r.vs === "peer" || r.vs === "context" ? verdictOf(r.ratio) : undefined;
    if (failures.length && r.target) r.met = false;
    return r;
  });
  return { ...result, rows, ...(failures.length ? { failures } : {}) };
}

export interface SummaryLine {
  workload: string;
  case: string;
  loom: number | null;
  unit: string;
  peer: string;
  peerValue: number | null;
  ratio: number | null;
  verdict: Verdict;
}

/** Loom against the strongest variant of each peer, workload by workload; a failed or skipped workload says so. */
export function summaryLines(results: readonly BenchResult[]): SummaryLine[] {
  const out: SummaryLine[] = [];
  for (const r of results) {
    const rows = r.rows.filter((row) => row.vs === "peer");
    for (const row of rows) {
      out.push({
        workload: r.name,
        case: row.case,
        loom: row.loom ?? null,
        unit: row.unit,
        peer: row.peer ?? "?",
        peerValue: row.peerValue ?? null,
        ratio: row.ratio ?? null,
        verdict: row.verdict ?? verdictOf(row.ratio),
      });
    }
  }
  return out;
}

/** Targets met, counted apart by what they compare with. */
export function targetCounts(results: readonly BenchResult[]): Record<"peer" | "absolute" | "loom", { met: number; of: number }> {
  const counts = { peer: { met: 0, of: 0 }, absolute: { met: 0, of: 0 }, loom: { met: 0, of: 0 } };
  for (const r of results) {
    for (const row of r.rows) {
      if (!row.target || row.vs === "context" || row.vs === undefined) continue;
      const c = counts[row.vs];
      c.of++;
      if (row.met === true) c.met++;
    }
  }
  return counts;
}
