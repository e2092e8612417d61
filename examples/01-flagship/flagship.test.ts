// The flagship on Loom equals the serial computation: on flights-200k.arrow (hour and distance
// aggregates), and on a 200k-row slice of flights-3m.parquet (all four) with a crash and an eviction.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { RecordBatch } from "apache-arrow";
import { init, type ObjectRef, type Runtime } from "../../engine/index.js";
import { answersDiff, answersFromList } from "./answers.js";
import { loadFlights } from "./load.js";
import { computeSerial } from "./serial.js";
import { submitFlightJob } from "./loom-job.js";
import { rows, statsDiff, type KeyedStats } from "./keyed-stats.js";
import type * as FlightTasks from "./flight-tasks.js";

const data = (name: string) => fileURLToPath(new URL(`../../node_modules/vega-datasets/data/${name}`, import.meta.url));
const GET = { timeoutMs: 30_000 };

let rt: Runtime;
before(async () => {
  // checkImmutable on: a clean flagship run must raise no ObjectMutatedError (shutdown would reject with it).
  rt = await init({ workers: 2, checkImmutable: true });
});
after(async () => {
  await rt.shutdown();
});

/** Put the batches and submit the job; the caller keeps `batchRefs` alive, as main.ts does. */
async function runOnLoom(batches: RecordBatch[]) {
  const tasks = await rt.module<typeof FlightTasks>(new URL("./flight-tasks.ts", import.meta.url));
  const batchRefs = batches.map((b) => rt.put(b));
  return { batchRefs, ...submitFlightJob<ObjectRef<RecordBatch>, ObjectRef<KeyedStats>>(tasks, batchRefs) };
}

test("flights-200k.arrow: Loom's tree-reduced answers equal the serial ones exactly", async () => {
  const loaded = await loadFlights(data("flights-200k.arrow"), { batches: 10 });
  assert.equal(loaded.rows, 200_000);
  const serial = computeSerial(loaded.batches);
  const job = await runOnLoom(loaded.batches);
  const loom = answersFromList((await rt.get(job.roots, GET)) as KeyedStats[]);
  assert.equal(answersDiff(loom, serial), null);
  // Counts are exact integers: every flight lands in exactly one hour and one distance band.
  assert.equal(rows(loom.byHour).reduce((s, r) => s + r.flights, 0), 200_000);
  assert.equal(rows(loom.byDistance).reduce((s, r) => s + r.flights, 0), 200_000);
  assert.equal(loom.byOrigin.keys.length, 0, "the .arrow file has no airports");
});

test("flights-3m.parquet slice: all four aggregates equal the serial ones exactly", async () => {
  const loaded = await loadFlights(data("flights-3m.parquet"), { batches: 7, limit: 100_001 });
  assert.equal(loaded.rows, 100_001); // odd sizes: padded Arrow buffers must not add rows
  const serial = computeSerial(loaded.batches);
  assert.ok(serial.byRoute.keys.length > 100, "the slice has many routes");
  const job = await runOnLoom(loaded.batches);
  const loom = answersFromList((await rt.get(job.roots, GET)) as KeyedStats[]);
  assert.equal(answersDiff(loom, serial), null);
  assert.equal(rows(loom.byOrigin).reduce((s, r) => s + r.flights, 0), 100_001);
});

test("flights-3m.parquet slice: same answers after a worker crash and an evicted intermediate", async () => {
  const loaded = await loadFlights(data("flights-3m.parquet"), { batches: 8, limit: 200_000 });
  const serial = computeSerial(loaded.batches);
  const job = await runOnLoom(loaded.batches);
  const lost = job.reductions.byRoute.levels[0][0];
  await rt.get(lost, GET);
  assert.equal(rt.faults.evict(lost), true, "a stored partial can be evicted");
  await rt.faults.killWorker();
  const loom = answersFromList((await rt.get(job.roots, GET)) as KeyedStats[]);
  assert.equal(answersDiff(loom, serial), null);
  // The evicted partial comes back from lineage, equal to its serial value.
  const rebuilt = (await rt.get(lost, GET)) as KeyedStats;
  assert.equal(statsDiff(rebuilt, computeSerial(loaded.batches.slice(0, 1)).byRoute), null);
  assert.equal(job.batchRefs.length, 8); // keeps the put batches referenced until here
});
