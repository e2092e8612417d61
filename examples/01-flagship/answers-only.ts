// The flagship's answers and nothing else, as one process: start Loom, file to answers, print the JSON, shut down.
// `node dist/examples/01-flagship/answers-only.js --file F [--workers N] [--json OUT]` (compiled by `npm run build`)
// is what bench/workloads/flagship-duckdb.ts times as a whole process beside DuckDB's.
import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { init } from "../../engine/index.js";
import { answersOnLoom, DEFAULT_PARTS, loadFlightTasks, vegaData } from "./loom-answers.js";

const { values: opts } = parseArgs({
  options: {
    file: { type: "string", default: vegaData("flights-3m.parquet") },
    workers: { type: "string" },
    parts: { type: "string", default: String(DEFAULT_PARTS) },
    json: { type: "string" },
  },
});
const rt = await init({ workers: opts.workers === undefined ? availableParallelism() : Number(opts.workers) });
try {
  const answers = await answersOnLoom(rt, await loadFlightTasks(rt), opts.file, Number(opts.parts));
  const text = JSON.stringify(answers);
  if (opts.json) await writeFile(opts.json, text);
  else process.stdout.write(text);
} finally {
  await rt.shutdown();
}
