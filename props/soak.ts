// The soak: the engine property on fresh random seeds for N minutes; prints the seed and fast-check path of
// every failure (pin it in props/regressions.ts) and a summary. Exit code 1 when anything failed that is not
// exactly an open engine bug's symptom (props/regressions.ts), or anything at all with --strict.
// With --memory-every-s it is also the long-run memory soak: between runs, at that interval, it samples the
// driver's and every worker's memory, the store and the engine's tables (props/memory/), writes one JSON line
// per sample to --memory-out, and ends with a verdict on whether memory stayed flat after warm-up (not flat
// fails the soak with --strict). Half the runs then drop their actors' handles instead of killing the actors.
import { parseArgs } from "node:util";
import { appendFileSync, writeFileSync } from "node:fs";
import { randomInt } from "node:crypto";
import fc from "fast-check";
import { init } from "loom-dag";
import { programUnderFaults } from "./arbitraries/program.js";
import { LoomSession, PropertyFailure } from "./models/check.js";
import { propsRuntimeOptions } from "./models/loom-runner.js";
import { knownBugFor } from "./regressions.js";
import { MemorySampler, sampleLine, type MemorySample } from "./memory/memory-sampler.js";
import { flatVerdict, DEFAULT_LIMITS } from "./memory/flat-verdict.js";

const USAGE = "usage: npm run props:soak -- --minutes N [--runs-per-seed 50] [--workers 2] [--get-timeout-ms 10000] [--strict]\n" +
  "         [--memory-every-s S [--memory-out FILE.jsonl] [--warmup-share 0.33] [--flat-relative 0.05] [--flat-mib 8]]";
const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    "runs-per-seed": { type: "string", default: "50" },
    workers: { type: "string", default: "2" },
    "get-timeout-ms": { type: "string", default: "10000" },
    strict: { type: "boolean", default: false },
    "memory-every-s": { type: "string" },
    "memory-out": { type: "string" },
    "warmup-share": { type: "string", default: String(DEFAULT_LIMITS.warmupShare) },
    "flat-relative": { type: "string", default: String(DEFAULT_LIMITS.relative) },
    "flat-mib": { type: "string", default: String(DEFAULT_LIMITS.absoluteBytes / 2 ** 20) },
  },
});
const minutes = Number(values.minutes);
const runsPerSeed = Number(values["runs-per-seed"]);
const workers = Number(values.workers);
const memoryEveryMs = values["memory-every-s"] === undefined ? undefined : Number(values["memory-every-s"]) * 1000;
const warmupShare = Number(values["warmup-share"]);
const flatLimits = { warmupShare, relative: Number(values["flat-relative"]), absoluteBytes: Number(values["flat-mib"]) * 2 ** 20 };
if (!(flatLimits.relative >= 0) || !(flatLimits.absoluteBytes >= 0)) {
  console.error(USAGE);
  process.exit(2);
}
if (!(minutes > 0) || !(runsPerSeed > 0) || !(workers >= 1) || (memoryEveryMs !== undefined && !(memoryEveryMs > 0)) || !(warmupShare >= 0 && warmupShare < 1)) {
  console.error(USAGE);
  process.exit(2);
}
if (memoryEveryMs !== undefined && typeof (globalThis as { gc?: unknown }).gc !== "function") {
  console.error("the memory soak needs --expose-gc (npm run props:soak passes it)");
  process.exit(2);
}

const session = new LoomSession(() => init(propsRuntimeOptions(workers)), { getTimeoutMs: Number(values["get-timeout-ms"]) });
const deadline = Date.now() + minutes * 60_000;
const tolerated = new Map<string, number>();
const failures: Array<{ seed: number; path: string; counterexample: string; error: string }> = [];
let seeds = 0;
console.log(`loom props soak: ${minutes} min, ${runsPerSeed} runs per seed, ${workers} workers, node ${process.version}` +
  (memoryEveryMs ? `, memory every ${memoryEveryMs / 1000} s${values["memory-out"] ? ` to ${values["memory-out"]}` : ""}` : ""));

const sampler = memoryEveryMs ? new MemorySampler() : undefined;
const samples: MemorySample[] = [];
let nextSampleAt = 0;
if (values["memory-out"]) writeFileSync(values["memory-out"], "");
async function sampleMemory(): Promise<void> {
  const { rt } = await session.runtime();
  const sample = await sampler!.sample(rt, { runs: session.runs, runtimes: session.runtimes });
  samples.push(sample);
  const line = sampleLine(sample);
  if (values["memory-out"]) appendFileSync(values["memory-out"], line + "\n");
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
  process.stdout.write(`\n[memory t=${sample.t}s runs=${sample.runs}] rss ${mib(sample.driverRss)} MiB, heap ${mib(sample.driverHeapUsed)} MiB, ` +
    `workers ${sample.workerHeapUsed.map(mib).join("/")} MiB (${sample.workersSeen}/${sample.workerCount}), tables ${JSON.stringify(sample.tables)}\n`);
  nextSampleAt = Date.now() + memoryEveryMs!;
}

while (Date.now() < deadline) {
  const seed = randomInt(0, 2 ** 31 - 1);
  seeds++;
  session.isolate = false;
  const result = await fc.check(
    fc.asyncProperty(programUnderFaults(), async (input) => {
      // Samples are taken between runs, on the reused runtime (not while fast-check shrinks on fresh ones).
      if (sampler && !session.isolate && Date.now() >= nextSampleAt) await sampleMemory();
      try {
        // In the memory soak, every other run drops its actors' handles instead of killing the actors.
        await session.check(input, sampler && session.runs % 2 ? { actorsAtEnd: "drop" } : {});
      } catch (error) {
        const bug = !values.strict && error instanceof PropertyFailure ? knownBugFor(error) : undefined;
        if (!bug) {
          session.isolate = true; // shrinking next: each candidate on a fresh runtime
          throw error;
        }
        tolerated.set(bug.id, (tolerated.get(bug.id) ?? 0) + 1);
      }
    }),
    // Shrinking a failure gets at most a few minutes (and never past the deadline by much).
    { seed, numRuns: runsPerSeed, interruptAfterTimeLimit: Math.max(60_000, deadline - Date.now() + 180_000) },
  );
  if (result.failed) {
    const failure = {
      seed, path: result.counterexamplePath ?? "", counterexample: JSON.stringify(result.counterexample?.[0]),
      error: (result.errorInstance as Error)?.message ?? String(result.errorInstance),
    };
    failures.push(failure);
    console.log(`\nFAIL seed=${failure.seed} path="${failure.path}"\ncounterexample: ${failure.counterexample}\n${failure.error}`);
  } else {
    process.stdout.write(".");
  }
}
let memoryGrew = false;
if (sampler) {
  await sampleMemory();
  const verdict = flatVerdict(samples, flatLimits);
  memoryGrew = verdict.flat === false;
  if (values["memory-out"]) appendFileSync(values["memory-out"], JSON.stringify({ kind: "verdict", ...verdict }) + "\n");
  console.log(`\nmemory: ${samples.length} samples; ${verdict.summary}`);
}
await session.close();
console.log(`\n${seeds} seeds, ${session.runs} program runs (${session.runtimes} runtimes), ${failures.length} failure(s)`);
console.log(`faults that took effect: ${JSON.stringify(session.effectiveFaults)}; runs with at least one: ${session.runsWithEffectiveFaults}`);
console.log(`steps by shape: ${[...session.shapes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")}`);
for (const [id, n] of tolerated) console.log(`open engine bug ${id}: ${n} run(s) with exactly its symptom (not counted as failures)`);
for (const f of failures) console.log(`failed: seed=${f.seed} path="${f.path}"`);
process.exitCode = failures.length || (memoryGrew && values.strict) ? 1 : 0;
