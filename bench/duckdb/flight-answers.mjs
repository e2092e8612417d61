// The flagship's answers (examples/01-flagship/answers.ts defines them) computed by DuckDB, in SQL straight on a
// parquet file: the yardstick bench/workloads/flagship-duckdb.ts checks Loom against, bit for bit.
// As a program (`node bench/duckdb/flight-answers.mjs FILE.parquet [--threads N]`) it prints the answers as JSON:
// the bench times that as a whole process.
import { basename } from "node:path";
import { pathToFileURL } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";

/** A DuckDB connection limited to `threads` threads. */
export async function openDuckDB(threads) {
  const instance = await DuckDBInstance.create(":memory:", { threads: String(threads) });
  return instance.connect();
}

const sqlString = (s) => `'${s.replaceAll("'", "''")}'`;
const num = (v) => (typeof v === "bigint" ? Number(v) : v);
const rowsOf = async (con, sql) => (await con.runAndReadAll(sql)).getRowObjectsJS().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, num(v)])));

/** Every section the file's columns allow, in the JSON shape of FlightAnswers. */
export async function duckdbAnswers(con, path, dataset = basename(path)) {
  const file = `read_parquet(${sqlString(path)})`;
  const columns = new Set((await rowsOf(con, `DESCRIBE SELECT * FROM ${file}`)).map((r) => r.column_name));
  // The hour on the raw INT64 microseconds of `date` (no time zone), or floor(time).
  const hour = columns.has("date") ? "(epoch_us(date) % 86400000000) // 3600000000" : "floor(time)::INTEGER";
  // Every query scans the file itself (DuckDB reads only the columns a query needs); materializing it in a temp
  // table first was slower, 2.7 s against 0.1-0.3 s a scan, on this 2-core machine.
  const f = `(SELECT ${hour} AS hour, * FROM ${file})`;
  const stats = "count(*) AS count, sum(delay) AS sum_delay, sum(delay)::DOUBLE / count(*) AS mean_delay";
  const p90 = "quantile_cont(delay, 0.9) AS p90_delay_cont, quantile_disc(delay, 0.9) AS p90_delay_disc";
  const out = { producer: "duckdb", dataset };
  const hours = await rowsOf(con, `SELECT hour::INTEGER AS hour, ${stats}, count(*) FILTER (WHERE delay > 15) AS delayed_gt15,
    (count(*) FILTER (WHERE delay > 15))::DOUBLE / count(*) AS share_delayed_gt15, ${p90} FROM ${f} GROUP BY hour ORDER BY hour`);
  out.by_hour = hours.map(({ p90_delay_cont, p90_delay_disc, ...h }) => h);
  const bands = [["0-250", 0, 250], ["250-500", 250, 500], ["500-1000", 500, 1000], ["1000-2000", 1000, 2000], ["2000+", 2000, null]];
  const bandCase = `CASE ${bands.map(([, lo, hi], i) => `WHEN distance >= ${lo}${hi === null ? "" : ` AND distance < ${hi}`} THEN ${i}`).join(" ")} END`;
  const byBand = await rowsOf(con, `SELECT ${bandCase} AS b, ${stats}, ${p90} FROM ${f} WHERE ${bandCase} IS NOT NULL GROUP BY b ORDER BY b`);
  out.by_distance_band = byBand.map(({ b, ...r }) => ({ band: bands[b][0], lo: bands[b][1], hi: bands[b][2], ...r }));
  if (columns.has("origin")) {
    out.by_origin = await rowsOf(con, `SELECT origin, ${stats} FROM ${f} GROUP BY origin ORDER BY count DESC, origin ASC`);
    out.top10_busiest_origins = out.by_origin.slice(0, 10);
  }
  if (columns.has("origin") && columns.has("destination")) {
    const routes = `SELECT origin, destination, ${stats} FROM ${f} GROUP BY origin, destination`;
    const [summary] = await rowsOf(con, `SELECT count(*) AS total_routes, count(*) FILTER (WHERE count >= 500) AS routes_with_at_least_500 FROM (${routes})`);
    const top11 = await rowsOf(con, `${routes} HAVING count(*) >= 500 ORDER BY mean_delay DESC, count DESC, origin ASC, destination ASC LIMIT 11`);
    out.top10_routes_mean_delay_min500 = top11.slice(0, 10);
    const r11 = top11[10];
    out.routes = { ...summary, route_11th: r11 ? { origin: r11.origin, destination: r11.destination, count: r11.count, mean_delay: r11.mean_delay } : null };
  }
  [out.totals] = await rowsOf(con, `SELECT ${stats} FROM ${f}`);
  out.extra_by_hour_p90 = hours.map(({ hour, count, p90_delay_cont, p90_delay_disc }) => ({ hour, count, p90_delay_cont, p90_delay_disc }));
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = process.argv[2];
  const at = process.argv.indexOf("--threads");
  const threads = at > 0 ? Number(process.argv[at + 1]) : 2;
  if (!path) throw new Error("usage: node bench/duckdb/flight-answers.mjs FILE.parquet [--threads N]");
  const con = await openDuckDB(threads);
  process.stdout.write(JSON.stringify(await duckdbAnswers(con, path)));
}
