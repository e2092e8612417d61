// The soak: the engine property on fresh random seeds for N minutes; prints the seed and fast-check path of
// every failure (pin it in props/regressions.ts) and a summary. Exit code 1 when anything failed that is not
// exactly an open engine bug's symptom (props/regressions.ts), or anything at all with --strict.
import { parseArgs } from "node:util";
import { randomInt } from "node:crypto";
import fc from "fast-check";
import { init } from "loom-dag";
import { programUnderFaults } from "./arbitraries/program.js";
import { LoomSession, PropertyFailure } from "./models/check.js";
import { propsRuntimeOptions } from "./models/loom-runner.js";
import { knownBugFor } from "./regressions.js";

// Usage: npm run props:soak -- --minutes 30 [--runs-per-seed 50] [--workers 2] [--get-timeout-ms 10000] [--strict]
const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    "runs-per-seed": { type: "string", default: "50" },
    workers: { type: "string", default: "2" },
    "get-timeout-ms": { type: "string", default: "10000" },
    strict: { type: "boolean", default: false },
  },
});
const minutes = Number(values.minutes);
const runsPerSeed = Number(values["runs-per-seed"]);
const workers = Number(values.workers);
if (!(minutes > 0) || !(runsPerSeed > 0) || !(workers >= 1)) {
  console.error("usage: npm run props:soak -- --minutes N [--runs-per-seed 50] [--workers 2] [--get-timeout-ms 10000] [--strict]");
  process.exit(2);
}

const session = new LoomSession(() => init(propsRuntimeOptions(workers)), { getTimeoutMs: Number(values["get-timeout-ms"]) });
const deadline = Date.now() + minutes * 60_000;
const tolerated = new Map<string, number>();
const failures: Array<{ seed: number; path: string; counterexample: string; error: string }> = [];
let seeds = 0;
console.log(`loom props soak: ${minutes} min, ${runsPerSeed} runs per seed, ${workers} workers, node ${process.version}`);

while (Date.now() < deadline) {
  const seed = randomInt(0, 2 ** 31 - 1);
  seeds++;
  session.isolate = false;
  const result = await fc.check(
    fc.asyncProperty(programUnderFaults(), async (input) => {
      try {
        await session.check(input);
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
await session.close();
console.log(`\n${seeds} seeds, ${session.runs} program runs (${session.runtimes} runtimes), ${failures.length} failure(s)`);
console.log(`faults that took effect: ${JSON.stringify(session.effectiveFaults)}; runs with at least one: ${session.runsWithEffectiveFaults}`);
console.log(`steps by shape: ${[...session.shapes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")}`);
for (const [id, n] of tolerated) console.log(`open engine bug ${id}: ${n} run(s) with exactly its symptom (not counted as failures)`);
for (const f of failures) console.log(`failed: seed=${f.seed} path="${f.path}"`);
process.exitCode = failures.length ? 1 : 0;
