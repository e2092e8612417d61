// Calls on an actor from a process other than its owner (docs/cluster.md, "Actor handles go anywhere"): a
// cluster on this machine (a head with no workers, nodes A and B of one worker each, a driver with none), a
// counter on node A owned by the driver. Times n calls one after another and a burst of n calls, made (1) by
// the driver, the owner: driver → A; (2) by a task on node B given the handle: B → driver → A (calls go
// through the owner). Prints µs per call for each.
//   node --import tsx/esm bench/micro/foreign-actor-calls.ts [--calls 2000] [--rounds 3]
import { parseArgs } from "node:util";
import { init } from "loom-dag";
import { Cluster } from "../../props/testing/cluster.js";

const { values } = parseArgs({ options: { calls: { type: "string", default: "2000" }, rounds: { type: "string", default: "3" } } });
const n = Number(values.calls), rounds = Number(values.rounds);

const cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 1, resources: { a: 1 } }, { workers: 1, resources: { b: 1 } }], nodeTimeoutMs: 10_000 });
const rt = await init({ address: cluster.address });
try {
  const m = await rt.module<typeof import("../workloads/modules/foreign-caller.js")>(new URL("../workloads/modules/foreign-caller.ts", import.meta.url));
  const counter = m.Counter.options({ resources: { a: 0.5 } }).remote();
  await rt.get(counter.add.remote(0));
  const us = (ms: number) => (ms * 1000 / n).toFixed(0);
  for (let round = 0; round < rounds; round++) {
    let t0 = performance.now();
    for (let i = 0; i < n; i++) await rt.get(counter.add.remote(1));
    const ownerSeq = performance.now() - t0;
    t0 = performance.now();
    await rt.get(Array.from({ length: n }, () => counter.add.remote(1)));
    const ownerBurst = performance.now() - t0;
    const foreign = await rt.get(m.timeCalls.options({ resources: { b: 1 } }).remote(counter, n));
    console.log(`round ${round + 1}: owner (driver → A): ${us(ownerSeq)} µs/call one by one, ${us(ownerBurst)} µs/call in a burst; ` +
      `foreign (task on B → driver → A): ${us(foreign.sequentialMs)} µs/call one by one, ${us(foreign.burstMs)} µs/call in a burst`);
  }
} finally {
  await rt.shutdown();
  await cluster.shutdown();
}
