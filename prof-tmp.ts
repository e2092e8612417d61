import { readFileSync } from "node:fs";
import { tableFromIPC, tableToIPC, Table } from "apache-arrow";
import { readParquet } from "parquet-wasm";
import { normalize } from "./examples/01-flagship/load.js";
import { makeFlightBatches } from "./examples/01-flagship/schema.js";
import { batchStats } from "./examples/01-flagship/flight-stats.js";
const bytes = readFileSync("node_modules/vega-datasets/data/flights-3m.parquet");
for (let rep = 0; rep < 3; rep++) {
  const t0 = performance.now();
  const w = readParquet(bytes, { rowGroups: [rep], batchSize: 1 << 22 });
  const t1 = performance.now();
  const ipc = w.intoIPCStream();
  const t2 = performance.now();
  const table = tableFromIPC(ipc);
  const t3 = performance.now();
  const cols = normalize(table);
  const t4 = performance.now();
  const batch = makeFlightBatches(cols, 1)[0];
  const enc = tableToIPC(new Table(batch), "stream");
  const t5 = performance.now();
  const back = tableFromIPC(enc).batches[0];
  batchStats(back);
  const t6 = performance.now();
  console.log({ read: t1 - t0, intoIPC: t2 - t1, fromIPC: t3 - t2, normalize: t4 - t3, toStore: t5 - t4, agg: t6 - t5 });
}
