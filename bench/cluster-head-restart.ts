// A head restart over Redis (issue 18): how long the cluster is without a head, how soon work goes on after
// it, and what one restart costs a running job. A cluster of real processes (Cluster with redis: true, the
// head with no workers, two nodes of one worker each) and this process as the driver. Per round:
//   restart   SIGKILL the head, start it again (cluster.restartHead()): kill → the new head serves;
//             a task submitted right after the kill (the head is down: tasks need none) — its round trip;
//             from the new head serving to the first task submitted then finishing, and to rt.nodes()
//             answering (the driver has reconnected and re-registered)
//   job       N tasks of `nap(ms)` (timers) at once, alone and with one head restart halfway, round-robin:
//             the ratio of the medians is the job's slowdown across a restart
// Needs the built package (npm run build) and redis-server on PATH. Usage:
//   node --import tsx/esm bench/cluster-head-restart.ts [--quick] [--rounds N] [--tasks N] [--task-ms MS]
import { performance } from "node:perf_hooks";
import { init, type ModuleWrappers, type Runtime } from "loom-dag";
import { Cluster, redisServerPath, REDIS_SERVER_MISSING } from "loom-dag/testing";
import { statsOf, type Stats } from "./lib/measure.js";
import { systemInfo } from "./lib/system.js";
import type * as Nap from "./workloads/modules/nap-task.js";

const TASKS = new URL("./workloads/modules/nap-task.ts", import.meta.url);
const quick = process.argv.includes("--quick");
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROUNDS = arg("--rounds", quick ? 2 : 5);
const N = arg("--tasks", quick ? 100 : 200);
const TASK_MS = arg("--task-ms", 20);
const NODE_TIMEOUT_MS = 2_000;

if (!redisServerPath()) {
  console.error(REDIS_SERVER_MISSING);
  process.exit(1);
}

async function job(m: ModuleWrappers<typeof Nap>, rt: Runtime, restart?: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  const refs = Array.from({ length: N }, (_, i) => m.nap.remote(TASK_MS, i));
  // Halfway through the ideal time (N tasks over 2 workers), the head is killed and started again.
  const restarted = restart ? new Promise((r) => setTimeout(r, (N * TASK_MS) / 2 / 2)).then(restart) : Promise.resolve();
  const values = await rt.get(refs);
  const seconds = (performance.now() - t0) / 1000;
  await restarted;
  if (values.length !== N || values[N - 1] !== N - 1) throw new Error(`wrong answer: ${values.length} values, last ${values[N - 1]}`);
  return seconds;
}

const ms = (s: Stats) => `${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;

const info = systemInfo();
console.log(`node ${info.node}, ${info.cores} cores (${info.cpu}), build ${info.build}, ${info.engine}, ${info.date}`);
console.log(`rounds: ${ROUNDS}; job: ${N} × nap(${TASK_MS} ms) on 2 nodes × 1 worker; nodeTimeoutMs ${NODE_TIMEOUT_MS}\n`);

const cluster = await Cluster.start({ redis: true, nodeTimeoutMs: NODE_TIMEOUT_MS, head: { workers: 0 }, nodes: [{ workers: 1 }, { workers: 1 }] });
const rt = await init({ address: cluster.address });
const samples = { killToServing: [] as number[], taskWhileDown: [] as number[], servingToTask: [] as number[], servingToNodes: [] as number[], alone: [] as number[], withRestart: [] as number[] };
try {
  const m = await rt.module<typeof Nap>(TASKS);
  await rt.get(Array.from({ length: 50 }, (_, i) => m.inc.remote(i))); // warm: modules loaded on both nodes
  await job(m, rt);
  for (let r = 0; r < ROUNDS; r++) {
    // restart
    const t0 = performance.now();
    const restarting = cluster.restartHead();
    const down = performance.now();
    await rt.get(m.inc.remote(r));
    samples.taskWhileDown.push(performance.now() - down);
    await restarting;
    const serving = performance.now();
    samples.killToServing.push(serving - t0);
    const first = rt.get(m.inc.remote(r)).then(() => samples.servingToTask.push(performance.now() - serving));
    await rt.nodes();
    samples.servingToNodes.push(performance.now() - serving);
    await first;
    // job, alone and across a restart (alternating which goes first)
    const order = r % 2 === 0 ? ["alone", "withRestart"] as const : ["withRestart", "alone"] as const;
    for (const variant of order) {
      const seconds = await job(m, rt, variant === "withRestart" ? () => cluster.restartHead() : undefined);
      samples[variant].push(seconds);
      await rt.nodes(); // the driver is back before the next sample
    }
    console.log(`  round ${r + 1}: kill → serving ${samples.killToServing.at(-1)!.toFixed(0)} ms, task while down ${samples.taskWhileDown.at(-1)!.toFixed(1)} ms, ` +
      `serving → first task ${samples.servingToTask.at(-1)!.toFixed(0)} ms, → rt.nodes() ${samples.servingToNodes.at(-1)!.toFixed(0)} ms; ` +
      `job alone ${samples.alone.at(-1)!.toFixed(3)} s, with a restart ${samples.withRestart.at(-1)!.toFixed(3)} s`);
  }
  const dead = (await rt.nodes()).filter((n) => n.state === "dead");
  if (dead.length) throw new Error(`nodes declared dead across the restarts: ${dead.map((n) => n.nodeId).join(", ")}`);
} finally {
  await rt.shutdown();
  await cluster.shutdown();
}

const alone = statsOf(samples.alone);
const withRestart = statsOf(samples.withRestart);
console.log(`
| measure | median ms (min–max) |
|---|---|
| kill → the new head serves (restartHead) | ${ms(statsOf(samples.killToServing))} |
| a task submitted while the head is down: round trip | ${ms(statsOf(samples.taskWhileDown))} |
| the new head serves → the first task submitted then has finished | ${ms(statsOf(samples.servingToTask))} |
| the new head serves → rt.nodes() answers (the driver re-registered) | ${ms(statsOf(samples.servingToNodes))} |

| job: ${N} × nap(${TASK_MS} ms), 2 workers | wall s, median (min–max) | vs alone |
|---|---|---|
| alone | ${alone.median.toFixed(3)} (${alone.min.toFixed(3)}–${alone.max.toFixed(3)}) | 1.00× |
| one head restart halfway | ${withRestart.median.toFixed(3)} (${withRestart.min.toFixed(3)}–${withRestart.max.toFixed(3)}) | ${(withRestart.median / alone.median).toFixed(2)}× |`);
