// Streaming generators placed on another node of a cluster of real processes: their yields stream back to the
// driver (small ones inline, big ones held on the node until read), an error comes after the yields before it,
// generatorBackpressure holds the generator back, cancel stops it, and a node lost mid-stream retries it
// elsewhere with each index handed out once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, TaskError, type ObjectRef, type ObjectRefGenerator, type Runtime, type ModuleWrappers } from "loom-dag";
import { Cluster } from "loom-dag/testing";
import type * as Streams from "./test-fixtures/cluster-streams.js";

const STREAMS = new URL("./test-fixtures/cluster-streams.ts", import.meta.url);

let cluster: Cluster;
let rt: Runtime;
let s: ModuleWrappers<typeof Streams>;
let node: { nodeId: string; pid: number };

before(async () => {
  cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 1, resources: { nodeA: 1 } }], nodeTimeoutMs: 1_000 });
  node = cluster.nodes[0]!;
  rt = await init({ address: cluster.address }); // no workers: every generator runs on the node
  s = await rt.module<typeof Streams>(STREAMS);
});

after(async () => {
  await rt?.shutdown();
  await cluster?.shutdown();
});

const streaming = { numReturns: "streaming" as const };

async function collect<T>(gen: ObjectRefGenerator<T>): Promise<Array<ObjectRef<T>>> {
  const refs: Array<ObjectRef<T>> = [];
  for await (const ref of gen) refs.push(ref);
  return refs;
}

test("a generator on another node streams its yields to the driver, small and big, in order", async () => {
  const small = await rt.get(await collect(s.count.options(streaming).remote(20)));
  assert.deepEqual(small.map((m) => m.i), Array.from({ length: 20 }, (_, i) => i));
  assert.ok(small.every((m) => m.pid === node.pid), "made on the node");
  // 2 MiB each: held by the node, pulled when read (and read by a task there without a copy to the driver).
  const big = await collect(s.arrays.options(streaming).remote(3, 2 ** 18));
  const values = await rt.get(big);
  assert.deepEqual(values.map((v) => [v.length, v[0], v[2 ** 18 - 1]]), [[2 ** 18, 0, 0], [2 ** 18, 1, 1], [2 ** 18, 2, 2]]);
});

test("an error in the generator comes after the yields before it, which stay valid", async () => {
  const gen = s.failAfter.options(streaming).remote(3);
  const refs: Array<ObjectRef<number>> = [];
  await assert.rejects(async () => { for await (const ref of gen) refs.push(ref); }, (e: Error) => e instanceof TaskError && e instanceof RangeError && /stopped after 3/.test(e.message));
  assert.deepEqual(await rt.get(refs), [0, 1, 2]);
});

test("generatorBackpressure holds the generator back while the driver's consumer does not take its yields", async () => {
  const gen = s.count.options({ ...streaming, generatorBackpressure: 2 }).remote(12);
  const first = await gen.next();
  assert.equal((await rt.get(first.value!)).i, 0);
  await new Promise((r) => setTimeout(r, 600)); // the consumer takes nothing for a while
  const resumed = Date.now();
  const rest = await rt.get(await collect(gen));
  assert.deepEqual(rest.map((m) => m.i), Array.from({ length: 11 }, (_, i) => i + 1));
  // At most 2 wait at the driver and 2 on the node: yield 6 can only be made after the consumer went on.
  assert.ok(rest[5]!.at >= resumed, `yield 6 was made ${resumed - rest[5]!.at} ms before the consumer took yield 1`);
});

test("cancelling a generator on another node: next() rejects with TaskCancelledError, the refs taken before stay valid", async () => {
  const gen = s.slowly.options(streaming).remote(1_000, 20);
  const taken = [(await gen.next()).value!, (await gen.next()).value!];
  rt.cancel(gen);
  const t0 = Date.now();
  await assert.rejects(async () => { for (;;) if ((await gen.next()).done) break; }, (e: Error) => e.name === "TaskCancelledError");
  assert.deepEqual((await rt.get(taken)).map((m) => m.i), [0, 1]);
  // The node stopped it: its one worker runs the next generator at once, not after the 20 s this one had left.
  assert.equal((await rt.get(await collect(s.count.options(streaming).remote(3)))).length, 3);
  assert.ok(Date.now() - t0 < 10_000, `the node's worker was free again after ${Date.now() - t0} ms`);
});

test("a node lost mid-stream: the generator runs again elsewhere and the consumer sees each index once", async () => {
  const doomed = await cluster.addNode({ workers: 1, resources: { doomed: 1 } });
  for (let i = 0; i < 200 && !(await rt.nodes()).some((n) => n.nodeId === doomed.nodeId); i++) await new Promise((r) => setTimeout(r, 20));
  const gen = s.slowly.options({ ...streaming, resources: { doomed: 1 }, maxRetries: 1 }).remote(10, 100);
  const before = [(await gen.next()).value!, (await gen.next()).value!];
  await cluster.removeNode(doomed, { graceful: false });
  const again = await cluster.addNode({ workers: 1, resources: { doomed: 1 } });
  const after = await collect(gen);
  const made = await rt.get([...before, ...after]);
  assert.deepEqual(made.map((m) => m.i), Array.from({ length: 10 }, (_, i) => i));
  assert.ok(made.slice(0, 2).every((m) => m.pid === doomed.pid));
  assert.equal(made.at(-1)!.pid, again.pid, "the rest came from the retry on the new node");
});
