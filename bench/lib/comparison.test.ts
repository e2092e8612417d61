// The benchmark's comparison rules: the strongest variant of each peer is the one compared (and the only one
// that may carry a target), verdicts use a ±10% band in the direction of the unit, Loom-against-Loom and weaker
// rows stay out of the summary and the chart, and one wrong answer anywhere fails the whole workload.

import { test } from "node:test";
import assert from "node:assert/strict";
import { AnswerLog, aheadRatio, finalize, nearlyEqual, peerRows, ruleBroken, strongestVariant, summaryLines, targetCounts, verdictOf, wrongAnswer } from "./comparison.js";
import { charts, markdownReport, type RunReport } from "./report.js";
import type { BenchResult, BenchRow } from "./types.js";

test("the ratio is oriented so that > 1 means Loom ahead, for times and for rates", () => {
  assert.equal(aheadRatio("s", 1, 2), 2); // Loom takes half the time
  assert.equal(aheadRatio("ops/s", 100, 50), 2); // Loom does twice the work per second
  assert.equal(aheadRatio("GB/s", 1, 4), 0.25);
  assert.equal(aheadRatio("s", null, 2), null);
  assert.equal(aheadRatio("s", 1, 0), null);
});

test("verdicts: ahead above +10%, behind below −10%, even inside the band", () => {
  assert.equal(verdictOf(1.11), "ahead");
  assert.equal(verdictOf(1.1), "even");
  assert.equal(verdictOf(1), "even");
  assert.equal(verdictOf(0.9), "even");
  assert.equal(verdictOf(0.89), "behind");
  assert.equal(verdictOf(0.8985), "even"); // printed 0.90×
  assert.equal(verdictOf(1.1049), "even"); // printed 1.10×
  assert.equal(verdictOf(1.106), "ahead"); // printed 1.11×
  assert.equal(verdictOf(null), "n/a");
  assert.equal(verdictOf(NaN), "n/a");
});

test("the strongest variant is the fastest (times) or the highest (rates), skipping variants without a figure", () => {
  const vs = [
    { peer: "piscina", variant: "default", value: 3 },
    { peer: "piscina", variant: "tuned", value: 2 },
    { peer: "piscina", variant: "failed", value: null },
  ];
  assert.equal(strongestVariant("s", vs)?.variant, "tuned");
  assert.equal(strongestVariant("ops/s", vs)?.variant, "default");
  assert.equal(strongestVariant("s", [{ peer: "p", variant: "x", value: undefined }]), null);
});

test("peerRows: a target goes on the strongest variant of its peer only; weaker ones are context without one", () => {
  const rows = peerRows({
    case: "work",
    unit: "s",
    loom: 1,
    variants: [
      { peer: "serial", variant: "one thread", value: 1.8 },
      { peer: "piscina", variant: "passing state", value: 30 },
      { peer: "piscina", variant: "pinned pool", value: 1.05 },
    ],
    targets: { piscina: { op: ">=", value: 1, text: "≥ 1×" }, serial: { op: ">=", value: 1.8, text: "≥ 1.8×" } },
  });
  const strongest = rows.filter((r) => r.vs === "peer");
  assert.deepEqual(strongest.map((r) => r.peer), ["serial, one thread", "piscina, pinned pool"]);
  assert.equal(strongest[1]!.peerValue, 1.05);
  assert.equal(strongest[1]!.ratio, 1.05);
  assert.equal(strongest[1]!.target?.value, 1);
  const context = rows.filter((r) => r.vs === "context");
  assert.deepEqual(context.map((r) => r.peer), ["piscina, passing state"]);
  assert.equal(context[0]!.target, undefined);
  assert.equal(context[0]!.ratio, 30);
  for (const r of rows) assert.equal(ruleBroken(r), null);
});

test("peerRows: a peer with no measured variant keeps its row and target, unmet for want of a figure", () => {
  const rows = peerRows({
    case: "work",
    unit: "s",
    loom: 1,
    variants: [{ peer: "piscina", variant: "pinned", value: null }],
    targets: { piscina: { op: ">=", value: 1, text: "≥ 1×" } },
  });
  assert.equal(rows.length, 1);
  const done = finalize({ name: "w", title: "w", quick: true, params: {}, rows }).rows[0]!;
  assert.equal(done.ratio, null);
  assert.equal(done.met, null);
  assert.equal(done.verdict, "n/a");
  assert.match(done.note ?? "", /not measured: piscina pinned/);
});

test("AnswerLog: every repetition of every variant is compared, and a variant that recorded nothing fails", () => {
  const log = new AnswerLog<number>();
  log.record("serial", 10);
  log.record("serial", 10);
  log.record("loom", 10);
  log.record("loom", 11); // the second run is wrong: a check of the last answer only would catch it, of the first would not
  log.record("piscina", 10);
  assert.deepEqual(log.check("serial", ["serial", "loom", "piscina"]), ["loom (run 2 of 2) answered 11, serial 10"]);
  assert.deepEqual(log.check("serial", ["serial", "piscina", "piscina pinned"]), [
    "piscina pinned recorded no answer",
    "loom (run 2 of 2) answered 11, serial 10",
  ]);
  assert.deepEqual(new AnswerLog<number>().check("serial", []), ["no answer from serial, the reference: nothing could be checked"]);
  const close = new AnswerLog<number>();
  close.record("a", 1);
  close.record("b", 1 + 1e-12);
  assert.deepEqual(close.check("a", ["a", "b"], nearlyEqual(1e-9)), []);
  assert.equal(close.check("a", ["a", "b"]).length, 1);
});

function result(rows: BenchRow[], extra: Partial<BenchResult> = {}): BenchResult {
  return { name: "w", title: "w", quick: true, params: {}, rows, ...extra };
}

const peerRow = (): BenchRow[] =>
  peerRows({ case: "work", unit: "s", loom: 1, variants: [{ peer: "piscina", variant: "best", value: 2 }], targets: { piscina: { op: ">=", value: 1, text: "≥ 1×" } } });

test("finalize: a clean workload gets verdicts and met targets", () => {
  const r = finalize(result(peerRow()));
  assert.equal(r.failures, undefined);
  assert.equal(r.rows[0]!.verdict, "ahead");
  assert.equal(r.rows[0]!.met, true);
});

test("finalize: one wrong answer anywhere fails the workload: every target unmet, every verdict failed", () => {
  const loomVsLoom: BenchRow = { case: "tree vs linear", unit: "ms", loom: 1, vs: "loom", peer: "loom linear", peerValue: 10, ratio: 10, ratioLabel: "loom linear/tree", target: { on: "ratio", op: ">=", value: 5, text: "≥ 5×" } };
  for (const where of [
    { failures: ["x"] },
    { notes: [`${wrongAnswer("piscina answered 3, serial 4").message}`] },
    { skipped: `failed: ${wrongAnswer("loom answered 3").message}` },
  ]) {
    const r = finalize(result([...peerRow(), loomVsLoom], where));
    assert.equal(r.failures?.length, 1, JSON.stringify(where));
    assert.deepEqual(r.rows.map((x) => x.verdict), ["failed", "failed"]);
    assert.deepEqual(r.rows.map((x) => x.met), [false, false]);
    assert.deepEqual(summaryLines([r]).map((l) => l.verdict), ["failed"]);
  }
});

test("finalize: rows that break the rules fail the workload", () => {
  const broken: BenchRow[] = [
    { case: "no vs", unit: "s", loom: 1 },
    { case: "context with a target", unit: "s", loom: 1, vs: "context", peer: "piscina, slow", peerValue: 9, ratio: 9, target: { on: "ratio", op: ">=", value: 5, text: "≥ 5×" } },
    { case: "loom vs loom in the chart", unit: "s", loom: 1, vs: "loom", peer: "loom other", ratioLabel: "loom a/b", headline: true },
    { case: "loom vs loom unlabelled", unit: "s", loom: 1, vs: "loom", peer: "x", ratioLabel: "a/b" },
    { case: "peer ratio upside down", unit: "s", loom: 1, vs: "peer", peer: "piscina, x", peerValue: 2, ratio: 0.5 },
  ];
  for (const row of broken) {
    const r = finalize(result([row]));
    assert.equal(r.failures?.length, 1, row.case);
    assert.equal(r.rows[0]!.verdict, "failed");
  }
});

test("the summary, the target counts and the speedup chart hold Loom against the strongest peer only", () => {
  const rows: BenchRow[] = [
    ...peerRows({
      case: "work",
      unit: "s",
      loom: 1,
      variants: [
        { peer: "piscina", variant: "strawman", value: 20 },
        { peer: "piscina", variant: "best", value: 0.8 },
      ],
      targets: { piscina: { op: ">=", value: 1, text: "≥ 1×" } },
    }),
    { case: "re-init vs actors", unit: "s", loom: 1, vs: "loom", peer: "loom re-init", peerValue: 5, ratio: 5, ratioLabel: "loom re-init/actors", target: { on: "ratio", op: ">=", value: 4, text: "≥ 4×" } },
    { case: "1,000 actors", unit: "s", loom: 0.2, vs: "absolute", target: { on: "loom", op: "<=", value: 1, text: "≤ 1 s" } },
  ];
  rows[0]!.headline = true;
  const r = finalize(result(rows));
  assert.equal(r.failures, undefined);
  const lines = summaryLines([r]);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.peer, "piscina, best");
  assert.equal(lines[0]!.verdict, "behind");
  assert.deepEqual(targetCounts([r]), { peer: { met: 0, of: 1 }, absolute: { met: 1, of: 1 }, loom: { met: 1, of: 1 } });

  const rep: RunReport = {
    system: { date: "d", node: "v20", v8: "v8", platform: "linux", cores: 2, cpu: "cpu", totalMemGiB: 1, build: "b", loomVersion: "0", engine: "e" } as RunReport["system"],
    quick: true,
    only: null,
    wallSeconds: 1,
    results: [r],
  };
  const svg = charts(rep)["speedup.svg"]!;
  assert.match(svg, /w vs piscina, best/);
  assert.doesNotMatch(svg, /re-init|strawman/);
  const md = markdownReport(rep);
  assert.match(md, /against the strongest peers 0\/1 · absolute 1\/1 · Loom against Loom 1\/1/);
  assert.match(md, /\| w \| work vs piscina \| 1\.00 s \| piscina, best \| 0\.80 s \| 0\.80× \| \*\*behind\*\* \|/);
});
