// A head over Redis restarted under a running cluster of real processes (SPEC "Testing clusters": redis: true,
// restartHead): the job in flight finishes with the serial answers, work that needs no head goes on while it
// is down, a named actor keeps its state, objects on two nodes stay; the head's own node dies with it and its
// work moves; a node killed while the head was down is declared dead once the head is back (after its grace);
// names stay unique; Redis itself restarted (AOF) under the cluster leaves it working; nothing is left behind.
// Skipped, saying how to install it, where redis-server is missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { init, type ModuleWrappers, type Runtime } from "loom-dag";
import { Cluster, redisServerPath, REDIS_SERVER_MISSING } from "loom-dag/testing";
import { HeadClient } from "./head-client.js";
import type * as Tasks from "./test-fixtures/cluster-tasks.js";

const TASKS = new URL("./test-fixtures/cluster-tasks.ts", import.meta.url);
const skip = redisServerPath() === undefined ? REDIS_SERVER_MISSING : false;
const TIMEOUT = 2_000;

async function until<T>(what: string, within: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + within;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${within} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function gone(pid: number): boolean {
  try { process.kill(pid, 0); return false; } catch (e) { return (e as NodeJS.ErrnoException).code === "ESRCH"; }
}

async function withCluster(options: Parameters<typeof Cluster.start>[0], body: (cluster: Cluster, rt: Runtime, m: ModuleWrappers<typeof Tasks>) => Promise<void>): Promise<void> {
  const cluster = await Cluster.start({ redis: true, nodeTimeoutMs: TIMEOUT, log: process.env.LOOM_TEST_LOG === "1", ...options });
  let rt: Runtime | undefined;
  try {
    rt = await init({ address: cluster.address });
    const m = await rt.module<typeof Tasks>(TASKS);
    await body(cluster, rt, m);
  } finally {
    await rt?.shutdown();
    await cluster.shutdown();
  }
}

test("the head restarts during a job: tasks in flight finish, work goes on while it is down, a named actor keeps its state, objects on two nodes stay", { skip, timeout: 120_000 }, async () => {
  await withCluster({ head: { workers: 0 }, nodes: [{ workers: 2, resources: { nodeA: 4 } }, { workers: 2, resources: { nodeB: 4 } }] }, async (cluster, rt, m) => {
    // cluster.nodes is in the order they became ready: tell A from B by their resources.
    const table = await rt.nodes();
    const offering = (r: string) => cluster.nodes.find((n) => table.find((t) => t.nodeId === n.nodeId)?.resources[r] !== undefined)!;
    const [a, b] = [offering("nodeA"), offering("nodeB")];
    const died: string[] = [];
    rt.events.on("node:died", (e: { nodeId: string }) => died.push(e.nodeId));
    // A named actor (on node A: actors live on nodes, not on the head) and an object held by each node.
    const acc = m.Counter.options({ name: "acc", resources: { nodeA: 1 } }).remote();
    let expected = 0;
    for (let i = 1; i <= 5; i++) { expected += i; assert.equal((await rt.get(acc.add.remote(i))).total, expected); }
    const onA = m.bigWhere.options({ resources: { nodeA: 1 } }).remote(2 ** 18);
    const onB = m.bigWhere.options({ resources: { nodeB: 1 } }).remote(2 ** 18);
    await rt.wait([onA, onB], { numReturns: 2 });

    // A job in flight: slow tasks on both nodes and actor calls, when the head goes down.
    const inFlight = Array.from({ length: 8 }, (_, i) => m.slowly.remote(600, i));
    await new Promise((r) => setTimeout(r, 100));
    const oldHead = cluster.head.pid;
    // Down longer than nodeTimeoutMs: the new head must not hold the silence against the nodes.
    let headBack = false;
    const restarting = cluster.restartHead({ downForMs: TIMEOUT + 1_000 }).finally(() => { headBack = true; });
    restarting.catch(() => {});
    await until("the head process gone", 5_000, () => (gone(oldHead) ? true : undefined));

    // While it is down: tasks on live nodes, actor calls, objects (pulls node to node) all go on; rt.nodes() waits.
    const downSince = Date.now();
    const listed = rt.nodes().then((nodes) => ({ nodes, at: Date.now() }));
    listed.catch(() => {}); // awaited below; a failure before that must not be an unhandled rejection
    const duringTasks = await rt.get(Array.from({ length: 6 }, (_, i) => m.add.remote(i, 100)));
    assert.deepEqual(duringTasks, [100, 101, 102, 103, 104, 105]);
    for (let i = 6; i <= 8; i++) { expected += i; assert.equal((await rt.get(acc.add.remote(i))).total, expected); }
    const crossed = await rt.get(m.sumData.options({ resources: { nodeB: 1 } }).remote(onA)); // A's object, read on B
    assert.equal(crossed.pid, b.pid);
    assert.equal(crossed.sum, 2 ** 18 * (2 ** 18 - 1));
    assert.equal(headBack, false, "all of that ran while the head was down");

    const newHead = await restarting;
    assert.notEqual(newHead.pid, oldHead);
    const { nodes, at } = await listed;
    assert.ok(at - downSince >= TIMEOUT, `rt.nodes() waited for the head (${at - downSince} ms)`);
    const finished = await rt.get(inFlight);
    assert.deepEqual(finished.map((r) => r.value), [0, 1, 2, 3, 4, 5, 6, 7], "the tasks in flight finished");
    assert.ok(finished.every((r) => r.pid === a.pid || r.pid === b.pid));

    // After: the same nodes, alive (nobody was buried); new tasks and calls run.
    const after = await rt.nodes();
    for (const node of [a, b]) assert.equal(after.find((n) => n.nodeId === node.nodeId)?.state, "alive", `node ${node.nodeId}`);
    assert.deepEqual(nodes.map((n) => n.nodeId).sort(), after.map((n) => n.nodeId).sort());
    assert.deepEqual(await rt.get(Array.from({ length: 10 }, (_, i) => m.add.remote(i, i * i))), Array.from({ length: 10 }, (_, i) => i + i * i));
    expected += 9;
    assert.deepEqual(await rt.get(acc.add.remote(9)), { total: expected, pid: a.pid }, "the named actor kept its state on its node");
    const sums = await rt.get([m.sumData.remote(onA), m.sumData.remote(onB)]);
    assert.deepEqual(sums.map((s) => s.sum), [2 ** 18 * (2 ** 18 - 1), 2 ** 18 * (2 ** 18 - 1)], "no object was lost");
    // Wait out a full period after the restart: still nobody declared dead.
    await new Promise((r) => setTimeout(r, TIMEOUT + 500));
    assert.deepEqual(died, []);
    assert.ok((await rt.nodes()).every((n) => n.state === "alive"));
  });
});


test("a head with workers of its own: its node dies with it, and its work moves to the new head's node", { skip, timeout: 120_000 }, async () => {
  await withCluster({ head: { workers: 1, resources: { onHead: 2 } }, nodes: [{ workers: 1 }] }, async (cluster, rt, m) => {
    const oldHead = cluster.head;
    const died = new Promise<{ nodeId: string; reason: string }>((resolve) => rt.events.on("node:died", (e: { nodeId: string; reason: string }) => { if (e.nodeId === oldHead.nodeId) resolve(e); }));
    // An actor and a task on the head's node, both allowed another try.
    const counter = m.Counter.options({ resources: { onHead: 1 }, maxRestarts: 1 }).remote();
    assert.deepEqual(await rt.get(counter.add.remote(5)), { total: 5, pid: oldHead.pid });
    const running = m.slowly.options({ resources: { onHead: 1 }, maxRetries: 1 }).remote(1_500, "moved");
    await new Promise((r) => setTimeout(r, 300));
    const newHead = await cluster.restartHead();
    assert.notEqual(newHead.nodeId, oldHead.nodeId, "the new head's node is a new node");
    // The task retried on the new head's node; once the old one is declared dead (after its grace), the actor
    // restarts there too, replaying its calls. (A call sent before that finds the old node gone and fails:
    // it has no maxTaskRetries.)
    assert.deepEqual(await rt.get(running), { value: "moved", pid: newHead.pid });
    assert.equal((await died).nodeId, oldHead.nodeId);
    assert.deepEqual(await rt.get(counter.add.remote(1)), { total: 6, pid: newHead.pid });
    const nodes = await rt.nodes();
    assert.equal(nodes.find((n) => n.nodeId === oldHead.nodeId)?.state, "dead");
    assert.deepEqual(nodes.filter((n) => n.isHead && n.state === "alive").map((n) => n.nodeId), [newHead.nodeId]);
    assert.equal(nodes.find((n) => n.nodeId === cluster.nodes[0]!.nodeId)?.state, "alive");
  });
});

test("a node killed while the head is down is declared dead once the head is back and its grace has run out", { skip, timeout: 120_000 }, async () => {
  await withCluster({ head: { workers: 0 }, nodes: [{ workers: 1 }, { workers: 1 }] }, async (cluster, rt) => {
    const [kept, doomed] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const deaths: Array<{ nodeId: string; at: number }> = [];
    rt.events.on("node:died", (e: { nodeId: string }) => deaths.push({ nodeId: e.nodeId, at: Date.now() }));
    const oldHead = cluster.head.pid;
    const restarting = cluster.restartHead({ downForMs: 1_000 });
    restarting.catch(() => {});
    await until("the head process gone", 5_000, () => (gone(oldHead) ? true : undefined));
    await cluster.removeNode(doomed, { graceful: false });
    await restarting;
    const backAt = Date.now();
    // Its row says alive (nobody saw it die), so it gets the same grace as every node...
    assert.equal((await rt.nodes()).find((n) => n.nodeId === doomed.nodeId)?.state, "alive");
    const death = await until("the killed node declared dead", TIMEOUT * 4, () => deaths.find((d) => d.nodeId === doomed.nodeId));
    const after = death.at - backAt;
    // ...then it is declared dead: nodeTimeoutMs from the head's start, at most a tenth more for the check.
    assert.ok(after >= TIMEOUT * 0.75 && after < TIMEOUT * 2, `declared dead ${after} ms after the head came back`);
    const nodes = await rt.nodes();
    assert.equal(nodes.find((n) => n.nodeId === doomed.nodeId)?.state, "dead");
    assert.equal(nodes.find((n) => n.nodeId === kept.nodeId)?.state, "alive");
    assert.deepEqual(deaths.map((d) => d.nodeId), [doomed.nodeId], "only the killed node died");
  });
});

test("names claimed through the head stay unique across its restart", { skip, timeout: 120_000 }, async () => {
  const cluster = await Cluster.start({ redis: true, nodeTimeoutMs: TIMEOUT, head: { workers: 0 } });
  const clients: HeadClient[] = [];
  try {
    const join = async () => {
      const c = await HeadClient.connect({ address: cluster.address, token: cluster.token, info: { address: "127.0.0.1:1", workers: 0, resources: {}, isDriver: true, pid: process.pid } });
      clients.push(c);
      return c;
    };
    const [x, y] = [await join(), await join()];
    assert.deepEqual(await x.claimName("alpha", { by: "x" }), { ok: true });
    assert.deepEqual(await y.claimName("beta", { by: "y" }), { ok: true });
    await cluster.restartHead({ downForMs: 500 });
    // The same holders after the restart: the others are refused with who holds it.
    assert.deepEqual(await y.claimName("alpha", { by: "y" }), { ok: false, holder: { name: "alpha", owner: x.nodeId, value: { by: "x" } } });
    assert.deepEqual(await x.claimName("beta", { by: "x" }), { ok: false, holder: { name: "beta", owner: y.nodeId, value: { by: "y" } } });
    assert.deepEqual(await x.lookupName("alpha"), { name: "alpha", owner: x.nodeId, value: { by: "x" } });
    // Claims racing each other on the new head: one wins each name.
    const z = await join();
    // A process that joins the restarted head gets the table of names (read back from Redis) with its welcome.
    assert.deepEqual(z.names.get("alpha"), { name: "alpha", owner: x.nodeId, value: { by: "x" } });
    assert.deepEqual(z.names.get("beta"), { name: "beta", owner: y.nodeId, value: { by: "y" } });
    const names = Array.from({ length: 10 }, (_, i) => `raced-${i}`);
    const results = await Promise.all(names.flatMap((n) => [x, y, z].map((c) => c.claimName(n, c.nodeId))));
    for (let i = 0; i < names.length; i++) {
      const trio = results.slice(3 * i, 3 * i + 3);
      assert.equal(trio.filter((r) => r.ok).length, 1, `one claim of ${names[i]} won`);
    }
    // A process that dies releases its names, also those it claimed before the restart.
    x.close();
    await until("x's names released", TIMEOUT * 4, async () => ((await y.lookupName("alpha")) === undefined ? true : undefined));
    assert.deepEqual(await y.claimName("alpha", { by: "y" }), { ok: true });
  } finally {
    for (const c of clients) c.close();
    await cluster.shutdown();
  }
});

test("Redis restarted under a live cluster (AOF, after a crash, down longer than nodeTimeoutMs): the cluster keeps working", { skip, timeout: 120_000 }, async () => {
  await withCluster({ head: { workers: 0 }, nodes: [{ workers: 2 }] }, async (cluster, rt, m) => {
    const died: string[] = [];
    rt.events.on("node:died", (e: { nodeId: string }) => died.push(e.nodeId));
    const counter = m.Counter.remote();
    assert.equal((await rt.get(counter.add.remote(1))).total, 1);
    const inFlight = Array.from({ length: 4 }, (_, i) => m.slowly.remote(800, i));
    // A crash (SIGKILL) and a long outage: beats cannot be written meanwhile.
    await cluster.restartRedis({ graceful: false, downForMs: TIMEOUT + 1_000 });
    assert.deepEqual((await rt.get(inFlight)).map((r) => r.value), [0, 1, 2, 3]);
    assert.equal((await rt.get(counter.add.remote(2))).total, 3);
    // The head took its calls up again: it answers, a new node joins, and nobody was declared dead.
    const joined = await cluster.addNode({ workers: 1, resources: { late: 1 } });
    assert.equal(await rt.get(m.whereAmI.options({ resources: { late: 1 } }).remote()), joined.pid);
    await new Promise((r) => setTimeout(r, TIMEOUT + 500));
    assert.deepEqual(died, []);
    const nodes = await rt.nodes();
    assert.ok(nodes.every((n) => n.state === "alive"), JSON.stringify(nodes.map((n) => [n.nodeId, n.state])));
    assert.equal(nodes.length, 3, "two nodes and the driver");
    assert.ok(!gone(cluster.head.pid), "the head did not crash");
    // A graceful restart, then a head restart over the reloaded tables.
    await cluster.restartRedis();
    await cluster.restartHead();
    assert.equal((await rt.get(counter.add.remote(3))).total, 6);
    assert.deepEqual((await rt.nodes()).filter((n) => n.state === "alive").length, 3);
  });
});

test("a test process that dies without shutdown() takes the redis-server with it", { skip, timeout: 60_000 }, async () => {
  const root = path.dirname(createRequire(import.meta.url).resolve("loom-dag/package.json"));
  const script = `
    import { Cluster } from "loom-dag/testing";
    const cluster = await Cluster.start({ redis: true, head: { workers: 0 } });
    console.log(JSON.stringify({ pids: [cluster.head.pid, cluster["redis"].pid], home: cluster.home }));
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
    assert.ok(pids.every((p) => !gone(p)));
    child.kill("SIGKILL");
    await until("the head and redis-server gone after their parent's death", 15_000, () => (pids.every(gone) ? true : undefined));
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    for (const p of pids) if (!gone(p)) process.kill(p, "SIGKILL");
    if (home) fs.rmSync(home, { recursive: true, force: true });
  }
});
