// The answers' definitions on small hand-made tables, without the engine: ties, the >15 edge, band edges,
// quantile_cont where it interpolates (values DuckDB gives for the same input), the sort orders, the JSON shape,
// and files without the route columns.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeData, makeVector, Table, tableFromArrays, tableToIPC, TimestampMicrosecond, vectorFromArray } from "apache-arrow";
import { makeFlightBatches, type FlightColumns } from "./schema.js";
import { batchStats, mergeStats } from "./flight-stats.js";
import { answersDiff, answersFrom, byteCompare, quantileCont, quantileDisc90, type FlightAnswers } from "./answers.js";
import { normalize } from "./load.js";
import { partCount, readFlightFile } from "./flight-file.js";
import { computeSerial } from "./serial.js";

/** Answers of hand-made columns, as one batch or split in `parts` batches merged pairwise. */
function answersOf(cols: FlightColumns, parts = 1): FlightAnswers {
  const stats = makeFlightBatches(cols, parts).map(batchStats);
  return answersFrom(stats.reduce((a, b) => mergeStats(a, b)));
}

function columns(rows: { hour: number; delay: number; distance?: number; route?: [number, number] }[], airports?: string[]): FlightColumns {
  return {
    hour: Uint8Array.from(rows, (r) => r.hour),
    delay: Int32Array.from(rows, (r) => r.delay),
    distance: Int32Array.from(rows, (r) => r.distance ?? 100),
    ...(airports ? { airports, origin: Int16Array.from(rows, (r) => r.route![0]), destination: Int16Array.from(rows, (r) => r.route![1]) } : {}),
  };
}

test("quantile_cont interpolates in doubles as DuckDB does; quantile_disc takes x[n - floor(n/10) - 1]", () => {
  // DuckDB 1.5: quantile_cont([-5, 0], 0.9) = -0.4999999999999999 (lo + (hi - lo) * d would give -0.5).
  assert.equal(quantileCont([-5, 0], 0.9), -0.4999999999999999);
  assert.equal(quantileCont([1, 2, 4], 0.9), 3.6);
  assert.equal(quantileCont([7], 0.9), 7);
  assert.equal(quantileDisc90([1, 2, 4]), 4);
  assert.equal(quantileDisc90(Array.from({ length: 10 }, (_, i) => i)), 8);
  assert.equal(quantileDisc90(Array.from({ length: 20 }, (_, i) => i)), 17);
});

test("by_hour: counts, exact sums, delayed means > 15 (15 is not), ties, and interpolating p90 from the histograms", () => {
  const rows = [
    ...[15, 16, 16, -3].map((delay) => ({ hour: 0, delay })),
    ...[-5, 0].map((delay) => ({ hour: 5, delay })),
    ...[-7, 0, 3, 3, 8, 20, 21].map((delay) => ({ hour: 23, delay })),
  ];
  for (const parts of [1, 3]) {
    const a = answersOf(columns(rows), parts);
    assert.deepEqual(a.by_hour, [
      { hour: 0, count: 4, sum_delay: 44, mean_delay: 11, delayed_gt15: 2, share_delayed_gt15: 0.5 },
      { hour: 5, count: 2, sum_delay: -5, mean_delay: -2.5, delayed_gt15: 0, share_delayed_gt15: 0 },
      { hour: 23, count: 7, sum_delay: 48, mean_delay: 48 / 7, delayed_gt15: 2, share_delayed_gt15: 2 / 7 },
    ], `${parts} part(s)`);
    assert.deepEqual(a.extra_by_hour_p90, [
      { hour: 0, count: 4, p90_delay_cont: 16, p90_delay_disc: 16 },
      { hour: 5, count: 2, p90_delay_cont: -0.4999999999999999, p90_delay_disc: 0 },
      { hour: 23, count: 7, p90_delay_cont: quantileCont([-7, 0, 3, 3, 8, 20, 21], 0.9), p90_delay_disc: 21 },
    ]);
    assert.equal(a.extra_by_hour_p90[2].p90_delay_cont, 20.4);
    assert.deepEqual(a.totals, { count: 13, sum_delay: 87, mean_delay: 87 / 13 });
  }
});

test("by_distance_band: half-open [lo, hi) bands on the edges, the last open; negative distances in none", () => {
  const edges = [0, 249, 250, 499, 500, 999, 1000, 1999, 2000, 5000, -1];
  const a = answersOf(columns(edges.map((distance, i) => ({ hour: 1, delay: i, distance }))));
  assert.deepEqual(a.by_distance_band.map((b) => [b.band, b.lo, b.hi, b.count, b.sum_delay]), [
    ["0-250", 0, 250, 2, 1],
    ["250-500", 250, 500, 2, 5],
    ["500-1000", 500, 1000, 2, 9],
    ["1000-2000", 1000, 2000, 2, 13],
    ["2000+", 2000, null, 2, 17],
  ]);
  assert.equal(a.totals.count, 11, "the negative distance still counts in the totals and its hour");
  const only = answersOf(columns([{ hour: 2, delay: 1, distance: 300 }]));
  assert.deepEqual(only.by_distance_band.map((b) => b.band), ["250-500"], "bands without flights are not listed");
});

test("routes: at least 500 flights, ranked by mean desc, count desc, origin, destination; the 11th; origins by count then bytes", () => {
  const airports = ["a", "B", "b", "C", "D", "E", "F", "G", "H", "I", "J", "K"];
  const rows: { hour: number; delay: number; route: [number, number] }[] = [];
  const route = (o: number, d: number, n: number, delay: number) => { for (let i = 0; i < n; i++) rows.push({ hour: 3, delay, route: [o, d] }); };
  route(0, 1, 499, 100); // below 500: never ranked
  route(1, 0, 500, 10);
  route(2, 0, 600, 10); // same mean, more flights: ahead of B -> a
  route(3, 0, 500, 10); // same mean and count as B -> a: origin byte order, "B" < "C"
  for (let k = 4; k < 12; k++) route(k, 0, 500, 20 - k);
  route(1, 2, 500, 1); // the 12th
  const a = answersOf(columns(rows, airports), 4);
  const top = a.top10_routes_mean_delay_min500!.map((r) => `${r.origin}>${r.destination} ${r.count} ${r.mean_delay}`);
  assert.deepEqual(top.slice(0, 8), ["D>a 500 16", "E>a 500 15", "F>a 500 14", "G>a 500 13", "H>a 500 12", "I>a 500 11", "b>a 600 10", "B>a 500 10"]);
  assert.deepEqual(top.slice(8), ["C>a 500 10", "J>a 500 10"], "a three-way tie at 500 flights and mean 10: origin byte order");
  assert.deepEqual(a.routes, { total_routes: 13, routes_with_at_least_500: 12, route_11th: { origin: "K", destination: "a", count: 500, mean_delay: 9 } });
  // Origins: B has 1000 flights, b 600; ties at 500 in byte order (uppercase before lowercase).
  assert.deepEqual(a.by_origin!.slice(0, 4).map((o) => [o.origin, o.count]), [["B", 1000], ["b", 600], ["C", 500], ["D", 500]]);
  assert.deepEqual(a.by_origin!.at(-1), { origin: "a", count: 499, sum_delay: 49_900, mean_delay: 100 });
  assert.equal(a.top10_busiest_origins!.length, 10);
  assert.ok(byteCompare("Z", "a") < 0 && byteCompare("\u{1F600}", "\uFFFF") > 0, "code point (UTF-8 byte) order, not UTF-16");
});

test("the JSON shape: exactly the sections, in order; optional labels; a JSON round trip changes nothing", () => {
  const rows = Array.from({ length: 500 }, (_, i) => ({ hour: 1, delay: i % 3, route: [0, 1] as [number, number] }));
  const a = answersFrom(batchStats(makeFlightBatches(columns(rows, ["X", "Y"]), 1)[0]), { producer: "loom", dataset: "t" });
  assert.deepEqual(Object.keys(a), ["producer", "dataset", "by_hour", "by_distance_band", "totals", "extra_by_hour_p90", "by_origin",
    "top10_busiest_origins", "top10_routes_mean_delay_min500", "routes"]);
  assert.deepEqual(Object.keys(a.by_hour[0]), ["hour", "count", "sum_delay", "mean_delay", "delayed_gt15", "share_delayed_gt15"]);
  assert.deepEqual(Object.keys(a.by_distance_band[0]), ["band", "lo", "hi", "count", "sum_delay", "mean_delay", "p90_delay_cont", "p90_delay_disc"]);
  assert.deepEqual(Object.keys(a.top10_routes_mean_delay_min500![0]), ["origin", "destination", "count", "sum_delay", "mean_delay"]);
  assert.deepEqual(a.routes, { total_routes: 1, routes_with_at_least_500: 1, route_11th: null });
  assert.equal(answersDiff(JSON.parse(JSON.stringify(a)), a), null);
  assert.match(answersDiff({ x: [1, 2] }, { x: [1, 2.0000000000000004] }) ?? "", /answers\.x\.1/, "a one-ulp difference is found");
});

test("files without the route columns: hour from date microseconds or floor(time); route sections left out", async () => {
  const dir = mkdtempSync(join(tmpdir(), "loom-flagship-"));
  try {
    // 2001-01-01 23:59:59.999999 and 2001-01-02 00:00:00 in microseconds, no time zone.
    const day = 978_307_200_000_000n;
    const micros = BigInt64Array.from([day + 86_399_999_999n, day + 86_400_000_000n, day + 3_600_000_000n]);
    const date = makeData({ type: new TimestampMicrosecond(), length: 3, data: micros as never });
    const withDate = new Table({ date: makeVector(date), delay: makeVector(Int32Array.from([1, 2, 3])), distance: makeVector(BigInt64Array.from([10n, 300n, 3000n])) });
    writeFileSync(join(dir, "date.arrow"), tableToIPC(withDate, "file"));
    const withTime = new Table({ time: makeVector(Float32Array.from([0.5, 23.99, 7])), delay: makeVector(Int16Array.from([20, -1, 16])),
      distance: makeVector(Int16Array.from([1, 2, 3])), origin: vectorFromArray(["SFO", "LAX", "SFO"]) });
    writeFileSync(join(dir, "time.arrow"), tableToIPC(withTime, "file"));

    const a = answersFrom(await computeSerial(await readFlightFile(join(dir, "date.arrow")), 1));
    assert.deepEqual(a.by_hour.map((h) => [h.hour, h.count]), [[0, 1], [1, 1], [23, 1]]);
    assert.deepEqual(Object.keys(a), ["by_hour", "by_distance_band", "totals", "extra_by_hour_p90"]);

    const file = await readFlightFile(join(dir, "time.arrow"));
    const b = answersFrom(await computeSerial(file, partCount(file, 2)));
    assert.deepEqual(b.by_hour.map((h) => [h.hour, h.delayed_gt15]), [[0, 1], [7, 1], [23, 0]]);
    assert.deepEqual(b.by_origin, [{ origin: "SFO", count: 2, sum_delay: 36, mean_delay: 18 }, { origin: "LAX", count: 1, sum_delay: -1, mean_delay: -1 }]);
    assert.equal(b.routes, undefined, "an origin without a destination: no route sections");
    assert.equal(b.top10_routes_mean_delay_min500, undefined);

    assert.throws(() => normalize(tableFromArrays({ delay: Int32Array.from([1]), distance: Int32Array.from([1]) })), /neither a 'date' nor a 'time'/);
    assert.throws(() => normalize(tableFromArrays({ time: Float32Array.from([1]), delay: Float64Array.from([1.5]), distance: Int32Array.from([1]) })), /expected integers/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
