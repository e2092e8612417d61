// The per-task CPU breakdown of trivial tasks (issue 25, "measure first"): a burst of `inc.remote(i)` × n, then
// one get, with the CPU each thread spent on it: the driver's main thread, each worker thread (read inside the
// worker by a probe actor hosted there), the rest of the process (V8's GC and compiler helpers, libuv), and the
// driver's GC pauses. Prints µs per task for each, and writes bench/results/partial/per-task-cpu.json.
//   node --import tsx/esm bench/micro/per-task-cpu.ts [--tasks 200000] [--workers 2] [--rounds 3]
import { parseArgs } from "node:util";
import { writeFileSync, mkdirSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { init, type ObjectRef } from "loom-dag";
import { threadCpuSeconds } from "../workloads/modules/thread-cpu-probe.js";

const { values } = parseArgs({ options: { tasks: { type: "string", default: "200000" }, workers: { type: "string", default: "2" }, rounds: { type: "string", default: "3" } } });
const n = Number(values.tasks), workers = Number(values.workers), rounds = Number(values.rounds);

// GC entries reach the observer a turn or more after their pause: a round's share sums the entries that began
// inside its window, read after a few turns (summing as they arrived gave a round its predecessor's pauses).
const gcPauses: Array<{ start: number; ms: number }> = [];
const gcObserver = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, ms: e.duration }); });
gcObserver.observe({ entryTypes: ["gc"] });
const gcMsBetween = async (from: number, to: number): Promise<number> => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  return gcPauses.reduce((sum, p) => p.start >= from && p.start < to ? sum + p.ms : sum, 0);
};

const rt = await init({ workers });
const trivial = await rt.module<typeof import("../workloads/modules/trivial-task.js")>(new URL("../workloads/modules/trivial-task.ts", import.meta.url));
const probes = await rt.module<typeof import("../workloads/modules/thread-cpu-probe.js")>(new URL("../workloads/modules/thread-cpu-probe.ts", import.meta.url));
// One probe per worker: actors go to the worker hosting the fewest, so n probes land on n different threads.
const probe = Array.from({ length: workers }, () => probes.ThreadCpuProbe.remote());
const workerCpu = async (): Promise<Map<number, number>> => {
  const out = await rt.get(probe.map((p) => p.cpu.remote()));
  return new Map(out.map((o) => [o.worker, o.seconds]));
};
const processCpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

const runs: Array<Record<string, number>> = [];
for (let round = 0; round <= rounds; round++) { // round 0 warms up
  const w0 = await workerCpu();
  const d0 = threadCpuSeconds(), p0 = processCpu(), t0 = performance.now();
  const refs: ObjectRef<number>[] = new Array(n);
  for (let i = 0; i < n; i++) refs[i] = trivial.inc.remote(i);
  const submitted = performance.now();
  const out = await rt.get(refs);
  const t1 = performance.now(), wall = (t1 - t0) / 1e3;
  const d1 = threadCpuSeconds(), p1 = processCpu();
  const gcS = await gcMsBetween(t0, t1) / 1e3;
  const w1 = await workerCpu();
  if (out[n - 1] !== n) throw new Error(`wrong answer: ${out[n - 1]}`);
  if (w1.size !== workers) throw new Error(`the probes landed on ${w1.size} of ${workers} workers`);
  let workerS = 0;
  for (const [w, s] of w1) workerS += s - (w0.get(w) ?? s);
  const driverS = d1 - d0, processS = p1 - p0;
  const row = {
    tasksPerSec: n / wall, wallS: wall, submitS: (submitted - t0) / 1e3,
    driverUsPerTask: (driverS / n) * 1e6, workerUsPerTask: (workerS / n) * 1e6,
    otherUsPerTask: (Math.max(0, processS - driverS - workerS) / n) * 1e6,
    // GC pauses of the main thread (wall time; on a busy machine a pause also waits for its helper threads).
    driverGcShare: driverS > 0 ? gcS / driverS : 0,
  };
  if (round > 0) runs.push(row);
  console.log(`${round === 0 ? "warm-up" : `round ${round}`}: ${Math.round(row.tasksPerSec).toLocaleString("en-US")} tasks/s; per task: driver ${row.driverUsPerTask.toFixed(2)} µs ` +
    `(GC ${(row.driverGcShare * 100).toFixed(0)}%), workers ${row.workerUsPerTask.toFixed(2)} µs, other threads ${row.otherUsPerTask.toFixed(2)} µs`);
}
await rt.shutdown();
gcObserver.disconnect();

const median = (k: string): number => { const xs = runs.map((r) => r[k]!).sort((a, b) => a - b); return xs[Math.floor(xs.length / 2)]!; };
const summary = Object.fromEntries(Object.keys(runs[0]!).map((k) => [k, median(k)]));
console.log(`median of ${rounds}: ${JSON.stringify(summary)}`);
const dir = fileURLToPath(new URL("../results/partial/", import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}per-task-cpu.json`, JSON.stringify({ date: new Date().toISOString(), node: process.version, tasks: n, workers, runs, median: summary }, null, 2));
