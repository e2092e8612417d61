// The aggregate functions on small hand-made batches, without the engine: keys, bands, routes,
// batches vs tables, and the serial baseline over split batches equal to one whole batch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { makeFlightBatches, type FlightColumns } from "./schema.js";
import { byDistance, byHour, byOrigin, byRoute, merge } from "./flight-tasks.js";
import { distanceBand, distanceBandLabel, routeKey, routeLabel } from "./flight-keys.js";
import { rows, statsDiff } from "./keyed-stats.js";
import { computeSerial } from "./serial.js";
import { answersDiff } from "./answers.js";
import { treeReduce } from "./tree-reduce.js";

const AIRPORTS = ["SFO", "JFK", "ORD"];
const COLUMNS: FlightColumns = {
  hour: Uint8Array.from([0, 0, 7, 7, 7, 23, 23, 12]),
  delay: Int32Array.from([10, -5, 30, 60, 0, 200, 15, -1]),
  distance: Int32Array.from([100, 249, 250, 2500, 3000, 5000, 800, 999]),
  airports: AIRPORTS,
  origin: Int16Array.from([0, 0, 1, 1, 2, 0, 1, 2]),
  destination: Int16Array.from([1, 1, 0, 2, 0, 2, 0, 1]),
};

test("byHour groups delays by hour of day", () => {
  const [batch] = makeFlightBatches(COLUMNS, 1);
  const r = rows(byHour(batch));
  assert.deepEqual(r.map((x) => [x.key, x.flights, x.meanDelay]), [[0, 2, 2.5], [7, 3, 30], [12, 1, -1], [23, 2, 107.5]]);
});

test("byDistance uses the band edges", () => {
  assert.deepEqual([100, 249, 250, 999, 1000, 2999, 3000].map(distanceBand), [0, 0, 1, 3, 4, 6, 7]);
  assert.equal(distanceBandLabel(0), "< 250 mi");
  assert.equal(distanceBandLabel(7), ">= 3000 mi");
  const [batch] = makeFlightBatches(COLUMNS, 1);
  const r = rows(byDistance(batch));
  assert.deepEqual(r.map((x) => [x.key, x.flights]), [[0, 2], [1, 1], [3, 2], [6, 1], [7, 2]]);
});

test("byOrigin and byRoute key by airport codes of the shared dictionary", () => {
  const [batch] = makeFlightBatches(COLUMNS, 1);
  assert.deepEqual(rows(byOrigin(batch)).map((x) => [AIRPORTS[x.key], x.flights, x.meanDelay * x.flights]), [
    ["SFO", 3, 205],
    ["JFK", 3, 105],
    ["ORD", 2, -1],
  ]);
  const routes = rows(byRoute(batch));
  const sfoJfk = routes.find((x) => x.key === routeKey(0, 1, 3));
  assert.equal(sfoJfk?.flights, 2);
  assert.equal(routeLabel(routeKey(1, 2, 3), AIRPORTS), "JFK -> ORD");
  assert.equal(routes.reduce((s, x) => s + x.flights, 0), 8);
});

test("without airport columns byOrigin/byRoute are empty, the others still work", () => {
  const { airports: _a, origin: _o, destination: _d, ...plain } = COLUMNS;
  const [batch] = makeFlightBatches(plain, 1);
  assert.equal(byOrigin(batch).keys.length, 0);
  assert.equal(byRoute(batch).keys.length, 0);
  assert.equal(byHour(batch).keys.length, 4);
});

test("split batches merged serially equal one whole batch, and a multi-batch Table equals both", () => {
  const whole = computeSerial(makeFlightBatches(COLUMNS, 1));
  const split = makeFlightBatches(COLUMNS, 3);
  assert.deepEqual(split.map((b) => b.numRows), [2, 3, 3]);
  assert.equal(answersDiff(whole, computeSerial(split)), null);
  const table = new Table(split);
  for (const fn of [byHour, byDistance, byOrigin, byRoute]) assert.equal(statsDiff(fn(table), whole[fn.name as keyof typeof whole]), null, fn.name);
});

test("tree reduce: n-1 merges in ceil(log2 n) levels, same answer as a linear fold", () => {
  for (const n of [1, 2, 3, 5, 8]) {
    const batches = makeFlightBatches(COLUMNS, n);
    const partials = batches.map(byRoute);
    let merges = 0;
    const { root, levels } = treeReduce(partials, { remote: (a, b) => (merges++, merge(a, b)) });
    assert.equal(merges, n - 1);
    assert.equal(levels.length - 1, Math.ceil(Math.log2(n)));
    assert.equal(statsDiff(root, computeSerial(batches).byRoute), null);
  }
});

test("padded buffers (IPC round trip, odd row counts) do not add phantom rows", () => {
  // 5 rows: IPC pads the uint8 hour buffer to 8 bytes, so values.length is 8 after reading back.
  const cols: FlightColumns = { ...COLUMNS, hour: COLUMNS.hour.subarray(0, 5), delay: COLUMNS.delay.subarray(0, 5),
    distance: COLUMNS.distance.subarray(0, 5), origin: COLUMNS.origin!.subarray(0, 5), destination: COLUMNS.destination!.subarray(0, 5) };
  const [batch] = makeFlightBatches(cols, 1);
  const roundTripped = tableFromIPC(tableToIPC(new Table([batch])));
  assert.ok(roundTripped.getChild("hour")!.data[0].values.length > 5, "the fixture really is padded");
  const expected = computeSerial([batch]);
  for (const fn of [byHour, byDistance, byOrigin, byRoute]) {
    assert.equal(statsDiff(fn(roundTripped), expected[fn.name as keyof typeof expected]), null, fn.name);
  }
});
