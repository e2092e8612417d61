// Rewrites a run's tables and charts from its JSON, without measuring anything: after a change to the report
// (bench/lib/report.ts, bench/lib/comparison.ts) the published files follow the same run's numbers.
//   node --import tsx/esm bench/rerender.ts [bench/results/latest.json]
// writes <base>.md beside the JSON and, for a run of every workload, the three SVG charts.

import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { finalize } from "./lib/comparison.js";
import { summaryTable, targetLine, writeReport, type RunReport } from "./lib/report.js";

const file = resolve(process.argv[2] ?? fileURLToPath(new URL("./results/latest.json", import.meta.url)));
if (!file.endsWith(".json")) throw new Error(`expected a run's .json report, got ${file}`);
const rep = JSON.parse(readFileSync(file, "utf8")) as RunReport;
if (!Array.isArray(rep.results)) throw new Error(`${file} holds no "results": not a bench run's report`);
const unlabelled = rep.results.flatMap((r) => r.rows.filter((row) => row.vs === undefined).map((row) => `${r.name}: ${row.case}`));
if (unlabelled.length) {
  throw new Error(`${file} is from a run before rows said what they compare with (${unlabelled.length} rows, e.g. "${unlabelled[0]}"): rerun the bench`);
}
rep.results = rep.results.map(finalize);
const written = writeReport(dirname(file), rep, basename(file, ".json"), rep.only === null);
console.log(`${summaryTable(rep.results)}\n\n${targetLine(rep.results)}\nwrote ${written.join(", ")}`);
