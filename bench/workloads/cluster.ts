// The cluster (issue 17) on this machine: a head with no workers and two nodes of one worker each, real
// processes on 127.0.0.1, and a driver with no workers. It times (1) a big array put in the driver and read by
// a task on a node (the node pulls it in 4 MiB chunks), against the same bytes sent once over a raw loopback
// TCP connection to another process in this run; (2) a big result made on one node and read by a task on the
// other (node to node), less the same pair on one node; (3) trivial tasks through the nodes, against the same
// tasks on a standalone runtime with two workers.
import { spawn } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { progress, statsOf } from "../lib/measure.js";
import { loadLoom } from "../lib/loom.js";
import { peerRows, wrongAnswer } from "../lib/comparison.js";
import { type BenchResult, type BenchRow, type RunOptions } from "../lib/types.js";
import type * as ClusterTasks from "./modules/cluster-task.js";

const MODULE = new URL("./modules/cluster-task.ts", import.meta.url);
const SINK = fileURLToPath(new URL("./modules/tcp-sink.ts", import.meta.url));
const MiB = 2 ** 20;

/** Seconds to send `bytes` once over loopback TCP to another process and hear it all arrived. */
export async function rawTcpSeconds(bytes: number, reps: number): Promise<number[]> {
  const child = spawn(process.execPath, ["--import", "tsx/esm", SINK], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once("exit", (code) => reject(new Error(`tcp sink exited ${code}`)));
    });
    const socket = net.connect({ host: "127.0.0.1", port });
    await new Promise((resolve) => socket.once("connect", resolve));
    const payload = Buffer.alloc(bytes, 7);
    const out: number[] = [];
    for (let i = 0; i < reps + 1; i++) {
      const header = Buffer.alloc(8);
      header.writeBigUInt64BE(BigInt(bytes));
      const t0 = performance.now();
      const ack = new Promise((resolve) => socket.once("data", resolve));
      socket.write(header);
      socket.write(payload);
      await ack;
      if (i > 0) out.push((performance.now() - t0) / 1000);
    }
    socket.destroy();
    return out;
  } finally {
    child.stdin!.end();
    child.kill();
  }
}

export async function run({ quick }: RunOptions): Promise<BenchResult> {
  const p = { sizesMiB: quick ? [16] : [64, 256], reps: quick ? 2 : 3, tasks: quick ? 2_000 : 20_000 };
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const loom = await loadLoom();
  if (typeof loom === "string") return { name: "cluster", title: "Cluster on one machine", quick, params: p, rows, skipped: loom };
  const { Cluster } = await import("../../props/testing/cluster.js");
  const cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 1, resources: { a: 1 } }, { workers: 1, resources: { b: 1 } }], nodeTimeoutMs: 10_000 });
  let rt: Awaited<ReturnType<typeof loom.init>> | undefined;
  try {
    rt = await loom.init({ address: cluster.address });
    const m = await rt.module<typeof ClusterTasks>(MODULE);
    const onA = m.sum.options({ resources: { a: 1 } }), onB = m.sum.options({ resources: { b: 1 } });
    await rt.get([onA.remote(m.ramp.options({ resources: { a: 1 } }).remote(8)), onB.remote(m.ramp.options({ resources: { b: 1 } }).remote(8))]);
    for (const mib of p.sizesMiB) {
      const n = mib * MiB / 8;
      const expected = ramp(n);
      // (1) driver → node: a fresh put each time (a node keeps copies it pulled).
      const pulls: number[] = [];
      for (let i = 0; i < p.reps; i++) {
        const ref = rt.put(new Float64Array(n).fill(1));
        const t0 = performance.now();
        const s = await rt.get(onA.remote(ref));
        pulls.push((performance.now() - t0) / 1000);
        if (s !== n) throw wrongAnswer(`sum on node: ${s}, expected ${n}`);
      }
      const tcp = await rawTcpSeconds(mib * MiB, p.reps);
      const loomS = statsOf(pulls).median, tcpS = statsOf(tcp).median;
      progress(`cluster: ${mib} MiB driver → node ${loomS.toFixed(3)} s, raw TCP ${tcpS.toFixed(3)} s`);
      rows.push(...peerRows({
        case: `${mib} MiB put → task on a node (GB/s)`, unit: "GB/s", loom: mib * MiB / loomS / 1e9,
        variants: [{ peer: "raw TCP", variant: "one loopback send to another process", value: mib * MiB / tcpS / 1e9 }],
        extra: { loomS, rawTcpS: tcpS },
        note: "includes the task's own sum and the node's copy into its store; raw TCP: one send, bytes discarded",
      }));
      // (2) node → node, less the same on one node.
      const cross: number[] = [], local: number[] = [];
      for (let i = 0; i < p.reps; i++) {
        let t0 = performance.now();
        let s = await rt.get(onB.remote(m.ramp.options({ resources: { a: 1 } }).remote(n)));
        cross.push((performance.now() - t0) / 1000);
        if (s !== expected) throw wrongAnswer(`node → node sum ${s}, expected ${expected}`);
        t0 = performance.now();
        s = await rt.get(onA.remote(m.ramp.options({ resources: { a: 1 } }).remote(n)));
        local.push((performance.now() - t0) / 1000);
        if (s !== expected) throw wrongAnswer(`same-node sum ${s}, expected ${expected}`);
      }
      const moveS = Math.max(1e-6, statsOf(cross).median - statsOf(local).median);
      rows.push(...peerRows({
        case: `${mib} MiB node → node (GB/s)`, unit: "GB/s", loom: mib * MiB / moveS / 1e9,
        variants: [{ peer: "raw TCP", variant: "one loopback send to another process", value: mib * MiB / tcpS / 1e9 }],
        extra: { crossNodeS: statsOf(cross).median, sameNodeS: statsOf(local).median },
        note: "(make on A, read on B) − (make and read on A)",
      }));
    }
    // (3) trivial tasks through two nodes.
    const t0 = performance.now();
    const refs = Array.from({ length: p.tasks }, (_, i) => m.inc.remote(i));
    const got = await rt.get(refs);
    const clusterRate = p.tasks / ((performance.now() - t0) / 1000);
    got.forEach((v, i) => {
      if (v !== i + 1) throw wrongAnswer(`trivial tasks over 2 nodes: inc(${i}) gave ${v}`);
    });
    await rt.shutdown();
    rt = undefined;
    await cluster.shutdown();
    const local = await loom.init({ workers: 2 });
    try {
      const lm = await local.module<typeof ClusterTasks>(MODULE);
      await local.get(Array.from({ length: 100 }, (_, i) => lm.inc.remote(i)));
      const t1 = performance.now();
      const localGot = await local.get(Array.from({ length: p.tasks }, (_, i) => lm.inc.remote(i)));
      localGot.forEach((v, i) => {
        if (v !== i + 1) throw wrongAnswer(`trivial tasks standalone: inc(${i}) gave ${v}`);
      });
      const localRate = p.tasks / ((performance.now() - t1) / 1000);
      rows.push({
        case: `${p.tasks.toLocaleString()} trivial tasks over 2 nodes (tasks/s)`, unit: "ops/s", loom: clusterRate,
        vs: "loom", peer: "loom standalone, two workers", peerValue: localRate,
        extra: { standaloneTwoWorkers: localRate }, ratio: clusterRate / localRate, ratioLabel: "loom cluster / loom standalone",
        note: "each task is a request and a reply on a TCP connection (a turn's requests and replies go as one frame); standalone: shared memory",
      });
    } finally {
      await local.shutdown();
    }
  } finally {
    await rt?.shutdown().catch(() => {});
    await cluster.shutdown();
  }
  notes.push("One machine: the nodes, the driver and the raw-TCP peer share its cores; bytes never leave loopback.");
  return { name: "cluster", title: "Cluster on one machine: transfers and task rate", quick, params: p, rows, notes };
}

function ramp(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += i % 1024;
  return s;
}
