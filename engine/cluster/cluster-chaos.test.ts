// Chaos on a cluster (issue 17): for about a minute a node is SIGKILLed every few seconds and a fresh one joins,
// while a steady job runs (chains through refs, big results that stay on the node that made them and feed
// another task, an actor with unlimited restarts). Every answer must equal the one computed here serially, and
// afterwards no process the cluster started may be left.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, type ObjectRef } from "loom-dag";
import { Cluster } from "loom-dag/testing";
import type * as Tasks from "./test-fixtures/spill-tasks.js";

const TASKS = new URL("./test-fixtures/spill-tasks.ts", import.meta.url);
/** How long nodes are killed for, and the pause between a fresh node joining and the next kill. */
const CHAOS_MS = 60_000;
const KILL_EVERY_MS = 3_000;
/** Bounds on the loops, whatever the clock says. */
const MAX_KILLS = 20;
const MAX_ROUNDS = 2_000;
const CHAIN = 4;
const BIG = 2 ** 16; // 512 KiB of float64: over the inline limit, so it stays on its node
/** A get slower than this is a hang (a mismatch): deaths take nodeTimeoutMs, a fresh node a few seconds. */
const GET_TIMEOUT_MS = 30_000;

function gone(pid: number): boolean {
  try { process.kill(pid, 0); return false; } catch (e) { return (e as NodeJS.ErrnoException).code === "ESRCH"; }
}

/** The big result's sum, as bigFrom and sumOf compute it. */
function bigSum(seed: number): number {
  let sum = 0;
  for (let i = 0; i < BIG; i++) sum += (seed + i) % 1000;
  return sum;
}

test("chaos: a node killed every few seconds for a minute; every answer right, no process left", { timeout: 150_000 }, async (t) => {
  // The head runs no node (it is not killed); two nodes of one worker each take the work, and are replaced.
  const cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 1 }, { workers: 1 }], nodeTimeoutMs: 1_000 });
  const pids = [cluster.head.pid, ...cluster.nodes.map((n) => n.pid)];
  const rt = await init({ address: cluster.address });
  const mismatches: string[] = [];
  let kills = 0;
  let rounds = 0;
  let retried = 0;
  rt.events.on("task:retried", (e: { reason: string }) => { if (e.reason === "node-died") retried++; });
  try {
    const m = await rt.module<typeof Tasks>(TASKS);
    const retry = { maxRetries: -1 };
    const tally = m.Tally.options({ maxRestarts: -1, maxTaskRetries: -1 }).remote();
    let total = 0;
    let killing = true;
    const killer = (async () => {
      const end = Date.now() + CHAOS_MS;
      for (let i = 0; i < MAX_KILLS && Date.now() < end; i++) {
        await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
        const victim = cluster.nodes[i % cluster.nodes.length]!;
        await cluster.removeNode(victim, { graceful: false });
        kills++;
        pids.push((await cluster.addNode({ workers: 1 })).pid);
      }
    })().finally(() => { killing = false; });
    while (killing && rounds < MAX_ROUNDS) {
      const r = rounds++;
      // A chain through refs: r + 0 + 1 + ... + (CHAIN - 1).
      let x: ObjectRef<number> = m.add.options(retry).remote(r, 0);
      for (let k = 1; k < CHAIN; k++) x = m.add.options(retry).remote(x, k);
      const big = m.bigFrom.options(retry).remote(r, BIG);
      const sum = m.sumOf.options(retry).remote(big);
      const counted = tally.add.remote(r);
      total += r;
      const want = [r + CHAIN * (CHAIN - 1) / 2, bigSum(r), total];
      const got = await Promise.allSettled([x, sum, counted].map((ref) => rt.get(ref, { timeoutMs: GET_TIMEOUT_MS })));
      got.forEach((g, i) => {
        const what = ["chain", "big sum", "tally"][i];
        if (g.status === "rejected") mismatches.push(`round ${r} ${what}: ${(g.reason as Error).name}: ${(g.reason as Error).message}`);
        else if (g.value !== want[i]) mismatches.push(`round ${r} ${what}: got ${g.value}, expected ${want[i]}`);
      });
      // Every few rounds the big result is read here too (pulled from its node, or rebuilt if that node died).
      if (r % 5 === 0) {
        const values = await rt.get(big, { timeoutMs: GET_TIMEOUT_MS }).catch((e: Error) => e);
        if (values instanceof Error) mismatches.push(`round ${r} big: ${values.name}: ${values.message}`);
        else if (values.length !== BIG || values[BIG - 1] !== (r + BIG - 1) % 1000) mismatches.push(`round ${r} big: wrong contents`);
      }
    }
    await killer;
  } finally {
    await rt.shutdown();
    await cluster.shutdown();
  }
  t.diagnostic(`${rounds} rounds, ${kills} nodes killed, ${retried} tasks retried after a node died, ${mismatches.length} wrong answers`);
  assert.deepEqual(mismatches, [], `${mismatches.length} wrong answers in ${rounds} rounds`);
  assert.ok(kills >= 10, `killed ${kills} nodes`);
  assert.ok(rounds >= kills, `${rounds} rounds ran`);
  assert.ok(retried > 0, "kills hit running tasks (retried on other nodes)");
  const left = pids.filter((pid) => !gone(pid));
  assert.deepEqual(left, [], `no process the cluster started is left (${pids.length} started)`);
});
