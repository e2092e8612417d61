// Actors called from processes other than their owner, on a cluster of real processes: a task on another node
// that was given a handle (as an argument or inside a value, or found by name), a second driver that finds a
// named actor through the head, and callers that go on after the actor's node died and it restarted elsewhere.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { init, ActorDiedError, type Runtime, type ModuleWrappers } from "loom-dag";
import { Cluster } from "loom-dag/testing";
import type * as Tasks from "./test-fixtures/cluster-tasks.js";
import type * as Callers from "./test-fixtures/actor-callers.js";

const TASKS = new URL("./test-fixtures/cluster-tasks.ts", import.meta.url);
const CALLERS = new URL("./test-fixtures/actor-callers.ts", import.meta.url);
const SECOND_DRIVER = fileURLToPath(new URL("./test-fixtures/second-driver.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let cluster: Cluster;
let rt: Runtime;
let m: ModuleWrappers<typeof Tasks>;
let callers: ModuleWrappers<typeof Callers>;
let nodeA: { nodeId: string; pid: number };
let nodeB: { nodeId: string; pid: number };

before(async () => {
  cluster = await Cluster.start({ head: { workers: 1, resources: { headOnly: 1 } }, nodes: [{ workers: 1, resources: { nodeA: 1 } }, { workers: 1, resources: { nodeB: 1 } }], nodeTimeoutMs: 1_000 });
  rt = await init({ address: cluster.address });
  // The nodes start together: which is which is known by the resources each registered.
  const offering = async (resource: string) => {
    const row = (await rt.nodes()).find((n) => n.resources[resource] === 1)!;
    return cluster.nodes.find((n) => n.nodeId === row.nodeId)!;
  };
  nodeA = await offering("nodeA");
  nodeB = await offering("nodeB");
  m = await rt.module<typeof Tasks>(TASKS);
  callers = await rt.module<typeof Callers>(CALLERS);
});

after(async () => {
  await rt?.shutdown();
  await cluster?.shutdown();
});

/** Runs on node B (the only one offering nodeB). */
const onB = { resources: { nodeB: 1 } };

async function untilKnown(nodeId: string): Promise<void> {
  for (let i = 0; i < 200 && !(await rt.nodes()).some((n) => n.nodeId === nodeId); i++) await new Promise((r) => setTimeout(r, 20));
}

test("a task on node B calls an actor on node A through a handle it was given, and the owner sees the change", async () => {
  const counter = m.Counter.options({ resources: { nodeA: 0.5 } }).remote();
  assert.equal((await rt.get(counter.add.remote(1))).total, 1);
  const call = await rt.get(callers.addThrough.options(onB).remote(counter, 10));
  assert.deepEqual(call, { total: 11, actorPid: nodeA.pid, callerPid: nodeB.pid });
  // Inside a value, several calls from one caller run in its order.
  const box = await rt.get(callers.addThroughBox.options(onB).remote({ counter }, 2, 5));
  assert.deepEqual(box.map((c) => c.total), [13, 15, 17, 19, 21]);
  assert.ok(box.every((c) => c.actorPid === nodeA.pid && c.callerPid === nodeB.pid));
  // The owner's own calls see the state the other node's calls left.
  assert.deepEqual(await rt.get(counter.add.remote(0)), { total: 21, pid: nodeA.pid });
  rt.kill(counter);
});

test("a handle a task returns works in the driver (the task's node owns the actor), inside a stored object too; a crash and a kill through it reach the owner", async () => {
  const counter = await rt.get(callers.makeCounter.options(onB).remote("nodeA", 1));
  assert.deepEqual(await rt.get(counter.add.remote(2)), { total: 2, pid: nodeA.pid });
  // Stored in an object of the driver, read by a task on the head's node: a third process calls it.
  const box = rt.put({ counter });
  const fromHead = await rt.get(callers.addThroughBox.options({ resources: { headOnly: 1 } }).remote(box, 3, 2));
  assert.deepEqual(fromHead.map((c) => [c.total, c.actorPid, c.callerPid]), [[5, nodeA.pid, cluster.head.pid], [8, nodeA.pid, cluster.head.pid]]);
  // A crash through the handle: its owner restarts it (maxRestarts 1), replaying every call, ours and the head
  // node's; a second crash finds no restart left.
  rt.faults.killActor(counter);
  assert.deepEqual(await rt.get(counter.add.remote(1)), { total: 9, pid: nodeA.pid });
  rt.faults.killActor(counter);
  await assert.rejects(rt.get(counter.add.remote(1)), (e: Error) => e instanceof ActorDiedError && /no restarts left/.test(e.message));
  // A kill through a handle: dead for good.
  const other = await rt.get(callers.makeCounter.options(onB).remote("nodeA", 1));
  assert.equal((await rt.get(other.add.remote(4))).total, 4);
  rt.kill(other);
  await assert.rejects(rt.get(other.add.remote(1)), (e: Error) => e instanceof ActorDiedError && /was killed/.test(e.message));
});

test("a second driver finds a named actor of the first through the head and calls it; the first sees the change", async () => {
  const counter = m.Counter.options({ name: "c", resources: { nodeA: 0.5 } }).remote();
  assert.equal((await rt.get(counter.add.remote(1))).total, 1);
  const out = await runSecondDriver("c", 10);
  assert.deepEqual(out.result, { total: 11, pid: nodeA.pid }, JSON.stringify(out));
  assert.notEqual(out.pid, process.pid);
  assert.deepEqual(await rt.get(counter.add.remote(0)), { total: 11, pid: nodeA.pid });
  // A task on another node finds it by name too (current().getActor), and a duplicate name is refused at once.
  assert.deepEqual(await rt.get(callers.addByName.options(onB).remote("c", 100)), { total: 111, actorPid: nodeA.pid, callerPid: nodeB.pid });
  assert.throws(() => m.Counter.options({ name: "c" }).remote(), /already exists/);
  rt.kill(counter);
  // Its name is free again, for this driver and (told by the head) for others.
  assert.throws(() => rt.getActor("c"), /no live actor named "c"/);
  const gone = await runSecondDriverUntil("c", 1, (o) => /no live actor/.test(o.error?.message ?? ""));
  assert.match(gone.error!.message, /no live actor named "c"/);
});

test("a caller on another node goes on after the actor's node died and it restarted elsewhere; with no restarts left it gets NodeDiedError", async () => {
  const doomed = await cluster.addNode({ workers: 1, resources: { doomed: 2 } });
  await untilKnown(doomed.nodeId);
  const restartable = m.Counter.options({ resources: { doomed: 1 }, maxRestarts: 1 }).remote();
  const mortal = m.Counter.options({ resources: { doomed: 1 }, maxRestarts: 0 }).remote();
  assert.deepEqual(await rt.get(callers.addThrough.options(onB).remote(restartable, 5)), { total: 5, actorPid: doomed.pid, callerPid: nodeB.pid });
  assert.deepEqual(await rt.get(callers.addThrough.options(onB).remote(mortal, 7)), { total: 7, actorPid: doomed.pid, callerPid: nodeB.pid });
  // (Other deaths may come meanwhile: the second drivers of the test before leave too.)
  const died = new Promise<void>((resolve) => rt.events.on("node:died", function listener(e: { nodeId: string }) {
    if (e.nodeId === doomed.nodeId) { rt.events.off("node:died", listener); resolve(); }
  }));
  await cluster.removeNode(doomed, { graceful: false });
  await died;
  const again = await cluster.addNode({ workers: 1, resources: { doomed: 2 } });
  // Restarted on the new node with its calls replayed (the other node's call among them).
  assert.deepEqual(await rt.get(callers.addThrough.options(onB).remote(restartable, 1)), { total: 6, actorPid: again.pid, callerPid: nodeB.pid });
  const lost = await rt.get(callers.addThrough.options(onB).remote(mortal, 1));
  assert.equal(lost.error?.code, "ERR_NODE_DIED", JSON.stringify(lost));
  assert.equal(lost.error?.name, "NodeDiedError");
});

interface SecondDriverOutput { result?: { total: number; pid: number }; error?: { name: string; message: string }; pid: number }

/** Runs test-fixtures/second-driver.ts in its own process: it joins, calls `add(n)` on the actor named `name`. */
function runSecondDriver(name: string, n: number): Promise<SecondDriverOutput> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--import", "tsx", SECOND_DRIVER, cluster.address, name, String(n)], { cwd: ROOT, timeout: 60_000, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      if (error) { reject(new Error(`the second driver failed: ${error.message}\n${stderr}`)); return; }
      try { resolve(JSON.parse(stdout.trim().split("\n").pop()!) as SecondDriverOutput); } catch { reject(new Error(`the second driver printed ${stdout}\n${stderr}`)); }
    });
  });
}

/** runSecondDriver until `done` holds (the head's news reaches processes a moment after it happened), at most 5 times. */
async function runSecondDriverUntil(name: string, n: number, done: (o: SecondDriverOutput) => boolean): Promise<SecondDriverOutput> {
  let out = await runSecondDriver(name, n);
  for (let i = 1; i < 5 && !done(out); i++) out = await runSecondDriver(name, n);
  return out;
}
