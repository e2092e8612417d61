// The engine property (issue 5): random programs under random fault schedules give, at every get, what the
// serial interpreter gives; nothing hangs; no worker thread is left behind. One runtime serves all runs. CI runs
// the fixed SEEDS; `npm run props:soak -- --minutes N` runs fresh ones (props/soak.ts).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import fc from "fast-check";
import { init } from "loom-dag";
import { programUnderFaults } from "./arbitraries/program.js";
import { LoomSession, PropertyFailure } from "./models/check.js";
import { knownBugFor, KNOWN_ENGINE_BUGS, REGRESSIONS } from "./regressions.js";

// A failure prints fast-check's seed and path and the program; pin it in props/regressions.ts. Open engine
// bugs are listed there with their exact symptoms; a run whose every problem is such a symptom is counted
// (printed by the summary test) instead of failing CI, and nothing else is tolerated. Each seed must see a fault
// take effect, and the summary checks the whole: every seed's runs done, every kind of fault effective.

/** CI's seeds: SEEDS.length × RUNS_PER_SEED program runs. */
export const SEEDS = [0x10c0, 0x5eed, 1, 2, 3, 4, 5, 20261123, 0xbad, 0xfa17] as const;
export const RUNS_PER_SEED = 50;
const WORKERS = 2;
/**
 * A get slower than this is a hang. Gets take milliseconds, but after a worker kill the replacement thread was
 * seen to take 3-4 s to start and 1-2 s more to import a task module through tsx on a loaded 2-core machine.
 */
const GET_TIMEOUT_MS = 10_000;
/**
 * Per seed: runs stop (and a failure's shrinking stops) after this, so CI's time is bounded. A seed that runs
 * out of time before its RUNS_PER_SEED runs fails (it would otherwise pass on fewer runs than its title says):
 * a quiet 2-core machine needs about 12 s per seed, a busy one up to 40 s.
 */
const SEED_TIME_LIMIT_MS = 150_000;
/**
 * The least share of runs in which a fault must take effect. About half do (1,052 of 2,000 in the strict soak
 * of 2026-12-07); far fewer means faults that land where nothing is left to hurt, i.e. a hollow property.
 */
const MIN_EFFECTIVE_SHARE = 0.25;

/** Threads of this process (Linux); undefined where /proc is not there. */
function threadCount(): number | undefined {
  try { return readdirSync("/proc/self/task").length; } catch { return undefined; }
}
async function settle(limit: number, ms: number): Promise<number | undefined> {
  const end = Date.now() + ms;
  let n = threadCount();
  while (n !== undefined && n > limit && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 25));
    n = threadCount();
  }
  return n;
}

const baseThreads = threadCount();
let session: LoomSession;
/**
 * Threads of this process between runs, once warm: Node and V8 start some pools lazily (libuv's, V8's
 * compiler threads), so the bound is the most seen over the first WARM_RUNS runs, then frozen. A killed
 * worker whose thread never exits adds one thread per kill, and soon breaks it.
 */
let idleThreads: number | undefined;
let checkedRuns = 0;
const WARM_RUNS = 10;
const THREAD_SLACK = 1;

before(async () => {
  session = new LoomSession(() => init({ workers: WORKERS }), { getTimeoutMs: GET_TIMEOUT_MS });
  await session.runtime();
});

after(async () => {
  await session.close();
});

/** After a run: killed workers' threads are gone (only the runtime's own threads remain). */
async function checkNoThreadLeak(): Promise<void> {
  const now = threadCount();
  if (now === undefined) return;
  if (++checkedRuns <= WARM_RUNS) {
    idleThreads = Math.max(idleThreads ?? 0, now);
    return;
  }
  const limit = idleThreads! + THREAD_SLACK;
  const n = await settle(limit, 3_000);
  assert.ok(n! <= limit, `thread leak: ${n} threads after a run, at most ${idleThreads} between the first ${WARM_RUNS} runs (killed workers not exited?)`);
}

const tolerated = new Map<string, number>();
const started = Date.now();
/** Program runs of the seed tests, fast-check's shrinking excluded, and the seeds whose runs all ended. */
let seedRuns = 0;
let seedsDone = 0;

// One test per seed, so each stays well inside the suite's per-test timeout (npm test: 120 s).
for (const seed of SEEDS) {
  test(`engine: random programs under faults give the serial interpreter's results (seed ${seed}, ${RUNS_PER_SEED} runs)`, { timeout: SEED_TIME_LIMIT_MS + 60_000 }, async () => {
    session.isolate = false;
    let runs = 0;
    let failed = false;
    const effectiveBefore = session.runsWithEffectiveFaults;
    await fc.assert(
      fc.asyncProperty(programUnderFaults(), async (input) => {
        if (!failed) runs++;
        try {
          await session.check(input);
        } catch (error) {
          const bug = error instanceof PropertyFailure ? knownBugFor(error) : undefined;
          if (!bug) {
            session.isolate = true; // fast-check shrinks next: each candidate on a fresh runtime
            failed = true;
            throw error;
          }
          tolerated.set(bug.id, (tolerated.get(bug.id) ?? 0) + 1);
          return;
        }
        if (!session.isolate) await checkNoThreadLeak();
      }),
      { seed, numRuns: RUNS_PER_SEED, interruptAfterTimeLimit: SEED_TIME_LIMIT_MS, includeErrorInReport: true },
    );
    seedRuns += runs;
    assert.equal(runs, RUNS_PER_SEED, `seed ${seed} ran ${runs} of its ${RUNS_PER_SEED} programs before its time limit`);
    seedsDone++;
    const effective = session.runsWithEffectiveFaults - effectiveBefore;
    assert.ok(effective > 0, `seed ${seed}: no fault took effect in any of its ${runs} runs (about half should)`);
  });
}

test(`engine property: summary (${SEEDS.length} seeds × ${RUNS_PER_SEED} runs done, every kind of fault effective)`, (t) => {
  t.diagnostic(`${session.runs} program runs (${SEEDS.length} seeds) in ${((Date.now() - started) / 1000).toFixed(1)} s, ${session.runtimes} runtime(s)`);
  t.diagnostic(`faults that took effect: ${JSON.stringify(session.effectiveFaults)}; runs with at least one: ${session.runsWithEffectiveFaults} of ${session.runs}`);
  for (const [id, n] of tolerated) t.diagnostic(`open engine bug ${id}: ${n} run(s) showed exactly its symptom (props/regressions.ts)`);
  assert.equal(seedsDone, SEEDS.length, `${seedsDone} of ${SEEDS.length} seeds ran all their programs`);
  assert.equal(seedRuns, SEEDS.length * RUNS_PER_SEED, `${seedRuns} program runs, not ${SEEDS.length} × ${RUNS_PER_SEED}`);
  // Runs that hit an open engine bug's symptom count as runs but never report their faults.
  const counted = session.runs - [...tolerated.values()].reduce((a, b) => a + b, 0);
  assert.ok(session.runsWithEffectiveFaults >= MIN_EFFECTIVE_SHARE * counted,
    `faults took effect in ${session.runsWithEffectiveFaults} of ${counted} runs, fewer than ${MIN_EFFECTIVE_SHARE * 100}%`);
  for (const [kind, n] of Object.entries(session.effectiveFaults)) {
    assert.ok(n > 0, `no fault of kind ${kind} took effect in ${session.runs} runs: the generator or the runner lost it`);
  }
});

// Each pin on a fresh runtime, as it was shrunk.
for (const r of REGRESSIONS) {
  const open = r.bug !== undefined && KNOWN_ENGINE_BUGS.some((b) => b.id === r.bug);
  test(`regression ${r.name} (seed ${r.seed}, path ${r.path})`, { todo: open ? `open engine bug ${r.bug}` : undefined }, async () => {
    session.isolate = true;
    await session.check(r.input);
  });
}

test("after shutdown no worker thread is left", async () => {
  await session.close();
  if (baseThreads === undefined) return;
  const n = await settle(baseThreads, 5_000);
  assert.ok(n! <= baseThreads, `${n} threads after shutdown, ${baseThreads} before init: worker threads left behind`);
});
