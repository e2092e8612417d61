// The flagship's answers (examples/01-flagship) on Loom and in DuckDB, same files, 2 threads each, one run:
// the answers must be equal bit for bit, and the times compared twice: from the file to all answers with the
// runtime / connection already up, and as a whole `node` process. DuckDB is a bench-only dependency with its own
// package under bench/duckdb; without it this workload reports itself skipped and says how to install it.
// DuckDB has no built-in Arrow IPC reader (its extension is a download), so for a .arrow file it reads a parquet
// copy written here with parquet-wasm (same columns, same types); Loom reads the .arrow file itself.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { tableFromIPC, tableToIPC } from "apache-arrow";
import { Table as WasmTable, writeParquet } from "parquet-wasm";
import { progress, statsOf } from "../lib/measure.js";
import { peerRows, WRONG_ANSWER } from "../lib/comparison.js";
import type { BenchResult, BenchRow, RunOptions } from "../lib/types.js";
import { init } from "../../engine/index.js";
import { answersDiff } from "../../examples/01-flagship/answers.js";
import { answersOnLoom, loadFlightTasks, vegaData } from "../../examples/01-flagship/loom-answers.js";

const THREADS = 2;
const DUCKDB_SCRIPT = fileURLToPath(new URL("../duckdb/flight-answers.mjs", import.meta.url));
const LOOM_SCRIPT = fileURLToPath(new URL("../../dist/examples/01-flagship/answers-only.js", import.meta.url));
const INSTALL = "npm install --prefix bench/duckdb";

interface DuckDBSide {
  openDuckDB(threads: number): Promise<unknown>;
  duckdbAnswers(con: unknown, path: string, dataset?: string): Promise<Record<string, unknown>>;
}

/** The answers without the producer label, which differs by design. */
const numbersOf = (a: object) => ({ ...a, producer: undefined });

function timeProcess(args: string[]): { s: number; answers: object } {
  const t0 = performance.now();
  const run = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 300_000, maxBuffer: 64 << 20, env: { ...process.env, NODE_OPTIONS: "" } });
  const s = (performance.now() - t0) / 1e3;
  if (run.status !== 0) throw new Error(`${args.join(" ")} failed (status ${run.status}): ${run.stderr.slice(0, 600)}`);
  return { s, answers: JSON.parse(run.stdout) as object };
}

export async function run({ quick }: RunOptions): Promise<BenchResult> {
  const reps = quick ? 3 : 7;
  let duck: DuckDBSide;
  try {
    duck = (await import(pathToFileURL(DUCKDB_SCRIPT).href)) as DuckDBSide;
  } catch (error) {
    return { name: "flagship-duckdb", title: "Flagship vs DuckDB", quick, params: {}, rows: [],
      skipped: `DuckDB is not installed (a bench-only dependency): run \`${INSTALL}\` (${(error as Error).message.split("\n")[0]})` };
  }
  if (!existsSync(LOOM_SCRIPT)) throw new Error("dist/ is missing: run `npm run build` first");
  const dir = mkdtempSync(join(tmpdir(), "loom-bench-duckdb-"));
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const rt = await init({ workers: THREADS });
  try {
    const con = await duck.openDuckDB(THREADS);
    const tasks = await loadFlightTasks(rt);
    for (const name of ["flights-3m.parquet", "flights-200k.arrow"]) {
      const path = vegaData(name);
      let duckPath = path;
      if (name.endsWith(".arrow")) {
        duckPath = join(dir, `${basename(name, ".arrow")}.parquet`);
        writeFileSync(duckPath, writeParquet(WasmTable.fromIPCStream(tableToIPC(tableFromIPC(readFileSync(path)), "stream"))));
      }
      // In this process, runtime and connection up; first runs untimed; the two sides alternate.
      const loomAnswers = await answersOnLoom(rt, tasks, path);
      const duckAnswers = await duck.duckdbAnswers(con, duckPath, name);
      // Every timed run's answers are compared too, Loom's and DuckDB's alike, against the first pair.
      const wrong: string[] = [];
      const compare = (what: string, got: object, want: object) => {
        const d = answersDiff(got, want);
        if (d !== null) wrong.push(`${what}: ${d}`);
      };
      compare(`${name}: Loom against DuckDB`, numbersOf(loomAnswers), numbersOf(duckAnswers));
      const loomS: number[] = [];
      const duckS: number[] = [];
      for (let i = 0; i < reps; i++) {
        let t = performance.now();
        const l = await answersOnLoom(rt, tasks, path);
        loomS.push((performance.now() - t) / 1e3);
        t = performance.now();
        const d = await duck.duckdbAnswers(con, duckPath, name);
        duckS.push((performance.now() - t) / 1e3);
        compare(`${name} run ${i + 1}: Loom`, numbersOf(l), numbersOf(duckAnswers));
        compare(`${name} run ${i + 1}: DuckDB`, numbersOf(d), numbersOf(duckAnswers));
        progress(`${name} in process ${i + 1}/${reps}: loom ${(loomS[i]! * 1e3).toFixed(0)} ms, duckdb ${(duckS[i]! * 1e3).toFixed(0)} ms`);
      }
      // Whole processes: start, file to answers, JSON on stdout, exit.
      const loomP: number[] = [];
      const duckP: number[] = [];
      for (let i = 0; i < reps; i++) {
        const l = timeProcess([LOOM_SCRIPT, "--file", path, "--workers", String(THREADS)]);
        const d = timeProcess([DUCKDB_SCRIPT, duckPath, "--threads", String(THREADS)]);
        compare(`${name} whole process ${i + 1}: Loom`, numbersOf(l.answers), { ...numbersOf(duckAnswers), dataset: name });
        compare(`${name} whole process ${i + 1}: DuckDB`, { ...numbersOf(d.answers), dataset: name }, { ...numbersOf(duckAnswers), dataset: name });
        loomP.push(l.s);
        duckP.push(d.s);
        progress(`${name} whole process ${i + 1}/${reps}: loom ${(l.s * 1e3).toFixed(0)} ms, duckdb ${(d.s * 1e3).toFixed(0)} ms`);
      }
      notes.push(wrong.length ? `${WRONG_ANSWER}: ${wrong.join("; ")}` : `${name}: every answer of every run equals DuckDB's first bit for bit`);
      for (const [label, l, d] of [["file to answers, started", loomS, duckS], ["whole node process", loomP, duckP]] as const) {
        const ls = statsOf(l);
        const ds = statsOf(d);
        const [row] = peerRows({
          case: `${name}: ${label} (${THREADS} threads each)`,
          unit: "s",
          loom: ls.median,
          variants: [{ peer: "DuckDB", variant: name.endsWith(".arrow") ? "reading a parquet copy" : "reading the file", value: ds.median }],
          targets: { DuckDB: { op: ">=", value: 0.5, text: "within 2× of DuckDB (≥ 0.5×)" } },
          extra: { loomMin: ls.min, loomMax: ls.max, duckdbMin: ds.min, duckdbMax: ds.max, answersEqual: wrong.length ? "NO" : "yes" },
        });
        if (name.endsWith(".parquet") && label.startsWith("file")) row!.headline = true;
        rows.push(row!);
      }
    }
  } finally {
    await rt.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    name: "flagship-duckdb",
    title: "Flagship answers: Loom vs DuckDB",
    quick,
    params: { reps, threads: THREADS },
    rows,
    notes: [...notes, "DuckDB reads a parquet copy of the .arrow file (no built-in Arrow IPC reader); medians; the two sides alternate"],
  };
}
