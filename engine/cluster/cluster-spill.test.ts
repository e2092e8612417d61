// Placement under load and graceful drains on a cluster of real processes: a node with no free worker does not
// queue work while another has one (spillback), and a node that drains hands its objects' only copies to
// another node before it leaves, so nothing it held is rebuilt or lost.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { init, type Runtime, type ModuleWrappers } from "loom-dag";
import { Cluster, type ClusterProcess } from "loom-dag/testing";
import type * as Tasks from "./test-fixtures/spill-tasks.js";

const TASKS = new URL("./test-fixtures/spill-tasks.ts", import.meta.url);

let cluster: Cluster;
let rt: Runtime;
let m: ModuleWrappers<typeof Tasks>;
let a: ClusterProcess;
let b: ClusterProcess;

/** Resolves once a task named `name` has finished (its result may stay on its node: nothing pulls it here). */
function finished(name: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (e: { name: string }) => { if (e.name === name) { rt.events.off("task:finished", listener); resolve(); } };
    rt.events.on("task:finished", listener);
  });
}

before(async () => {
  // The head runs no node: the two nodes, one worker each, are the only places work can go.
  cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 1, resources: { nodeA: 1 } }, { workers: 1, resources: { nodeB: 1 } }], nodeTimeoutMs: 1_000 });
  [a, b] = cluster.nodes as [ClusterProcess, ClusterProcess];
  rt = await init({ address: cluster.address });
  m = await rt.module<typeof Tasks>(TASKS);
});

after(async () => {
  await rt?.shutdown();
  await cluster?.shutdown();
});

test("spillback: tasks whose arguments all live on a full node run on the node with a free worker", { timeout: 60_000 }, async () => {
  const made = finished("bigOn");
  const big = m.bigOn.options({ resources: { nodeA: 1 } }).remote(2 ** 16); // 512 KiB: stays on node A
  await made;
  // Locality alone would queue both on A (it holds all their bytes); A has one worker and B's is free.
  const results = await rt.get([0, 1].map(() => m.sumSlowly.remote(big, 800)));
  const expected = (2 ** 16) * (2 ** 16 - 1) / 2;
  for (const r of results) assert.equal(r.sum, expected);
  assert.deepEqual(new Set(results.map((r) => r.pid)), new Set([a.pid, b.pid]), "both nodes ran one");
});

test("a graceful drain hands the node's results to their owner: read after the node left, with no re-execution", { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "loom-drain-"));
  const runs = path.join(dir, "runs");
  const lost: unknown[] = [];
  const onLost = (e: unknown) => lost.push(e);
  rt.events.on("object:lost", onLost);
  try {
    const made = finished("bigCounted");
    const big = m.bigCounted.options({ resources: { nodeB: 1 } }).remote(runs, 2 ** 16); // 512 KiB: stays on B
    await made;
    const slow = m.slowly.options({ resources: { nodeB: 1 } }).remote(800, "finished while draining");
    await new Promise((r) => setTimeout(r, 200)); // it runs on B
    const died = new Promise<void>((resolve) => {
      const listener = (e: { nodeId: string }) => { if (e.nodeId === b.nodeId) { rt.events.off("node:died", listener); resolve(); } };
      rt.events.on("node:died", listener);
    });
    const removed = cluster.removeNode(b); // SIGTERM: B drains
    // Work sent while B drains is handed back and runs elsewhere (not failed).
    const during = Array.from({ length: 4 }, (_, i) => m.slowly.remote(100, i));
    await removed;
    await died;
    assert.deepEqual((await rt.get(slow)).value, "finished while draining");
    const others = await rt.get(during);
    assert.deepEqual(others.map((r) => r.value), [0, 1, 2, 3]);
    for (const r of others) assert.notEqual(r.pid, b.pid);
    // A node offering nodeB again: had the result been lost, it would be rebuilt there (and counted twice).
    await cluster.addNode({ workers: 1, resources: { nodeB: 1 } });
    const value = await rt.get(big);
    assert.equal(value.pid, b.pid, "the copy B made, not a rebuild");
    assert.equal(value.data.length, 2 ** 16);
    assert.equal(value.data[1000], 3000);
    assert.equal(readFileSync(runs, "utf8"), "ran\n", "bigCounted ran once");
    assert.deepEqual(lost, [], "nothing was lost");
  } finally {
    rt.events.off("object:lost", onLost);
    rmSync(dir, { recursive: true, force: true });
  }
});
