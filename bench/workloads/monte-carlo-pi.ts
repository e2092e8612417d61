// Monte Carlo π, 100M samples on 2 workers: serial vs Loom's Pool (map) vs piscina,
// and piscina's code on Loom (the one-import change), all in this process run.
// Prints the Node version, cores and build, then one JSON line; run() returns that object.
import os from "node:os";
import { pathToFileURL } from "node:url";
import { makePool } from "../lib/pools.js";
import { Pool } from "../../engine/pool/index.js";
import { piscinaPi as piscinaOnLoomPi } from "../../examples/04-monte-carlo-pi/piscina-on-loom.js";
import { piscinaPi, tasks } from "../../examples/04-monte-carlo-pi/piscina.js";
import { poolPi } from "../../examples/04-monte-carlo-pi/pool.js";
import { serialPi } from "../../examples/04-monte-carlo-pi/serial.js";

export interface MonteCarloPiResult {
  workload: "monte-carlo-pi";
  node: string;
  cores: number;
  build: string;
  samples: number;
  workers: number;
  reps: number;
  /** Median wall time of one estimate, ms (pools already started and warm). */
  times: { serialMs: number; loomPoolMs: number; piscinaOnLoomMs: number; piscinaMs: number };
  /** Time from constructing the pool to the end of a small warm-up call, ms. */
  startup: { loomMs: number; piscinaMs: number };
  /** Speedups: baseline time / measured time (> 1: faster than the baseline). */
  ratios: {
    loomPoolVsSerial: number;
    piscinaVsSerial: number;
    loomPoolVsPiscina: number;
    piscinaOnLoomVsPiscina: number;
  };
  pi: number;
}

const WORKERS = 2;

/** `workers` (default 2) sets the Loom workers, the piscina threads and the jobs (4 per worker). */
export async function run({ quick = false, workers = WORKERS }: { quick?: boolean; workers?: number } = {}): Promise<MonteCarloPiResult> {
  const samples = quick ? 4_000_000 : 100_000_000;
  const reps = quick ? 1 : 3;
  const warmup = 80_000;

  let t = performance.now();
  const pool = new Pool({ workers });
  const onLoom = new Pool({ filename: tasks, maxThreads: workers, minThreads: workers });
  await poolPi(pool, warmup, workers);
  await piscinaOnLoomPi(onLoom, warmup, workers);
  const loomStartup = performance.now() - t;

  t = performance.now();
  // Through the bench's piscina entry, which registers tsx's ESM loader in the thread: the bench runs under
  // `--import tsx/esm`, whose hooks do not reach worker threads on Node 20 (see bench/lib/pools.ts).
  const piscina = await makePool(new URL(tasks), { threads: workers });
  await piscinaPi(piscina, warmup, workers);
  const piscinaStartup = performance.now() - t;

  const runs = { serial: [] as number[], loom: [] as number[], onLoom: [] as number[], piscina: [] as number[] };
  let pi = 0;
  try {
    // Interleaved, so that a noisy neighbour hits every variant alike.
    for (let rep = 0; rep < reps; rep++) {
      t = performance.now();
      pi = serialPi(samples, workers);
      runs.serial.push(performance.now() - t);

      t = performance.now();
      check(await poolPi(pool, samples, workers), pi, "loom Pool");
      runs.loom.push(performance.now() - t);

      t = performance.now();
      check(await piscinaOnLoomPi(onLoom, samples, workers), pi, "piscina code on loom");
      runs.onLoom.push(performance.now() - t);

      t = performance.now();
      check(await piscinaPi(piscina, samples, workers), pi, "piscina");
      runs.piscina.push(performance.now() - t);
    }
  } finally {
    await Promise.all([pool.close(), onLoom.close(), piscina.destroy()]);
  }

  const times = {
    serialMs: median(runs.serial),
    loomPoolMs: median(runs.loom),
    piscinaOnLoomMs: median(runs.onLoom),
    piscinaMs: median(runs.piscina),
  };
  return {
    workload: "monte-carlo-pi",
    node: process.version,
    cores: os.availableParallelism(),
    build: import.meta.url.includes("/dist/") ? "dist (tsc)" : "source (tsx)",
    samples,
    workers,
    reps,
    times,
    startup: { loomMs: round(loomStartup), piscinaMs: round(piscinaStartup) },
    ratios: {
      loomPoolVsSerial: round(times.serialMs / times.loomPoolMs, 3),
      piscinaVsSerial: round(times.serialMs / times.piscinaMs, 3),
      loomPoolVsPiscina: round(times.piscinaMs / times.loomPoolMs, 3),
      piscinaOnLoomVsPiscina: round(times.piscinaMs / times.piscinaOnLoomMs, 3),
    },
    pi,
  };
}

function check(got: number, expected: number, what: string): void {
  if (got !== expected) throw new Error(`${what} computed π ≈ ${got}, serial ${expected}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return round(s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2);
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const quick = process.argv.includes("--quick");
  console.log(`node ${process.version} · ${os.availableParallelism()} cores · ${os.cpus()[0]?.model ?? "unknown cpu"}`);
  console.log(`monte-carlo-pi: ${quick ? "4M" : "100M"} samples, ${WORKERS} workers, serial vs loom Pool vs piscina`);
  console.log(JSON.stringify(await run({ quick })));
}
