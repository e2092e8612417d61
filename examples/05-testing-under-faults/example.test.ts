// loom/testing on a user's graph: a map (squares) and a tree reduction over its results, checked to give the
// same total whatever crashes and evictions happen while it runs. Lineage brings back evicted partial sums;
// retries (maxRetries defaults to 3, and schedules kill at most 3 workers) survive the crashes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, type Runtime, type ObjectRef } from "loom-dag";
import { checkUnderFaults, faultSchedule } from "loom-dag/testing";
import fc from "fast-check";

/** The user's graph: builds it on `rt`, returns what should not change under faults. */
async function sumOfSquares(rt: Runtime): Promise<number> {
  const square = rt.remote((x: number) => {
    const end = Date.now() + 2; // a little work, so that crashes land on running tasks
    while (Date.now() < end) { /* busy */ }
    return x * x;
  });
  const add = rt.remote((a: number, b: number) => a + b);
  let level: ObjectRef<number>[] = Array.from({ length: 16 }, (_, i) => square.remote(i + 1));
  while (level.length > 1) {
    const next: ObjectRef<number>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? add.remote(level[i], level[i + 1]) : level[i]);
    level = next;
  }
  return rt.get(level[0]);
}

test("the sum of squares is the same under any fault schedule", async () => {
  // faultsFired also counts evictions of nothing and kills after the graph ended; a retried task or a rebuilt
  // object is a fault that took effect, and the check means something only if some did.
  const rt = await init({ workers: 2 });
  const effects = { retried: 0, rebuilt: 0 };
  rt.events.on("task:retried", () => effects.retried++);
  rt.events.on("object:rebuilt", () => effects.rebuilt++);
  try {
    const report = await checkUnderFaults(sumOfSquares, { numRuns: 15, seed: 0x5eed, runtime: rt });
    assert.equal(report.baseline.ok && report.baseline.value, 1496);
    assert.equal(report.runs, 15, "every faulty run was made");
    assert.ok(effects.retried + effects.rebuilt > 0, `some faults took effect: ${JSON.stringify(effects)}, ${report.faultsFired} fired`);
  } finally {
    await rt.shutdown();
  }
});

test("fault schedules are ordinary fast-check arbitraries", () => {
  const [schedule] = fc.sample(faultSchedule({ maxWorkerKills: 1 }), { seed: 1, numRuns: 1 });
  assert.ok(Array.isArray(schedule));
  assert.ok(schedule.filter((f) => f.fault.kind === "killWorker").length <= 1);
});
