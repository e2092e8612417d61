// The driver on a cluster of real processes (Cluster from loom-dag/testing): tasks and actors placed on other
// nodes, arguments and results moved between them, custom resources pinning work, and a node lost mid-run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, NodeDiedError, TaskError, type Runtime, type ModuleWrappers } from "loom-dag";
import { Cluster } from "loom-dag/testing";
import type * as Tasks from "./test-fixtures/cluster-tasks.js";

const TASKS = new URL("./test-fixtures/cluster-tasks.ts", import.meta.url);

let cluster: Cluster;
let rt: Runtime;
let m: ModuleWrappers<typeof Tasks>;
let pinned: { nodeId: string; pid: number };

before(async () => {
  cluster = await Cluster.start({ head: { workers: 1, resources: { headOnly: 1 } }, nodes: [{ workers: 2, resources: { nodeA: 1 } }], nodeTimeoutMs: 1_000 });
  pinned = cluster.nodes[0]!;
  rt = await init({ address: cluster.address });
  m = await rt.module<typeof Tasks>(TASKS);
});

after(async () => {
  await rt?.shutdown();
  await cluster?.shutdown();
});

test("rt.nodes() lists the head, the node and this driver, all alive", async () => {
  const nodes = await rt.nodes();
  assert.equal(nodes.filter((n) => n.isHead).length, 1);
  assert.equal(nodes.filter((n) => n.isDriver).length, 1);
  assert.ok(nodes.some((n) => n.nodeId === pinned.nodeId && n.resources.nodeA === 1 && n.workers === 2));
  assert.ok(nodes.every((n) => n.state === "alive"));
  const driver = nodes.find((n) => n.isDriver)!;
  assert.equal(driver.workers, 0);
});

test("tasks run on other processes (the driver has no workers) and chain through refs", async () => {
  const pids = new Set(await rt.get(Array.from({ length: 12 }, () => m.whereAmI.remote())));
  assert.ok(!pids.has(process.pid), "no task ran in the driver");
  for (const pid of pids) assert.ok([cluster.head.pid, pinned.pid].includes(pid), `pid ${pid} is a node of the cluster`);
  const a = m.add.remote(1, 2);
  const b = m.add.remote(a, 10);
  assert.equal(await rt.get(m.add.remote(b, a)), 16);
});

test("inline functions travel as source", async () => {
  const square = rt.remote(function square(x: number) { return x * x; });
  assert.deepEqual(await rt.get([1, 2, 3].map((x) => square.remote(x))), [1, 4, 9]);
});

test("a custom resource pins a task to the node that offers it", async () => {
  const pids = await rt.get(Array.from({ length: 4 }, () => m.whereAmI.options({ resources: { nodeA: 1 } }).remote()));
  assert.deepEqual(new Set(pids), new Set([pinned.pid]));
});

test("big arguments and results move between processes intact (pulled in chunks)", async () => {
  const values = new Float64Array(3 * 2 ** 20 / 8 * 4).map((_, i) => i % 1000); // 12 MiB: three chunks
  const ref = rt.put(values);
  const { sum, pid } = await rt.get(m.sumWhere.remote(ref));
  assert.equal(sum, values.reduce((x, y) => x + y, 0));
  assert.notEqual(pid, process.pid);
  const ramp = await rt.get(m.ramp.remote(2 ** 20));
  assert.equal(ramp.length, 2 ** 20);
  assert.equal(ramp[12345], 12345);
  assert.equal(ramp[2 ** 20 - 1], 2 ** 20 - 1);
});

test("a remote task's error reaches the driver as a TaskError of the thrown class", async () => {
  const ref = m.fail.remote("no such thing");
  await assert.rejects(rt.get(ref), (e: Error) => e instanceof TaskError && e instanceof RangeError && /no such thing/.test(e.message));
  // Dependents fail with the same error, without running.
  await assert.rejects(rt.get(m.add.remote(ref, 1)), (e: Error) => e instanceof TaskError && /no such thing/.test(e.message));
});

test("an actor on another node keeps its state, calls in order", async () => {
  const counter = m.Counter.options({ resources: { nodeA: 1 } }).remote();
  const refs = Array.from({ length: 20 }, (_, i) => counter.add.remote(i + 1));
  const results = await rt.get(refs);
  assert.deepEqual(results.map((r) => r.total), Array.from({ length: 20 }, (_, i) => (i + 1) * (i + 2) / 2));
  assert.deepEqual(new Set(results.map((r) => r.pid)), new Set([pinned.pid]));
  rt.kill(counter);
});

test("a node lost mid-task: its tasks run again elsewhere; with no retries left, NodeDiedError; its actor restarts and replays", async () => {
  const extra = await cluster.addNode({ workers: 2, resources: { doomed: 4 } });
  // Wait until the driver has heard of it.
  for (let i = 0; i < 100 && !(await rt.nodes()).some((n) => n.nodeId === extra.nodeId); i++) await new Promise((r) => setTimeout(r, 20));
  const retried = m.slowly.options({ resources: { doomed: 1 }, maxRetries: 1 }).remote(1_500, "kept");
  const noRetry = m.slowly.options({ resources: { doomed: 1 }, maxRetries: 0 }).remote(1_500, "lost");
  const counter = m.Counter.options({ resources: { doomed: 1 }, maxRestarts: 1 }).remote();
  assert.equal((await rt.get(counter.add.remote(5))).total, 5);
  await new Promise((r) => setTimeout(r, 300)); // both tasks are running there
  const died = new Promise<{ nodeId: string }>((resolve) => rt.events.once("node:died", resolve));
  await cluster.removeNode(extra, { graceful: false });
  assert.equal((await died).nodeId, extra.nodeId);
  // No node offers `doomed` any more: the retry waits for one. A new node that offers it takes it.
  await assert.rejects(rt.get(noRetry), (e: Error) => e instanceof NodeDiedError);
  const again = await cluster.addNode({ workers: 1, resources: { doomed: 4 } });
  const kept = await rt.get(retried);
  assert.equal(kept.value, "kept");
  assert.equal(kept.pid, again.pid);
  // The actor restarted on the new node with its state replayed.
  const after = await rt.get(counter.add.remote(1));
  assert.deepEqual(after, { total: 6, pid: again.pid });
  const nodes = await rt.nodes();
  assert.equal(nodes.find((n) => n.nodeId === extra.nodeId)?.state, "dead");
});

test("a big result stays on its node, feeds a task there, and is rebuilt from lineage when its node is lost", async () => {
  const holder = await cluster.addNode({ workers: 1, resources: { keeper: 1 } });
  for (let i = 0; i < 100 && !(await rt.nodes()).some((n) => n.nodeId === holder.nodeId); i++) await new Promise((r) => setTimeout(r, 20));
  const finished = new Promise<void>((resolve) => rt.events.on("task:finished", (e: { name: string }) => { if (e.name === "bigWhere") resolve(); }));
  const big = m.bigWhere.options({ resources: { keeper: 1 } }).remote(2 ** 18); // 2 MiB: held by its node
  await finished;
  // A task that reads it goes to the node holding it (no resource asks for that node).
  const sum = await rt.get(m.sumData.remote(big));
  assert.equal(sum.pid, holder.pid);
  assert.equal(sum.sum, 2 ** 18 * (2 ** 18 - 1));
  const died = new Promise<void>((resolve) => rt.events.once("node:died", () => resolve()));
  await cluster.removeNode(holder, { graceful: false });
  await died;
  const again = await cluster.addNode({ workers: 1, resources: { keeper: 1 } });
  const value = await rt.get(big);
  assert.equal(value.pid, again.pid, "re-executed on the node that joined");
  assert.equal(value.data.length, 2 ** 18);
  assert.equal(value.data[1000], 2000);
});

test("a task a task submits goes to the node that offers its resources, and reads objects its parent's node owns", async () => {
  // The outer task runs on the head's node (the only one offering headOnly), which does not offer nodeA: the
  // inner tasks it submits must travel to the node that does, placed by the head's node itself.
  const result = await rt.get(m.nestedWhere.options({ resources: { headOnly: 1 } }).remote("nodeA"));
  assert.equal(result.outer, cluster.head.pid);
  assert.equal(result.inner, pinned.pid, "the inner task ran on the node offering nodeA");
  assert.equal(result.innerSum, (2 ** 16) * (2 ** 16 - 1) / 2);
});

test("values holding refs move between nodes: refs a remote task returns, and refs inside an argument", async () => {
  const made = await rt.get(m.makeRefs.options({ resources: { nodeA: 1 } }).remote(3));
  assert.deepEqual(await rt.get(made.puts), [0, 10, 20]);
  assert.equal(await rt.get(made.sum), 1);
  // The refs it returned work as arguments again (here they are the driver's copies).
  assert.equal(await rt.get(m.add.remote(made.puts[1]!, made.puts[2]!)), 30);
  const box = rt.put({ refs: [rt.put(1), rt.put(2), m.add.remote(3, 4)] });
  const summed = await rt.get(m.sumRefs.options({ resources: { nodeA: 1 } }).remote(box));
  assert.deepEqual(summed, { sum: 10, pid: pinned.pid });
});

test("cancelling a task running on another node: its ref rejects, and the node aborts it (its resources are free again)", async () => {
  const aborted = m.untilCancelled.options({ resources: { nodeA: 1 } }).remote(30_000);
  await new Promise((r) => setTimeout(r, 300)); // sent, and started or starting there
  const t0 = Date.now();
  rt.cancel(aborted);
  await assert.rejects(rt.get(aborted), (e: Error) => e.name === "TaskCancelledError");
  assert.equal(await rt.get(m.whereAmI.options({ resources: { nodeA: 1 } }).remote()), pinned.pid);
  assert.ok(Date.now() - t0 < 10_000, `the node aborted it well before its 30 s (took ${Date.now() - t0} ms)`);
});

test("cancelling a task queued on another node: its ref rejects, and that node never runs it", async () => {
  // nodeA is 1 on its node: the victim waits there behind the blocker.
  const blocker = m.slowly.options({ resources: { nodeA: 1 } }).remote(1_500, "first");
  const victim = m.untilCancelled.options({ resources: { nodeA: 1 } }).remote(30_000);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  rt.cancel(victim);
  await assert.rejects(rt.get(victim), (e: Error) => e.name === "TaskCancelledError");
  assert.equal((await rt.get(blocker)).value, "first");
  // Had the node run the victim after the blocker, nodeA would be busy for its 30 s.
  assert.equal(await rt.get(m.whereAmI.options({ resources: { nodeA: 1 } }).remote()), pinned.pid);
  assert.ok(Date.now() - t0 < 10_000, `the node never ran the cancelled task (took ${Date.now() - t0} ms)`);
});

test("a named actor on another node is found by getActor, and its name is free again once it is killed", async () => {
  const named = m.Counter.options({ name: "remote-counter", resources: { nodeA: 0.5 } }).remote();
  await rt.get(named.add.remote(2));
  const found = rt.getActor<InstanceType<typeof Tasks.Counter>>("remote-counter");
  assert.deepEqual(await rt.get(found.add.remote(3)), { total: 5, pid: pinned.pid });
  rt.kill(found);
  assert.throws(() => rt.getActor("remote-counter"), /no live actor named "remote-counter"/);
});

test("the head serves the cluster's dashboard: every node in /api/nodes, behind the cluster token", async () => {
  assert.ok(cluster.dashboardUrl, "the head printed its dashboard's address");
  const api = `${cluster.dashboardUrl}/api/nodes`;
  assert.equal((await fetch(api)).status, 401, "no token: refused");
  assert.equal((await fetch(`${api}?token=wrong`)).status, 401, "a wrong token: refused");
  const first = await fetch(`${api}?token=${cluster.token}`);
  assert.equal(first.status, 200);
  const cookie = first.headers.get("set-cookie")!.split(";")[0]!;
  const { nodes } = await (await fetch(api, { headers: { cookie } })).json() as { nodes: Array<{ nodeId: string; isHead: boolean; isDriver: boolean; state: string }> };
  const ids = new Set(nodes.map((n) => n.nodeId));
  for (const n of await rt.nodes()) assert.ok(ids.has(n.nodeId), `node ${n.nodeId} (${n.isDriver ? "driver" : n.isHead ? "head" : "node"}) is listed`);
  assert.equal(nodes.filter((n) => n.isHead).length, 1);
});
