// loom/testing's Cluster: real head and node processes on 127.0.0.1, as the head sees them; nodes added and
// removed (killed: declared dead within about nodeTimeoutMs; drained: gone at once); nothing left behind by
// shutdown(), nor by a test process that dies without calling it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { Cluster } from "loom-dag/testing";
import { fetchNodes } from "./head-client.js";
import type { NodeInfo } from "./messages.js";

const root = path.dirname(createRequire(import.meta.url).resolve("loom-dag/package.json"));

function gone(pid: number): boolean {
  try { process.kill(pid, 0); return false; } catch (e) { return (e as NodeJS.ErrnoException).code === "ESRCH"; }
}

async function until<T>(what: string, within: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + within;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${within} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("Cluster: start, addNode, removeNode (killed, then drained), shutdown", { timeout: 120_000 }, async () => {
  const tokenBefore = process.env.LOOM_TOKEN;
  const nodeTimeoutMs = 1_000;
  const cluster = await Cluster.start({ head: { workers: 1 }, nodes: [{ workers: 1, resources: { nodeA: 1 } }], nodeTimeoutMs });
  const pids = [cluster.head.pid, ...cluster.nodes.map((n) => n.pid)];
  try {
    assert.match(cluster.address, /^127\.0\.0\.1:\d+$/);
    assert.equal(process.env.LOOM_TOKEN, tokenBefore ?? cluster.token, "init() finds the cluster's token");
    assert.equal(fs.readFileSync(path.join(cluster.home, "address"), "utf8").trim(), cluster.address);
    const table = async () => new Map((await fetchNodes({ address: cluster.address, token: cluster.token })).map((n) => [n.nodeId, n] as [string, NodeInfo]));
    let nodes = await table();
    assert.equal(nodes.size, 2);
    assert.equal(nodes.get(cluster.head.nodeId)?.isHead, true);
    assert.deepEqual(nodes.get(cluster.nodes[0]!.nodeId)?.resources, { cpu: 1, nodeA: 1 });
    assert.equal(nodes.get(cluster.nodes[0]!.nodeId)?.address, cluster.nodes[0]!.address);

    const b = await cluster.addNode({ workers: 1, resources: { nodeB: 1 } });
    pids.push(b.pid);
    nodes = await table();
    assert.equal(nodes.get(b.nodeId)?.state, "alive", "addNode resolves once the head has it");
    assert.equal(cluster.nodes.length, 2);

    // Killed, as a machine lost: the head notices only by its silence.
    const killedAt = Date.now();
    await cluster.removeNode(b, { graceful: false });
    assert.ok(gone(b.pid));
    const deadAfter = await until("the killed node declared dead", nodeTimeoutMs * 5, async () => ((await table()).get(b.nodeId)?.state === "dead" ? Date.now() - killedAt : undefined));
    assert.ok(deadAfter < nodeTimeoutMs * 2 + 500, `declared dead after ${deadAfter} ms`);
    assert.equal((await table()).get(b.nodeId)?.epoch, 2);

    // Drained: it says it leaves, so the head knows before any timeout.
    const a = cluster.nodes[0]!;
    await cluster.removeNode(a);
    assert.ok(gone(a.pid));
    assert.equal((await table()).get(a.nodeId)?.state, "dead", "a drained node is dead as soon as it is gone");
    assert.deepEqual(cluster.nodes, []);

    await assert.rejects(cluster.restartHead(), /needs Cluster\.start\(\{ redis: true \}\)/, "a head whose tables are in its memory cannot be restarted");
  } finally {
    await cluster.shutdown();
  }
  for (const pid of pids) assert.ok(gone(pid), `process ${pid} is gone`);
  assert.equal(fs.existsSync(cluster.home), false);
  assert.equal(process.env.LOOM_TOKEN, tokenBefore, "LOOM_TOKEN restored");
});

test("Cluster: a test process that dies without shutdown() takes its processes with it", { timeout: 120_000 }, async () => {
  const script = `
    import { Cluster } from "loom-dag/testing";
    const cluster = await Cluster.start({ head: { workers: 1 }, nodes: [{ workers: 1 }] });
    console.log(JSON.stringify({ pids: [cluster.head.pid, ...cluster.nodes.map((n) => n.pid)], home: cluster.home }));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  let pids: number[] = [];
  let home = "";
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (code) => reject(new Error(`the script exited (${String(code)})`)));
    });
    ({ pids, home } = JSON.parse(line) as { pids: number[]; home: string });
    assert.equal(pids.length, 2);
    assert.ok(pids.every((p) => !gone(p)));
    child.kill("SIGKILL");
    await until("every cluster process gone after its parent's death", 15_000, async () => (pids.every(gone) ? true : undefined));
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    for (const p of pids) if (!gone(p)) process.kill(p, "SIGKILL");
    if (home) fs.rmSync(home, { recursive: true, force: true });
  }
});
