// `npm start`: the flagship job. Reads 3M US flights, aggregates them on Loom with a tree reduce while
// a worker is killed and an intermediate object evicted, checks the answers against a serial run,
// and writes the run's graph (DOT) and timeline (Chrome trace).
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { RecordBatch } from "apache-arrow";
import { init, type ObjectRef } from "../../engine/index.js";
import { writeGraph } from "../../engine/graph-export/index.js";
import { answersDiff, answersFromList, AGGREGATES } from "./answers.js";
import { loadFlights } from "./load.js";
import { computeSerial } from "./serial.js";
import { submitFlightJob } from "./loom-job.js";
import { formatReport } from "./report.js";
import { statsDiff, type KeyedStats } from "./keyed-stats.js";
import { FaultLog } from "./fault-log.js";
import { TaskProgress } from "./task-progress.js";
import type * as FlightTasks from "./flight-tasks.js";

const DEFAULT_FILE = fileURLToPath(new URL("../../node_modules/vega-datasets/data/flights-3m.parquet", import.meta.url));

const { values: opts } = parseArgs({
  options: {
    file: { type: "string", default: DEFAULT_FILE },
    batches: { type: "string", default: "16" },
    workers: { type: "string" },
    out: { type: "string", default: "out" },
    faults: { type: "string", default: "on" },
  },
});
const batchCount = positiveInt(opts.batches, "--batches");
const workers = opts.workers === undefined ? availableParallelism() : positiveInt(opts.workers, "--workers");
const injectFaults = opts.faults !== "off";

const GET = { timeoutMs: 60_000 };
const ms = (t: number) => `${t.toFixed(0)} ms`;
const line = (text = "") => console.log(text);

// 1. Read and split: the same batches feed the serial baseline and Loom.
line("Loom flagship: delays of US flights, aggregated in parallel with a tree reduce\n");
const loaded = await loadFlights(opts.file, { batches: batchCount });
line(`read ${loaded.rows.toLocaleString("en-US")} flights with ${loaded.library} in ${ms(loaded.readMs)}; ` +
  `${loaded.batches.length} Arrow record batches in ${ms(loaded.splitMs)}`);
const airports = loaded.batches[0].getChild("origin")?.data[0].dictionary?.toArray() as string[] | undefined;

// 2. The serial baseline, one thread: the reference answers. Both sides are timed warm (compiled code, as in a
//    long-running job): the first pass here, and a whole untimed run on Loom below, are warm-ups.
let t = performance.now();
computeSerial(loaded.batches);
const serialColdMs = performance.now() - t;
t = performance.now();
const serial = computeSerial(loaded.batches);
const serialMs = performance.now() - t;
line(`serial baseline (1 thread): ${ms(serialMs)} (first pass ${ms(serialColdMs)})`);

// 3. Start Loom (embedded, no config), load the task module in every worker, put each batch once.
t = performance.now();
const rt = await init({ workers });
const tasks = await rt.module<typeof FlightTasks>(new URL("./flight-tasks.ts", import.meta.url));
// Warm-up: every worker loads flight-tasks.ts and compiles each function once, on a small slice.
const sample = rt.put(loaded.batches[0].slice(0, 4096));
const warmRefs = Array.from({ length: 2 * workers }, () => AGGREGATES.map((name) => tasks[name].remote(sample))).flat();
const warm = (await rt.get([...warmRefs, tasks.merge.remote(warmRefs[0], warmRefs[0])], GET)) as unknown[];
const startMs = performance.now() - t;
t = performance.now();
const batchRefs = loaded.batches.map((batch) => rt.put(batch));
const putMs = performance.now() - t;
/** One whole run without faults, timed (ms). */
const timedRun = async (): Promise<number> => {
  const started = performance.now();
  await rt.get(submitFlightJob<ObjectRef<RecordBatch>, ObjectRef<KeyedStats>>(tasks, batchRefs).roots, GET);
  return performance.now() - started;
};
const warmRunMs = await timedRun();
line(`Loom: ${workers} workers started and warmed in ${ms(startMs)} (${warm.length} warm-up tasks); ` +
  `batches put into shared memory in ${ms(putMs)}; a first whole run (warm-up) in ${ms(warmRunMs)}`);
// The clean run is timed before the faulty one: the crash replaces a worker, and a fresh thread runs cold
// (imports, compilation) for a while.
const cleanRunMs = await timedRun();
line(`a timed run without faults: ${ms(cleanRunMs)}\n`);

// 4. The run with faults: a progress bar fed by task:finished; midway a worker crash and an eviction.
const faults = new FaultLog(rt.events);
const progress = new TaskProgress(rt.events, "aggregate + tree reduce");
const job = submitFlightJob<ObjectRef<RecordBatch>, ObjectRef<KeyedStats>>(tasks, batchRefs);
let evicted: { ref: ObjectRef<KeyedStats>; label: string; expected: KeyedStats } | undefined;
try {
  t = performance.now();
  progress.start(job.tasks);
  // One get for the whole run; a stuck engine fails it after a minute instead of hanging the demo.
  const answersPromise = rt.get(job.roots, GET);
  answersPromise.catch(() => {}); // awaited below; this only avoids an unhandled rejection while faults run
  if (injectFaults) {
    // Midway = half as many tasks finished as there are map tasks: early partials exist, few merges ran.
    await Promise.race([progress.reached(Math.floor((AGGREGATES.length * loaded.batches.length) / 2)), answersPromise]);
    const killed = await rt.faults.killWorker();
    progress.announce(`!! killed worker ${killed} mid-task (a crash: its task will be retried)`);
    evicted = evictIntermediate();
    progress.announce(evicted
      ? `!! evicted ${evicted.label} from the object store (as if its node were lost)`
      : "!! nothing evictable yet (no intermediate stored); skipping the eviction");
  }
  const loom = answersFromList((await answersPromise) as KeyedStats[]);
  const faultRunMs = performance.now() - t;
  progress.stop();

  // 5. Same answers? What was rebuilt?
  line();
  line(formatReport(loom, { airports }));
  line();
  const diff = answersDiff(loom, serial);
  line(diff === null ? "Loom answers = serial answers: every count, sum, max and histogram identical"
    : `MISMATCH against the serial run: ${diff}`);
  if (diff !== null) process.exitCode = 1;
  if (evicted) {
    // Ask for the evicted object itself too: if its consumer ran before the eviction, this is what rebuilds it.
    const again = (await rt.get(evicted.ref, GET)) as KeyedStats;
    const same = statsDiff(again, evicted.expected) === null;
    line(`evicted ${evicted.label}: fetched again, ${same ? "identical to the serial value" : "DIFFERENT from the serial value"}`);
  }
  line(faults.summary());

  // 6. Timing: the clean run (no faults) for the fair comparison, and the run above.
  const timings: [string, number][] = [["Loom, no faults", cleanRunMs]];
  if (injectFaults) timings.push(["Loom, with crash + eviction", faultRunMs]);
  line();
  line(`timing (${workers} workers, ${loaded.rows.toLocaleString("en-US")} rows, ${job.tasks} tasks per run):`);
  line(`  ${"serial, 1 thread".padEnd(28)}${ms(serialMs).padStart(9)}`);
  for (const [label, took] of timings) line(`  ${label.padEnd(28)}${ms(took).padStart(9)}   ${(serialMs / took).toFixed(2)}x serial`);
  line(`  (not counted above: read ${ms(loaded.readMs + loaded.splitMs)}, Loom start ${ms(startMs)}, put ${ms(putMs)}, ` +
    `warm-up runs: serial ${ms(serialColdMs)}, Loom ${ms(warmRunMs)})`);
} catch (error) {
  progress.stop();
  console.error(`\nthe Loom run failed: ${(error as Error).stack ?? String(error)}`);
  console.error(faults.summary());
  process.exitCode = 1;
} finally {
  // 7. The graph of everything this run submitted (also after a failure: it shows where it stopped).
  const written = await writeGraph(rt.graph(), { dot: join(opts.out, "flagship.dot"), trace: join(opts.out, "flagship-trace.json") });
  line();
  line(`graph:    ${written.dot}   (render: dot -Tsvg ${join(opts.out, "flagship.dot")} -o flagship.svg)`);
  line(`timeline: ${written.trace}   (open in ui.perfetto.dev or chrome://tracing)`);
  await rt.shutdown();
}

/** Evict the first stored intermediate, preferring a first-level merge, else a per-batch partial. */
function evictIntermediate(): typeof evicted {
  const candidates: { ref: ObjectRef<KeyedStats>; label: string; expected: () => KeyedStats }[] = [];
  for (const name of AGGREGATES) {
    const [partials, merges = []] = job.reductions[name].levels;
    merges.forEach((ref, i) => {
      if (2 * i + 1 < partials.length) {
        candidates.push({ ref, label: `the merge of ${name} partials ${2 * i} and ${2 * i + 1}`, expected: () => serialPartial(name, 2 * i, 2 * i + 2) });
      }
    });
  }
  for (const name of AGGREGATES) {
    job.reductions[name].levels[0].forEach((ref, b) => {
      candidates.push({ ref, label: `the ${name} partial of batch ${b}`, expected: () => serialPartial(name, b, b + 1) });
    });
  }
  for (const c of candidates) if (rt.faults.evict(c.ref)) return { ref: c.ref, label: c.label, expected: c.expected() };
  return undefined;
}

/** What the partial of batches [from, to) of one aggregate should be, computed in this thread. */
function serialPartial(name: (typeof AGGREGATES)[number], from: number, to: number): KeyedStats {
  return computeSerial(loaded.batches.slice(from, to))[name];
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}
