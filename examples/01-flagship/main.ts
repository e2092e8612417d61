// `npm start`: the flagship job. Reads 3M US flights in parallel on Loom (row groups decoded in the workers into
// Arrow record batches in the shared store), aggregates them where they are with a tree reduce, prints and writes
// (--json) exact answers, then runs again while a worker is killed and an intermediate evicted, checks that the
// answers are the same and equal a serial run's, and writes the run's graph (DOT) and timeline (Chrome trace).
import { availableParallelism } from "node:os";
import { writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { init, type ObjectRef } from "../../engine/index.js";
import { writeGraph } from "../../engine/graph-export/index.js";
import { answersDiff, answersFrom } from "./answers.js";
import type { FlightStats } from "./flight-stats.js";
import { readFlightFile } from "./flight-file.js";
import { computeSerial } from "./serial.js";
import { DEFAULT_PARTS, loadFlightTasks, submitFile, vegaData, type Submitted } from "./loom-answers.js";
import { formatReport } from "./report.js";
import { FaultLog } from "./fault-log.js";
import { TaskProgress } from "./task-progress.js";

const { values: opts } = parseArgs({
  options: {
    file: { type: "string", default: vegaData("flights-3m.parquet") },
    json: { type: "string" },
    parts: { type: "string", default: String(DEFAULT_PARTS) },
    workers: { type: "string" },
    out: { type: "string", default: "out" },
    faults: { type: "string", default: "on" },
  },
});
const wantedParts = positiveInt(opts.parts, "--parts");
const workers = opts.workers === undefined ? availableParallelism() : positiveInt(opts.workers, "--workers");
const injectFaults = opts.faults !== "off";
const dataset = basename(opts.file);

const GET = { timeoutMs: 120_000 };
const ms = (t: number) => `${t.toFixed(0)} ms`;
const line = (text = "") => console.log(text);

line(`Loom flagship: delays of US flights (${dataset}), read and aggregated in parallel\n`);

// 1. Start Loom (embedded, no config) and load the task module in every worker.
let t = performance.now();
const rt = await init({ workers });
const tasks = await loadFlightTasks(rt);
const startMs = performance.now() - t;

/** File to answers: read, put the bytes, ingest + aggregate + tree reduce, answers. */
const run = async () => {
  const started = performance.now();
  const submitted = await submitFile(rt, tasks, opts.file, wantedParts);
  const answers = answersFrom((await rt.get(submitted.job.root, GET)) as FlightStats, { producer: "loom", dataset });
  return { answers, submitted, ms: performance.now() - started };
};

// 2. The first run is cold (workers import the task module and parquet-wasm); the second is timed warm.
const first = await run();
const warm = await run();
line(`Loom: ${workers} workers started in ${ms(startMs)}; file to answers: ${ms(first.ms)} (first run), ${ms(warm.ms)} (warm), ` +
  `${first.submitted.parts} parts, ${first.submitted.job.tasks} tasks\n`);
line(formatReport(warm.answers));
line();
if (opts.json) {
  await writeFile(opts.json, `${JSON.stringify(warm.answers, null, 2)}\n`);
  line(`answers written to ${opts.json}`);
}

// 3. The serial reference: the same parts and merges in this thread.
t = performance.now();
const file = await readFlightFile(opts.file);
const serialOf = (from: number, to: number) => computeSerial(file, first.submitted.parts, from, to);
const serial = answersFrom(await serialOf(0, first.submitted.parts), { producer: "loom", dataset });
const serialMs = performance.now() - t;
const cleanDiff = answersDiff(warm.answers, serial);
line(cleanDiff === null ? `Loom answers = serial answers, bit for bit (serial: ${ms(serialMs)} on one thread)` : `MISMATCH against the serial run: ${cleanDiff}`);
if (cleanDiff !== null) process.exitCode = 1;

// 4. The run with faults: a progress bar fed by task:finished; midway a worker crash and an eviction.
const faults = new FaultLog(rt.events);
const progress = new TaskProgress(rt.events, "ingest + aggregate + tree reduce");
let evicted: { ref: ObjectRef<FlightStats>; label: string; from: number; to: number } | undefined;
let submitted: Submitted | undefined;
try {
  t = performance.now();
  submitted = await submitFile(rt, tasks, opts.file, wantedParts);
  const { job } = submitted;
  progress.start(job.tasks);
  const rootPromise = rt.get(job.root, GET);
  rootPromise.catch(() => {}); // awaited below; this only avoids an unhandled rejection while faults run
  if (injectFaults) {
    // Midway: as many tasks finished as there are parts (some partials exist, few merges ran).
    await Promise.race([progress.reached(submitted.parts), rootPromise]);
    const killed = await rt.faults.killWorker();
    progress.announce(`!! killed worker ${killed} mid-task (a crash: its task will be retried)`);
    evicted = evictIntermediate(submitted);
    progress.announce(evicted
      ? `!! evicted ${evicted.label} from the object store (as if its node were lost)`
      : "!! nothing evictable yet (no intermediate stored); skipping the eviction");
  }
  const faulty = answersFrom((await rootPromise) as FlightStats, { producer: "loom", dataset });
  const faultMs = performance.now() - t;
  progress.stop();
  const diff = answersDiff(faulty, serial);
  line(diff === null ? "answers after the faults = serial answers, bit for bit" : `MISMATCH after the faults: ${diff}`);
  if (diff !== null) process.exitCode = 1;
  if (evicted) {
    // Ask for the evicted object itself too: if its consumer ran before the eviction, this is what rebuilds it.
    const again = (await rt.get(evicted.ref, GET)) as FlightStats;
    const same = answersDiff(again, await serialOf(evicted.from, evicted.to)) === null;
    line(`evicted ${evicted.label}: fetched again, ${same ? "identical to the serial value" : "DIFFERENT from the serial value"}`);
    if (!same) process.exitCode = 1;
  }
  line(faults.summary());
  line();
  line(`timing (${workers} workers, ${serial.totals.count.toLocaleString("en-US")} rows, file to answers):`);
  line(`  ${"serial, 1 thread".padEnd(30)}${ms(serialMs).padStart(9)}`);
  line(`  ${"Loom, warm, no faults".padEnd(30)}${ms(warm.ms).padStart(9)}   ${(serialMs / warm.ms).toFixed(2)}x serial`);
  if (injectFaults) line(`  ${"Loom, with crash + eviction".padEnd(30)}${ms(faultMs).padStart(9)}   (the replacement worker starts cold)`);
  line(`  (not counted above: Loom start ${ms(startMs)}, the first run ${ms(first.ms)})`);
} catch (error) {
  progress.stop();
  console.error(`\nthe Loom run failed: ${(error as Error).stack ?? String(error)}`);
  console.error(faults.summary());
  process.exitCode = 1;
} finally {
  // 5. The graph of everything this run submitted (also after a failure: it shows where it stopped).
  const written = await writeGraph(rt.graph(), { dot: join(opts.out, "flagship.dot"), trace: join(opts.out, "flagship-trace.json") });
  line();
  line(`graph:    ${written.dot}   (render: dot -Tsvg ${join(opts.out, "flagship.dot")} -o flagship.svg)`);
  line(`timeline: ${written.trace}   (open in ui.perfetto.dev or chrome://tracing)`);
  await rt.shutdown();
}

/** Evict the first stored intermediate partial, preferring a first-level merge, else a per-part partial. */
function evictIntermediate(s: Submitted): typeof evicted {
  const [partials, merges = []] = s.job.reduction.levels;
  const candidates: NonNullable<typeof evicted>[] = [];
  merges.forEach((ref, i) => {
    if (2 * i + 1 < partials.length) candidates.push({ ref, label: `the merge of partials ${2 * i} and ${2 * i + 1}`, from: 2 * i, to: 2 * i + 2 });
  });
  partials.forEach((ref, p) => candidates.push({ ref, label: `the partial of part ${p}`, from: p, to: p + 1 }));
  return candidates.find((c) => rt.faults.evict(c.ref));
  return undefined;
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}
