// The cluster's benchmarks of issue 17, on this machine, each against its own peer in the same run:
//   rate       trivial tasks/s and 10 ms tasks/s (a timer, so the cores are not what is measured) through 1, 2
//              and 3 node processes of one worker each (a head with none, a driver with none), against the
//              standalone runtime with as many workers
//   recovery   a node holding a task's big result is SIGKILLed: kill → the driver hears `node:died` (goal:
//              nodeTimeoutMs + 1 s), and node:died → the result rebuilt on another node and read here (goal:
//              1.1 × the same task's time on a healthy cluster)
//   transfer   an array made on node A and read by a task on node B, 64 and 256 MiB, round after round (the first
//              lands in fresh memory on B, later ones in a segment B's pool kept), against raw loopback TCP of the
//              same bytes in the same run; B's page faults per pull
//   control    the head with 32 registered nodes beating every nodeTimeoutMs / 5, against the head alone: its
//              CPU (from /proc) and the round trip of a request on a connection that also beats
// Run after `npm run build`, under the heavy-work lock:
//   node --expose-gc --import tsx/esm bench/cluster-scale.ts [--quick] [--only rate,recovery,transfer,control]
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { init, type ModuleWrappers, type Runtime } from "loom-dag";
import { Cluster, type ClusterProcess } from "loom-dag/testing";
import { HeadClient } from "../engine/cluster/head-client.js";
import { statsOf } from "./lib/measure.js";
import { systemInfo } from "./lib/system.js";
import { rawTcpSeconds } from "./workloads/cluster.js";
import type * as Nap from "./workloads/modules/nap-task.js";
import type * as ClusterTasks from "./workloads/modules/cluster-task.js";

const TASKS = new URL("./workloads/modules/nap-task.ts", import.meta.url);
const ARRAYS = new URL("./workloads/modules/cluster-task.ts", import.meta.url);
const CLIENTS = fileURLToPath(new URL("./cluster-heartbeat-clients.ts", import.meta.url));
const quick = process.argv.includes("--quick");
const onlyAt = process.argv.indexOf("--only");
const parts = new Set(onlyAt > 0 ? process.argv[onlyAt + 1]!.split(",") : ["rate", "recovery", "transfer", "control"]);

const info = systemInfo();
console.log(`node ${info.node}, ${info.cores} cores (${info.cpu}), build ${info.build}, ${info.engine}, ${info.date}${quick ? ", quick" : ""}\n`);

/** Minor page faults a process has taken, from /proc. */
function minorFaults(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[7]);
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilAlive(rt: Runtime, nodes: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await rt.nodes()).filter((n) => n.state === "alive" && !n.isDriver && n.workers > 0).length < nodes) {
    if (Date.now() > deadline) throw new Error(`fewer than ${nodes} nodes alive after 30 s`);
    await sleep(50);
  }
}

/** Tasks/s of `n` trivial tasks, and of `naps` 10 ms naps, submitted at once (best of `reps`). */
async function rates(m: ModuleWrappers<typeof Nap>, rt: Runtime, n: number, naps: number, reps: number): Promise<{ trivial: number; nap: number }> {
  let trivial = 0, nap = 0;
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    const got = await rt.get(Array.from({ length: n }, (_, i) => m.inc.remote(i)));
    if (got[n - 1] !== n) throw new Error("trivial tasks: wrong answer");
    trivial = Math.max(trivial, n / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    const slept = await rt.get(Array.from({ length: naps }, (_, i) => m.nap.remote(10, i)));
    if (slept[naps - 1] !== naps - 1) throw new Error("naps: wrong answer");
    nap = Math.max(nap, naps / ((performance.now() - t0) / 1000));
  }
  return { trivial, nap };
}

async function rateBench(): Promise<void> {
  const n = quick ? 2_000 : 10_000, naps = quick ? 100 : 300, reps = quick ? 1 : 3;
  console.log(`## rate: ${n} trivial tasks and ${naps} × nap(10 ms), submitted at once; best of ${reps}\n`);
  console.log("| node processes × 1 worker | cluster trivial/s | standalone trivial/s (same workers) | ratio | cluster 10 ms tasks/s | standalone | ratio | ideal 10 ms tasks/s |");
  console.log("|---|---|---|---|---|---|---|---|");
  const cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 1 }], nodeTimeoutMs: 10_000 });
  const clusterRates: Array<{ trivial: number; nap: number }> = [];
  try {
    const rt = await init({ address: cluster.address });
    try {
      const m = await rt.module<typeof Nap>(TASKS);
      for (let k = 1; k <= 3; k++) {
        if (k > 1) await cluster.addNode({ workers: 1 });
        await untilAlive(rt, k);
        await rt.get(Array.from({ length: 200 }, (_, i) => m.inc.remote(i))); // the module loaded on every node
        clusterRates.push(await rates(m, rt, n, naps, reps));
      }
    } finally {
      await rt.shutdown();
    }
  } finally {
    await cluster.shutdown();
  }
  for (let k = 1; k <= 3; k++) {
    const local = await init({ workers: k });
    let standalone: { trivial: number; nap: number };
    try {
      const m = await local.module<typeof Nap>(TASKS);
      await local.get(Array.from({ length: 200 }, (_, i) => m.inc.remote(i)));
      standalone = await rates(m, local, n, naps, reps);
    } finally {
      await local.shutdown();
    }
    const c = clusterRates[k - 1]!;
    console.log(`| ${k} | ${c.trivial.toFixed(0)} | ${standalone.trivial.toFixed(0)} | ${(c.trivial / standalone.trivial).toFixed(2)}× | ${c.nap.toFixed(0)} | ${standalone.nap.toFixed(0)} | ${(c.nap / standalone.nap).toFixed(2)}× | ${(k * 100).toFixed(0)} |`);
  }
  console.log("");
}

async function recoveryBench(): Promise<void> {
  const nodeTimeoutMs = 2_000, taskMs = 500, n = 1 << 20, rounds = quick ? 2 : 5; // 8 MiB results
  console.log(`## recovery: a node holding an 8 MiB result of a ${taskMs} ms task is SIGKILLed; nodeTimeoutMs ${nodeTimeoutMs}; ${rounds} rounds\n`);
  const cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 1, resources: { r: 1 } }, { workers: 1, resources: { r: 1 } }], nodeTimeoutMs });
  const healthy: number[] = [], detect: number[] = [], rebuild: number[] = [], killToValue: number[] = [];
  try {
    const rt = await init({ address: cluster.address });
    try {
      const m = await rt.module<typeof Nap>(TASKS);
      const ramp = m.slowRamp.options({ numReturns: 2, resources: { r: 1 }, maxRetries: 3 });
      await untilAlive(rt, 2);
      for (let r = 0; r < rounds; r++) {
        // The lineage's time on a healthy cluster: submit → the 8 MiB value read here.
        let t0 = performance.now();
        const [, fresh] = ramp.remote(n, taskMs);
        if ((await rt.get(fresh)).length !== n) throw new Error("wrong length");
        healthy.push(performance.now() - t0);
        // Again, left on its node; then that node is killed.
        // Its pid comes back with the task's reply, so the task is done once it is read; the 8 MiB stays on its node
        // (nothing here asks for it: a wait would pull it).
        const [pidRef, big] = ramp.remote(n, taskMs);
        const pid = await rt.get(pidRef);
        const victim = cluster.nodes.find((p: ClusterProcess) => p.pid === pid);
        if (!victim) throw new Error(`no node of this cluster has pid ${pid}`);
        const died = new Promise<number>((resolve) => rt.events.once("node:died", () => resolve(performance.now())));
        const tKill = performance.now();
        await cluster.removeNode(victim, { graceful: false });
        const tDied = await died;
        detect.push(tDied - tKill);
        const value = await rt.get(big);
        const tValue = performance.now();
        if (value.length !== n || value[n - 1] !== (n - 1) % 1024) throw new Error("rebuilt value is wrong");
        rebuild.push(tValue - tDied);
        killToValue.push(tValue - tKill);
        // A fresh node takes the dead one's place for the next round.
        await cluster.addNode({ workers: 1, resources: { r: 1 } });
        await untilAlive(rt, 2);
        await rt.get(Array.from({ length: 20 }, (_, i) => m.inc.remote(i)));
      }
    } finally {
      await rt.shutdown();
    }
  } finally {
    await cluster.shutdown();
  }
  const ms = (xs: number[]) => { const s = statsOf(xs); return `${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`; };
  console.log("| measure | median ms (min–max) | goal |");
  console.log("|---|---|---|");
  console.log(`| the task on a healthy cluster: submit → 8 MiB value read here | ${ms(healthy)} | |`);
  console.log(`| SIGKILL → node:died at the driver | ${ms(detect)} | ≤ ${nodeTimeoutMs + 1000} (nodeTimeoutMs + 1 s) |`);
  console.log(`| node:died → the lost result rebuilt and read here | ${ms(rebuild)} | ≤ ${(1.1 * statsOf(healthy).median).toFixed(0)} (1.1 × the healthy task) |`);
  console.log(`| SIGKILL → value read here | ${ms(killToValue)} | |`);
  console.log("");
}

/**
 * Node → node: each round makes an array on A and sums it there (the sum's own time), then times a task on B that
 * pulls it and sums it; the row is the difference, the pull. Between rounds the driver drops
 * its ref and collects, and waits a moment for B to free its copy: the next pull may then land in that memory.
 */
async function transferBench(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("transfer: run with node --expose-gc (the driver drops each round's array before the next)");
  const sizes = quick ? [64] : [64, 256], rounds = quick ? 3 : 5;
  console.log(`## transfer: an array made on node A, read by a task on node B; ${rounds} rounds per size\n`);
  console.log("| size | round | pull ms (A → B) | GB/s | B's page faults | raw TCP GB/s (median, same run) | pull / raw TCP |");
  console.log("|---|---|---|---|---|---|---|");
  const cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 1, resources: { a: 1 } }, { workers: 1, resources: { b: 1 } }], nodeTimeoutMs: 10_000 });
  try {
    const rt = await init({ address: cluster.address });
    try {
      const m = await rt.module<typeof ClusterTasks>(ARRAYS);
      const onA = m.sum.options({ resources: { a: 1 } }), onB = m.sum.options({ resources: { b: 1 } });
      const make = m.ramp.options({ resources: { a: 1 } });
      await rt.get([onA.remote(make.remote(8)), onB.remote(m.ramp.options({ resources: { b: 1 } }).remote(8))]);
      const bPid = await rt.get(m.pid.options({ resources: { b: 1 } }).remote());
      for (const mib of sizes) {
        const n = mib * 2 ** 20 / 8;
        const tcp = statsOf(await rawTcpSeconds(mib * 2 ** 20, 3)).median;
        for (let r = 0; r < rounds; r++) {
          await (async () => {
            const x = make.remote(n);
            // Made on A and summed there, then summed there again: the sum of a copy in place, the baseline.
            await rt.get(onA.remote(x));
            let t0 = performance.now();
            const s0 = await rt.get(onA.remote(x));
            const sumHere = performance.now() - t0;
            const f0 = minorFaults(bPid);
            t0 = performance.now();
            const s1 = await rt.get(onB.remote(x));
            const pull = Math.max(1e-3, performance.now() - t0 - sumHere);
            const f1 = minorFaults(bPid);
            if (s0 !== s1) throw new Error(`transfer: sums differ (${s0}, ${s1})`);
            console.log(`| ${mib} MiB | ${r + 1} | ${pull.toFixed(0)} | ${(mib * 2 ** 20 / pull / 1e6).toFixed(2)} | ${f1 - f0} | ${(mib * 2 ** 20 / tcp / 1e9).toFixed(2)} | ${(tcp * 1000 / pull).toFixed(2)}× |`);
          })();
          gc();
          await sleep(500);
        }
      }
    } finally {
      await rt.shutdown();
    }
  } finally {
    await cluster.shutdown();
  }
  console.log("");
}

async function controlBench(): Promise<void> {
  const nodes = 32, perProcess = 8, windowMs = quick ? 5_000 : 15_000;
  const timeouts = [10_000, 1_000];
  console.log(`## control plane: ${nodes} registered nodes of no workers (${nodes / perProcess} processes of ${perProcess} real HeadClients), against the head alone; ${windowMs / 1000} s windows\n`);
  console.log("| nodeTimeoutMs (beat every /5) | nodes | heartbeats/s | head CPU % | head CPU µs per beat (over the idle head) | request round trip ms, median / p99 |");
  console.log("|---|---|---|---|---|---|");
  for (const nodeTimeoutMs of timeouts) {
    const cluster = await Cluster.start({ head: { workers: 0 }, nodes: [], nodeTimeoutMs });
    const children: ChildProcess[] = [];
    try {
      const probe = await HeadClient.connect({ address: cluster.address, token: process.env.LOOM_TOKEN, info: { address: "127.0.0.1:1", workers: 0, resources: {}, isDriver: true, pid: process.pid } });
      let idleCpu = 0;
      for (const count of [0, nodes]) {
        while (children.length * perProcess < count) {
          const child = spawn(process.execPath, ["--import", "tsx/esm", CLIENTS, "--count", String(perProcess), "--head", cluster.address], { stdio: ["pipe", "pipe", "inherit"] });
          children.push(child);
          await new Promise<void>((resolve, reject) => {
            child.stdout!.once("data", () => resolve());
            child.once("exit", (code) => reject(new Error(`heartbeat clients exited ${code}`)));
          });
        }
        await sleep(1_000);
        const c0 = cpuSeconds(cluster.head.pid), t0 = performance.now();
        const rtts: number[] = [];
        while (performance.now() - t0 < windowMs) {
          const s = performance.now();
          await probe.nodes();
          rtts.push(performance.now() - s);
          await sleep(100); // ten requests a second: the probe itself costs the head little
        }
        const cpu = (cpuSeconds(cluster.head.pid) - c0) / ((performance.now() - t0) / 1000);
        if (count === 0) idleCpu = cpu;
        const beats = (count + 1) / (nodeTimeoutMs / 5 / 1000);
        const sorted = [...rtts].sort((a, b) => a - b);
        const perBeat = count === 0 ? "" : ((cpu - idleCpu) / (count / (nodeTimeoutMs / 5 / 1000)) * 1e6).toFixed(0);
        console.log(`| ${nodeTimeoutMs} | ${count} | ${beats.toFixed(1)} | ${(cpu * 100).toFixed(2)} | ${perBeat} | ${statsOf(rtts).median.toFixed(2)} / ${sorted[Math.floor(sorted.length * 0.99)]!.toFixed(2)} |`);
      }
      probe.close();
    } finally {
      for (const c of children) { c.stdin!.end(); c.kill(); }
      await cluster.shutdown();
    }
  }
  console.log("");
}

if (parts.has("rate")) await rateBench();
if (parts.has("recovery")) await recoveryBench();
if (parts.has("transfer")) await transferBench();
if (parts.has("control")) await controlBench();
process.exit(0);
