// Start-up as a user sees it: the smallest Loom program (init, one task, shutdown) and piscina's README
// example (a pool, one task), each run as a whole `node` process with no loader, alternately, so that both
// sides meet the same machine. The Loom program imports the compiled engine (dist/, `npm run build`).

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { progress, statsOf } from "../lib/measure.js";
import { aheadRatio, wrongAnswer } from "../lib/comparison.js";
import { evaluateTarget, ratioOf, type BenchResult, type RunOptions } from "../lib/types.js";

const LOOM = fileURLToPath(new URL("../startup/loom-smallest.mjs", import.meta.url));
const PISCINA = fileURLToPath(new URL("../startup/piscina-readme.mjs", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/engine/index.js", import.meta.url));
/** Another build's copy of loom-smallest.mjs (say, a checkout of an older commit), timed in the same rounds. */
const BEFORE = process.env["LOOM_BENCH_STARTUP_BEFORE"];

/** Seconds for one whole process; it must print the task's answer. */
function timeProcess(script: string): number {
  const t0 = performance.now();
  const run = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 60_000, env: { ...process.env, NODE_OPTIONS: "" } });
  const took = (performance.now() - t0) / 1e3;
  if (run.status !== 0) throw new Error(`${script} failed (status ${run.status}): ${run.stderr.slice(0, 400)}`);
  if (run.stdout.trim() !== "10") throw wrongAnswer(`${script} printed ${JSON.stringify(run.stdout.trim().slice(0, 80))}, expected 10`);
  return took;
}

export async function run({ quick }: RunOptions): Promise<BenchResult> {
  if (!existsSync(DIST)) throw new Error("dist/ is missing: run `npm run build` first");
  const reps = quick ? 5 : 15;
  const scripts = BEFORE ? [LOOM, PISCINA, BEFORE] : [LOOM, PISCINA];
  for (const script of scripts) timeProcess(script); // the first run of each warms the file cache, untimed
  const [loom, piscina, before] = scripts.map(() => [] as number[]);
  for (let i = 0; i < reps; i++) {
    loom!.push(timeProcess(LOOM));
    piscina!.push(timeProcess(PISCINA));
    if (BEFORE) before!.push(timeProcess(BEFORE));
    progress(`start-up ${i + 1}/${reps}: loom ${(loom![i]! * 1e3).toFixed(0)} ms, piscina ${(piscina![i]! * 1e3).toFixed(0)} ms` +
      (BEFORE ? `, before ${(before![i]! * 1e3).toFixed(0)} ms` : ""));
  }
  const l = statsOf(loom!);
  const p = statsOf(piscina!);
  const b = BEFORE ? statsOf(before!) : null;
  return {
    name: "startup",
    title: "Start-up: smallest program as a whole process",
    quick,
    params: { reps },
    rows: [
      evaluateTarget({
        case: "init + one task + shutdown vs piscina README example",
        unit: "s",
        loom: l.median,
        piscina: p.median,
        vs: "peer",
        peer: "piscina, its README example",
        peerValue: p.median,
        ratio: aheadRatio("s", l.median, p.median),
        ratioLabel: "piscina/loom",
        headline: true,
        target: { on: "ratio", op: ">=", value: 1, text: "no slower than piscina (≥ 1.0×)" },
        extra: { loomMin: l.min, loomMax: l.max, piscinaMin: p.min, piscinaMax: p.max },
      }),
      ...(b ? [{ case: "the build in LOOM_BENCH_STARTUP_BEFORE vs this one", unit: "s", loom: l.median, vs: "loom" as const,
        peer: "loom, the other build", peerValue: b.median, ratio: ratioOf(b.median, l.median), ratioLabel: "loom before/loom now",
        extra: { min: b.min, max: b.max, script: BEFORE! } }] : []),
    ],
    notes: ["bench/startup/loom-smallest.mjs (workers: availableParallelism) and bench/startup/piscina-readme.mjs (piscina's default threads), run alternately; medians"],
  };
}
