// The cluster's actor tables under races and churn, on real processes: two nodes claiming one actor name at the
// same instant (one wins; every process then finds the winner, and after its death nobody finds anything), and
// the table of actors other processes own that this process calls (it must empty once those calls are over).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, ActorDiedError, type Runtime, type ModuleWrappers } from "loom-dag";
import { Cluster } from "loom-dag/testing";
import type * as Callers from "./test-fixtures/actor-callers.js";

const CALLERS = new URL("./test-fixtures/actor-callers.ts", import.meta.url);

let cluster: Cluster;
let rt: Runtime;
let callers: ModuleWrappers<typeof Callers>;
let nodeA: { nodeId: string; pid: number };
let nodeB: { nodeId: string; pid: number };
const onA = { resources: { nodeA: 1 } };
const onB = { resources: { nodeB: 1 } };

before(async () => {
  cluster = await Cluster.start({ head: { workers: 1, resources: { headOnly: 1 } }, nodes: [{ workers: 1, resources: { nodeA: 1 } }, { workers: 1, resources: { nodeB: 1 } }], nodeTimeoutMs: 4_000 });
  rt = await init({ address: cluster.address });
  const offering = async (resource: string) => {
    const row = (await rt.nodes()).find((n) => n.resources[resource] === 1)!;
    return cluster.nodes.find((n) => n.nodeId === row.nodeId)!;
  };
  nodeA = await offering("nodeA");
  nodeB = await offering("nodeB");
  callers = await rt.module<typeof Callers>(CALLERS);
  // Both nodes load the fixtures now, so that two tasks told to claim at one instant both wait for it.
  await rt.get([callers.makeCounters.options(onA).remote(0), callers.makeCounters.options(onB).remote(0)]);
});

after(async () => {
  await rt?.shutdown();
  await cluster?.shutdown();
});


/** Whether a task on `where` finds no actor named `name` (current().getActor throws, failing the task). */
async function goneFrom(where: { resources: Record<string, number> }, name: string): Promise<boolean> {
  try {
    return /no live actor/.test((await rt.get(callers.addByName.options(where).remote(name, 0))).error?.message ?? "");
  } catch (e) {
    return /no live actor/.test((e as Error).message);
  }
}

/** Polls `check` (at most 3 s): the head's news reaches each process one message after the fact. */
async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`${what}: still not so after 3 s`);
}

test("two nodes claiming one name at the same instant: one wins, both then find the winner, and after it dies the name is free everywhere", async () => {
  type Counter = Awaited<ReturnType<typeof Callers.nameOnly>>;
  for (let round = 0; round < 3; round++) {
    const name = `race-${round}`;
    // The head is stopped while both nodes claim: both claims wait in its sockets, so neither node can have
    // heard of the other's claim before making its own (a true race, every round). Nodes and the driver need no
    // head to run tasks meanwhile; the stop is far shorter than nodeTimeoutMs.
    process.kill(cluster.head.pid, "SIGSTOP");
    let made: Counter[];
    try {
      made = await rt.get([callers.nameOnly.options(onA).remote(name), callers.nameOnly.options(onB).remote(name)]);
    } finally {
      process.kill(cluster.head.pid, "SIGCONT");
    }
    const calls = await Promise.allSettled(made.map((c) => rt.get(c.add.remote(1))));
    const won = calls.flatMap((c, i) => (c.status === "fulfilled" ? [i] : []));
    assert.equal(won.length, 1, `exactly one claim of ${name} wins: ${calls.map((c) => c.status === "fulfilled" ? "won" : String(c.reason)).join(" / ")}`);
    const w = won[0]!;
    const lost = calls[1 - w] as PromiseRejectedResult;
    // The loser's actor never starts; its calls fail naming the holder.
    assert.ok(lost.reason instanceof ActorDiedError, String(lost.reason));
    assert.match((lost.reason as Error).message, /is held by another process of the cluster/);
    const actorPid = (calls[w] as PromiseFulfilledResult<{ total: number; pid: number }>).value.pid;
    const [winnerSide, loserSide] = w === 0 ? [onA, onB] : [onB, onA];
    // Every process finds the winner: the driver, and a task on each node (the loser's workers too).
    await eventually(`the driver finds ${name}`, () => { try { rt.getActor(name); return true; } catch { return false; } });
    assert.equal((await rt.get(rt.getActor<{ add(n: number): { total: number; pid: number } }>(name).add.remote(0))).pid, actorPid);
    for (const where of [winnerSide, loserSide]) {
      const found = await rt.get(callers.addByName.options(where).remote(name, 0));
      assert.deepEqual([found.error, found.total, found.actorPid], [undefined, 1, actorPid], `a task on the ${where === winnerSide ? "winner's" : "loser's"} node finds the winner of ${name}: ${JSON.stringify(found)}`);
    }
    // The winner dies: the name is released at the head and forgotten by every process, and can be claimed again.
    rt.kill(made[w]!);
    await eventually(`${name} is gone from the driver`, () => { try { rt.getActor(name); return false; } catch { return true; } });
    for (const where of [winnerSide, loserSide]) await eventually(`${name} is gone from a node`, () => goneFrom(where, name));
    const again = await rt.get(callers.nameOnly.options(loserSide).remote(name));
    assert.equal((await rt.get(again.add.remote(1))).total, 1, `the loser's node claims ${name} once the winner is dead`);
    rt.kill(again);
  }
});

test("the table of actors other processes own empties once the calls through it are over (killed actors and dropped handles leave nothing)", async () => {
  assert.equal(rt.tableSizes().foreignActors, 0);
  const counters = await rt.get(callers.makeCounters.options(onB).remote(12));
  const first = await rt.get(counters.map((c) => c.add.remote(1)));
  assert.deepEqual(first.map((r) => r.total), new Array(12).fill(1));
  await eventually("the calls' rows are forgotten", () => rt.tableSizes().foreignActors === 0);
  // Forgotten rows cost nothing: later calls through the same handles still go out in order.
  const burst = await rt.get(Array.from({ length: 5 }, () => counters[0]!.add.remote(1)));
  assert.deepEqual(burst.map((r) => r.total), [2, 3, 4, 5, 6]);
  // Killed through their handles: dead for good, and nothing of them is kept here.
  for (const c of counters.slice(0, 6)) rt.kill(c);
  const dead = await Promise.allSettled(counters.slice(0, 6).map((c) => rt.get(c.add.remote(1))));
  for (const outcome of dead) assert.ok(outcome.status === "rejected" && outcome.reason instanceof ActorDiedError, String(outcome.status === "rejected" ? outcome.reason : "fulfilled"));
  await eventually("the killed actors' rows are forgotten", () => rt.tableSizes().foreignActors === 0);
  // Many more actors called once each: the table stays empty between calls rather than growing with them.
  for (let i = 0; i < 3; i++) {
    const more = await rt.get(callers.makeCounters.options(onA).remote(10));
    assert.deepEqual((await rt.get(more.map((c) => c.add.remote(2)))).map((r) => r.total), new Array(10).fill(2));
    for (const c of more) rt.kill(c);
  }
  await eventually("every row is forgotten", () => rt.tableSizes().foreignActors === 0);
});
