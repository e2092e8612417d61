// How the workloads scale with cores: for each worker count N (default 1, 2, 4, 8, 16, capped at the
// cores), Loom with N workers beside piscina with N threads (and serial code), in this one process:
//   trivial   200k `inc` tasks submitted at once (throughput.ts's bursts), tasks/s
//   pi        Monte Carlo π, 100M samples in 4N jobs (monte-carlo-pi.ts, run with `workers: N`)
//   numeric   a fresh 3000² image put once, N tasks each convolving it with its own filter
//             (numeric.ts with `workers: N`): the work grows with N, so efficiency = serial/Loom
//   prefix    stateful prefix count in N actors (stateful-prefix.ts with `workers: N`): grows with N too
// Each workload runs all N, in the order above; results are rewritten after every point, so a run
// cut short still leaves what it measured.
//
//   node --import tsx bench/scaling.ts [--workers 1,2,4,8,16] [--quick] [--only trivial,pi,numeric,prefix]
//                                      [--reps 3] [--deadline 540] [--out DIR]
//
// Writes DIR/scaling.json and DIR/scaling.md (default bench/results/, quick: bench/results/quick/).

import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { Piscina } from "piscina";
import { canary } from "./lib/canary.js";
import { guard, startLoom, warmLoom, withLimit, type ModuleWrappers, type Runtime } from "./lib/loom.js";
import { interleave, progress } from "./lib/measure.js";
import { makePool, warmPool } from "./lib/pools.js";
import { fmtNum } from "./lib/report.js";
import { systemInfo, type SystemInfo } from "./lib/system.js";
import type { BenchResult } from "./lib/types.js";
import { run as monteCarloPi } from "./workloads/monte-carlo-pi.js";
import { run as numeric } from "./workloads/numeric.js";
import { run as statefulPrefix } from "./workloads/stateful-prefix.js";
import { loomBurst, piscinaBurst, POOL_MODULE, TASK_MODULE } from "./workloads/throughput.js";
import type * as TrivialModule from "./workloads/modules/trivial-task.js";

const SECTIONS = ["trivial", "pi", "numeric", "prefix"] as const;
type SectionName = (typeof SECTIONS)[number];

interface Args {
  workers: number[];
  quick: boolean;
  only: SectionName[];
  /** Timed repetitions for trivial, numeric and prefix (pi keeps its own 3). */
  reps: number;
  /** Seconds from the start after which no new point is begun (the rest is reported as not run). */
  deadline: number;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const cores = os.availableParallelism();
  const defaults = [1, 2, 4, 8, 16].filter((n) => n < cores);
  let workers = [...defaults, cores];
  let quick = false;
  let only: SectionName[] = [...SECTIONS];
  let reps: number | undefined;
  let deadline = Infinity;
  let out: string | undefined;
  const list = (v: string | undefined) => (v ?? "").split(",").filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split("=", 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    if (flag === "--quick") quick = true;
    else if (flag === "--workers") workers = list(value()).map(Number);
    else if (flag === "--only") only = list(value()) as SectionName[];
    else if (flag === "--reps") reps = Number(value());
    else if (flag === "--deadline") deadline = Number(value());
    else if (flag === "--out") out = value();
    else if (flag === "--help" || flag === "-h") {
      console.log("usage: node --import tsx bench/scaling.ts [--workers 1,2,4,8,16] [--quick] [--only trivial,pi,numeric,prefix] [--reps N] [--deadline S] [--out DIR]");
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (workers.length === 0 || workers.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("--workers takes positive integers, e.g. 1,2,4");
  for (const o of only) if (!(SECTIONS as readonly string[]).includes(o)) throw new Error(`unknown section ${o}; known: ${SECTIONS.join(", ")}`);
  const dir = out ?? fileURLToPath(new URL(quick ? "./results/quick" : "./results", import.meta.url));
  return { workers, quick, only, reps: reps ?? (quick ? 1 : 3), deadline, out: dir };
}

/** One worker count's numbers; null where a variant failed or did not run. */
interface Point {
  workers: number;
  values: Record<string, number | null>;
  wallSeconds: number;
  notes: string[];
  error?: string;
}

interface Column {
  head: string;
  /** The cell; `first` is the point at the smallest N, for "vs N=1" columns. */
  cell: (p: Point, first: Point | undefined) => number | null;
  /** "x" for a ratio (printed as 1.23×), else a unit suffix. */
  unit: string;
}

interface Section {
  name: SectionName;
  title: string;
  what: string;
  columns: Column[];
  points: Point[];
  notes: string[];
}

const div = (a: number | null | undefined, b: number | null | undefined): number | null =>
  typeof a === "number" && typeof b === "number" && b !== 0 && Number.isFinite(a) && Number.isFinite(b) ? a / b : null;
const v = (p: Point | undefined, k: string) => p?.values[k] ?? null;
/** Where the work grows with N (N kernels, N actors): Loom's units of work per second, over N=1's. */
const loomRateVsFirst = (p: Point, first: Point | undefined) => div(div(p.workers, v(p, "loom")), div(first?.workers, v(first, "loom")));

// ---- the four workloads, one point (worker count) at a time ---------------------------------------

async function trivialPoint(n: number, args: Args): Promise<Point> {
  const tasks = args.quick ? 20_000 : 200_000;
  const notes: string[] = [];
  const pool: Piscina = await makePool(POOL_MODULE, { threads: n });
  const started = await startLoom({ workers: n });
  try {
    await warmPool(pool, "ping", null);
    if ("skipped" in started) throw new Error(started.skipped);
    const rt: Runtime = started.rt;
    const m: ModuleWrappers<typeof TrivialModule> = await rt.module<typeof TrivialModule>(TASK_MODULE);
    await warmLoom(rt, m.warm, n);
    await rt.get(Array.from({ length: 64 }, (_, i) => m.inc.remote(i)));
    const { stats, errors } = await interleave(
      {
        loom: { fn: () => guard(rt, "loom trivial tasks", tasks / 2000 + 30, () => loomBurst(rt, m, tasks)) },
        piscina: { fn: () => piscinaBurst(pool, tasks) },
      },
      { warmup: 0, reps: args.reps },
    );
    for (const [k, e] of Object.entries(errors)) notes.push(`${k} failed: ${e}`);
    return {
      workers: n,
      values: { loom: div(tasks, stats["loom"]?.median), piscina: div(tasks, stats["piscina"]?.median) },
      wallSeconds: 0,
      notes,
    };
  } finally {
    if (!("skipped" in started)) await started.rt.shutdown();
    await pool.destroy();
  }
}

async function piPoint(n: number, args: Args): Promise<Point> {
  const r = await monteCarloPi({ quick: args.quick, workers: n });
  return {
    workers: n,
    values: { serial: r.times.serialMs / 1e3, loom: r.times.loomPoolMs / 1e3, piscinaOnLoom: r.times.piscinaOnLoomMs / 1e3, piscina: r.times.piscinaMs / 1e3 },
    wallSeconds: 0,
    notes: [`${r.samples.toLocaleString("en-US")} samples in ${4 * n} jobs, π ≈ ${r.pi}, median of ${r.reps}`],
  };
}

/** numeric.ts and stateful-prefix.ts report BenchResult rows, each peer variant's figure in the row that names it. */
function fromRows(n: number, r: BenchResult, peers: Record<string, string>): Point {
  const values: Record<string, number | null> = { loom: r.rows[0]?.loom ?? null };
  for (const [key, peer] of Object.entries(peers)) values[key] = r.rows.find((row) => row.peer === peer)?.peerValue ?? null;
  const notes = (r.notes ?? []).filter((x) => /WRONG|failed/.test(x));
  const point: Point = { workers: n, values, wallSeconds: 0, notes };
  if (r.skipped) point.error = `Loom: ${r.skipped}`;
  return point;
}

async function numericPoint(n: number, args: Args): Promise<Point> {
  return fromRows(n, await numeric({ quick: args.quick, workers: n, reps: args.reps }), {
    serial: "serial, one image a round",
    piscinaClone: "piscina, a structured-clone copy per task",
    piscinaSab: "piscina, SharedArrayBuffer",
  });
}

async function prefixPoint(n: number, args: Args): Promise<Point> {
  return fromRows(n, await statefulPrefix({ quick: args.quick, workers: n, reps: args.reps }), {
    serial: "serial, two states in the main thread",
    piscinaPassState: "piscina, state passed in and out",
    piscinaPinned: "piscina, pinned pool per actor",
  });
}

const x = "x";

function sections(args: Args): Record<SectionName, { section: Omit<Section, "points" | "notes">; point: (n: number, a: Args) => Promise<Point> }> {
  const tasks = args.quick ? "20k" : "200k";
  const side = args.quick ? 2000 : 3000;
  const docs = args.quick ? 3 : 10;
  return {
    trivial: {
      point: trivialPoint,
      section: {
        name: "trivial",
        title: `Trivial tasks: ${tasks} \`x => x + 1\` submitted at once`,
        what: `tasks/s (${tasks} / median wall of ${args.reps}); Loom: \`inc.remote(i)\` × n, one \`get\`; piscina: \`pool.run(i)\` × n, \`Promise.all\`; both with N workers/threads`,
        columns: [
          { head: "Loom tasks/s", cell: (p) => v(p, "loom"), unit: "" },
          { head: "piscina tasks/s", cell: (p) => v(p, "piscina"), unit: "" },
          { head: "Loom vs N=1", cell: (p, f) => div(v(p, "loom"), v(f, "loom")), unit: x },
          { head: "piscina vs N=1", cell: (p, f) => div(v(p, "piscina"), v(f, "piscina")), unit: x },
          { head: "Loom / piscina", cell: (p) => div(v(p, "loom"), v(p, "piscina")), unit: x },
        ],
      },
    },
    pi: {
      point: piPoint,
      section: {
        name: "pi",
        title: `Monte Carlo π, ${args.quick ? "4M" : "100M"} samples, \`loom/pool\` \`Pool.map\``,
        what: `seconds per estimate (median of ${args.quick ? 1 : 3}, monte-carlo-pi.ts's own count); the same work at every N, split into 4N jobs; serial runs the same 4N jobs in the main thread`,
        columns: [
          { head: "serial s", cell: (p) => v(p, "serial"), unit: "" },
          { head: "Loom Pool s", cell: (p) => v(p, "loom"), unit: "" },
          { head: "piscina s", cell: (p) => v(p, "piscina"), unit: "" },
          { head: "piscina code on Loom s", cell: (p) => v(p, "piscinaOnLoom"), unit: "" },
          { head: "Loom vs serial", cell: (p) => div(v(p, "serial"), v(p, "loom")), unit: x },
          { head: "Loom vs N=1", cell: (p, f) => div(v(f, "loom"), v(p, "loom")), unit: x },
          { head: "piscina vs serial", cell: (p) => div(v(p, "serial"), v(p, "piscina")), unit: x },
          { head: "Loom vs piscina", cell: (p) => div(v(p, "piscina"), v(p, "loom")), unit: x },
        ],
      },
    },
    numeric: {
      point: numericPoint,
      section: {
        name: "numeric",
        title: `Numeric: a fresh ${side}² Float64Array put once, N convolutions (one filter each)`,
        what: `seconds per round (median of ${args.reps}); the work is N kernels, so it grows with N: efficiency = serial time of the N kernels / Loom's (ideal N); "kernels/s vs N=1" = (N / time) over N=1's`,
        columns: [
          { head: "serial s (N kernels)", cell: (p) => v(p, "serial"), unit: "" },
          { head: "Loom s", cell: (p) => v(p, "loom"), unit: "" },
          { head: "piscina SAB s", cell: (p) => v(p, "piscinaSab"), unit: "" },
          { head: "piscina clone s", cell: (p) => v(p, "piscinaClone"), unit: "" },
          { head: "Loom efficiency (serial/Loom)", cell: (p) => div(v(p, "serial"), v(p, "loom")), unit: x },
          { head: "SAB efficiency", cell: (p) => div(v(p, "serial"), v(p, "piscinaSab")), unit: x },
          { head: "Loom kernels/s vs N=1", cell: loomRateVsFirst, unit: x },
          { head: "Loom vs piscina SAB", cell: (p) => div(v(p, "piscinaSab"), v(p, "loom")), unit: x },
        ],
      },
    },
    prefix: {
      point: prefixPoint,
      section: {
        name: "prefix",
        title: `Stateful prefix count: N actors × ${docs} documents of 10,000 strings`,
        what: `seconds (median of ${args.reps}; state-passing pool: 1 run); the work is N actors' documents, so it grows with N: efficiency = serial / Loom (ideal N)`,
        columns: [
          { head: "serial s", cell: (p) => v(p, "serial"), unit: "" },
          { head: "Loom actors s", cell: (p) => v(p, "loom"), unit: "" },
          { head: "piscina pinned s", cell: (p) => v(p, "piscinaPinned"), unit: "" },
          { head: "piscina pass-state s", cell: (p) => v(p, "piscinaPassState"), unit: "" },
          { head: "Loom efficiency (serial/Loom)", cell: (p) => div(v(p, "serial"), v(p, "loom")), unit: x },
          { head: "pinned efficiency", cell: (p) => div(v(p, "serial"), v(p, "piscinaPinned")), unit: x },
          { head: "Loom docs/s vs N=1", cell: loomRateVsFirst, unit: x },
          { head: "Loom vs pass-state", cell: (p) => div(v(p, "piscinaPassState"), v(p, "loom")), unit: x },
        ],
      },
    },
  };
}

// ---- report ----------------------------------------------------------------------------------------

function fmt(value: number | null, unit: string): string {
  if (value === null) return "–";
  return unit === x ? `${value.toFixed(2)}×` : fmtNum(value);
}

function sectionTable(s: Section): string {
  const first = s.points.find((p) => !p.error);
  const lines = [`| N | ${s.columns.map((c) => c.head).join(" | ")} |`, `|---|${s.columns.map(() => "---").join("|")}|`];
  for (const p of s.points) {
    const cells = s.columns.map((c) => fmt(c.cell(p, first), c.unit));
    lines.push(`| ${p.workers} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

interface Report {
  system: SystemInfo;
  args: Omit<Args, "out">;
  canary: { before: number; after: number | null };
  wallSeconds: number;
  sections: Section[];
}

function markdown(r: Report): string {
  const out = [
    `# Loom scaling${r.args.quick ? " (quick)" : ""}`,
    "",
    `${r.system.date} · node ${r.system.node} · ${r.system.cores} cores (${r.system.cpu}) · ${r.system.totalMemGiB} GiB · ${r.system.engine} · build ${r.system.build}`,
    `workers ${r.args.workers.join(", ")} · reps ${r.args.reps} · wall ${r.wallSeconds.toFixed(0)} s · two-thread canary ${r.canary.before.toFixed(2)} before, ${r.canary.after?.toFixed(2) ?? "–"} after (2.00 = two free cores)`,
  ];
  for (const s of r.sections) {
    out.push("", `## ${s.title}`, "", s.what, "", sectionTable(s));
    const notes = [...s.notes, ...s.points.flatMap((p) => [...(p.error ? [`N=${p.workers}: ${p.error}`] : []), ...p.notes.map((n) => `N=${p.workers}: ${n}`)])];
    if (notes.length) out.push("", ...notes.map((n) => `- ${n}`));
  }
  return `${out.join("\n")}\n`;
}

function write(r: Report, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/scaling.json`, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(`${dir}/scaling.md`, markdown(r));
}

// ---- main ------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1e3;
  const system = systemInfo();
  console.log(`Loom scaling${args.quick ? " (quick)" : ""}: workers ${args.workers.join(", ")}; ${args.only.join(", ")}`);
  console.log(`node ${system.node} · ${system.cores} cores (${system.cpu}) · build ${system.build} · ${system.date}`);
  console.log(`engine: ${system.engine}`);
  const before = await canary();
  const { out, ...shown } = args;
  const report: Report = { system, args: shown, canary: { before, after: null }, wallSeconds: 0, sections: [] };
  const defs = sections(args);
  for (const name of args.only) {
    const def = defs[name];
    const section: Section = { ...def.section, points: [], notes: [] };
    report.sections.push(section);
    for (const n of args.workers) {
      if (elapsed() > args.deadline) {
        section.notes.push(`N=${n}: not run (the ${args.deadline} s deadline had passed)`);
        continue;
      }
      console.error(`\n▶ ${name}, N=${n} (${elapsed().toFixed(0)} s)`);
      const t = performance.now();
      let point: Point;
      try {
        point = await withLimit(`${name} N=${n}`, def.point(n, args), args.quick ? 120 : 300);
      } catch (err) {
        const e = err as Error;
        console.error(`  ✗ ${name} N=${n} failed: ${e.stack ?? e}`);
        point = { workers: n, values: {}, wallSeconds: 0, notes: [], error: `failed: ${e.message.split("\n")[0]}` };
      }
      point.wallSeconds = (performance.now() - t) / 1e3;
      section.points.push(point);
      progress(`${name} N=${n}: ${JSON.stringify(point.values)} in ${point.wallSeconds.toFixed(1)} s`);
      report.wallSeconds = elapsed();
      write(report, out);
    }
  }
  report.canary.after = await canary();
  report.wallSeconds = elapsed();
  write(report, out);
  console.log(`\n${markdown(report)}`);
  console.log(`wrote ${out}/scaling.json, ${out}/scaling.md`);
  // Workers or pools left by a failed point must not keep the process alive.
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
