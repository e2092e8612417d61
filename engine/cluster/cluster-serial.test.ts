// A node SIGKILLed mid-run, checked against the serial interpreter (issue 17): random programs of the engine
// property (props/) run over a cluster, a node is killed while each runs (and a fresh one joins), and every get
// must give what the plain serial run gives. The kill's losses are the engine's to hide: retried tasks, results
// rebuilt from lineage, actors restarted and replayed (the runner gives actors unlimited restarts and tasks keep
// their default retries, so no error is allowed that the serial run does not predict).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { init, type Runtime } from "loom-dag";
import { Cluster, type ClusterProcess } from "loom-dag/testing";
import { program, type Program } from "../../props/arbitraries/program.js";
import { checkProgram } from "../../props/models/check.js";
import { loadOps, type OpsModule } from "../../props/models/loom-runner.js";

/** Programs run (each with one node killed mid-run); bounded so the test stays well under a minute. */
const PROGRAMS = 6;
const SEED = 0x17c1;
/**
 * Each program starts with two spins this long (one per node, as each node has one worker), so the kill, at most
 * KILL_WITHIN_MS after the start, lands while the victim runs one: a kill that found nothing to hurt would prove nothing.
 */
const SPIN_MS = 400;
const KILL_WITHIN_MS = 120;
/** A get slower than this is a hang: a killed node's death is declared after nodeTimeoutMs, and a fresh node takes a few seconds to start. */
const GET_TIMEOUT_MS = 20_000;

/**
 * The property's programs, less what would make this test about something else: the node kill is this test's
 * thread death, so ops that end threads themselves (`crash`, a fragile actor's `crash`) are left out, fragile
 * actors become ordinary ones (with no restarts left, their node's death is a NodeDiedError the serial model
 * does not predict), and no task is pinned to the `slotA` resource, which no node here offers.
 */
const clusterProgram: fc.Arbitrary<Program> = program({ maxOps: 14 })
  .map((ops) => ops
    .filter((op) => op.op !== "crash" && op.op !== "actorCrash")
    .map((op) => (op.op === "call" ? { ...op, pinned: false } : op.op === "actor" ? { ...op, fragile: false } : op)))
  .filter((ops) => ops.some((op) => op.op !== "get" && op.op !== "drop" && op.op !== "collect"));

let cluster: Cluster;
let rt: Runtime;
let m: OpsModule;

before(async () => {
  cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 1 }, { workers: 1 }], nodeTimeoutMs: 1_000 });
  rt = await init({ address: cluster.address });
  m = await loadOps(rt);
});

after(async () => {
  await rt?.shutdown();
  await cluster?.shutdown();
});

test(`${PROGRAMS} random programs, a node SIGKILLed during each: every get equals the serial interpreter's`, { timeout: 240_000 }, async () => {
  const programs = fc.sample(fc.tuple(clusterProgram, fc.integer({ min: 0, max: KILL_WITHIN_MS })), { seed: SEED, numRuns: PROGRAMS });
  let killed = 0;
  let retried = 0;
  const onRetried = (e: { reason: string }) => { if (e.reason === "node-died") retried++; };
  rt.events.on("task:retried", onRetried);
  for (const [i, [generated, killAfterMs]] of programs.entries()) {
    const victim = cluster.nodes[i % cluster.nodes.length] as ClusterProcess;
    const spin = { op: "spin" as const, arg: { lit: i }, ms: SPIN_MS };
    const ops: Program = [spin, spin, ...generated];
    const retriedBefore = retried;
    const run = checkProgram(rt, m, { program: ops, faults: [] }, { getTimeoutMs: GET_TIMEOUT_MS });
    const kill = (async () => {
      await new Promise((r) => setTimeout(r, killAfterMs));
      await cluster.removeNode(victim, { graceful: false });
      killed++;
      await cluster.addNode({ workers: 1 });
    })();
    // The run's verdict first (a PropertyFailure names the program and every wrong get); the kill always ends.
    const [verdict, replaced] = await Promise.allSettled([run, kill]);
    if (verdict.status === "rejected") throw verdict.reason;
    if (replaced.status === "rejected") throw replaced.reason;
    assert.ok(retried > retriedBefore, `program ${i}: the kill hit a running task (retried on another node)`);
  }
  rt.events.off("task:retried", onRetried);
  assert.equal(killed, PROGRAMS);
  assert.equal(cluster.nodes.length, 2);
});
