// A head over Redis restarted under a running cluster of real processes (SPEC "Testing clusters": redis: true,
// restartHead): the job in flight finishes with the serial answers, work that needs no head goes on while it
// is down, a named actor keeps its state, objects on two nodes stay; the head's own node dies with it and its
// work moves; a node killed while the head was down is declared dead once the head is back (after its grace);
// names stay unique. Skipped, saying how to install it, where redis-server is missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
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

