// The flagship on Loom equals the serial computation bit for bit: on flights-200k.arrow, and on small parquet
// files cut from flights-3m.parquet (several row groups; one without the route columns), with a crash and an
// eviction in one run.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC, tableToIPC } from "apache-arrow";
import { readParquet, Table as WasmTable, writeParquet, WriterPropertiesBuilder } from "parquet-wasm";
import { init, type Runtime } from "../../engine/index.js";
import { answersDiff, answersFrom } from "./answers.js";
import type { FlightStats } from "./flight-stats.js";
import { partCount, readFlightFile } from "./flight-file.js";
import { computeSerial } from "./serial.js";
import { answersOnLoom, loadFlightTasks, submitFile, vegaData, type LoadedTasks } from "./loom-answers.js";

const data = vegaData;
const GET = { timeoutMs: 60_000 };
const dir = mkdtempSync(join(tmpdir(), "loom-flagship-"));

let rt: Runtime;
let tasks: LoadedTasks;
before(async () => {
  // checkImmutable on: a clean flagship run must raise no ObjectMutatedError (shutdown would reject with it).
  rt = await init({ workers: 2, checkImmutable: true });
  tasks = await loadFlightTasks(rt);
});
after(async () => {
  await rt.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** The first `rows` flights of flights-3m.parquet in row groups of `groupRows`, optionally only some columns. */
async function cutParquet(name: string, rows: number, groupRows: number, columns?: string[]): Promise<string> {
  let source = readParquet(await readFile(data("flights-3m.parquet")), { limit: rows });
  if (columns) source = WasmTable.fromIPCStream(tableToIPC(tableFromIPC(source.intoIPCStream()).select(columns), "stream"));
  const path = join(dir, name);
  writeFileSync(path, writeParquet(source, new WriterPropertiesBuilder().setMaxRowGroupSize(groupRows).build()));
  return path;
}

async function serialAnswers(path: string, parts: number) {
  const file = await readFlightFile(path);
  return answersFrom(await computeSerial(file, partCount(file, parts)), { producer: "loom", dataset: path.split("/").pop() });
}

test("flights-200k.arrow: Loom's answers equal the serial ones bit for bit; no airport sections", async () => {
  const path = data("flights-200k.arrow");
  const loom = await answersOnLoom(rt, tasks, path, 10);
  assert.equal(answersDiff(loom, await serialAnswers(path, 10)), null);
  assert.equal(loom.totals.count, 200_000);
  assert.equal(loom.by_hour.reduce((s, h) => s + h.count, 0), 200_000);
  assert.equal(loom.by_origin, undefined, "the .arrow file has no airports");
});

test("a parquet cut of flights-3m: same answers after a worker crash and an evicted partial, which comes back equal", async () => {
  const path = await cutParquet("cut.parquet", 90_001, 15_000); // 7 row groups, the last of one row
  const serial = await serialAnswers(path, 16);
  const submitted = await submitFile(rt, tasks, path, 16);
  assert.equal(submitted.parts, 7, "one part per row group");
  const lost = submitted.job.reduction.levels[0][0];
  await rt.get(lost, GET);
  assert.equal(rt.faults.evict(lost), true, "a stored partial can be evicted");
  await rt.faults.killWorker();
  const loom = answersFrom((await rt.get(submitted.job.root, GET)) as FlightStats, { producer: "loom", dataset: "cut.parquet" });
  assert.equal(answersDiff(loom, serial), null);
  assert.equal(loom.totals.count, 90_001);
  assert.ok(loom.routes!.total_routes > 100, "the cut has many routes");
  const rebuilt = (await rt.get(lost, GET)) as FlightStats;
  assert.equal(answersDiff(rebuilt, await computeSerial(submitted.file, 7, 0, 1)), null);
});

test("a parquet file without the route columns: the other sections, computed on Loom", async () => {
  const path = await cutParquet("no-routes.parquet", 30_000, 10_000, ["date", "delay", "distance"]);
  const loom = await answersOnLoom(rt, tasks, path);
  assert.deepEqual(Object.keys(loom), ["producer", "dataset", "by_hour", "by_distance_band", "totals", "extra_by_hour_p90"]);
  assert.equal(answersDiff(loom, await serialAnswers(path, 16)), null);
});
