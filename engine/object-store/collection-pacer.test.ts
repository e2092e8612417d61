// V8 does not count SharedArrayBuffer memory when it decides to collect, so without the pacer a program that
// puts big objects and drops their refs never frees them: the store fills with dead objects and spills them.
// These tests never call gc() themselves; only the engine's pacing can free the objects.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, type Runtime } from "loom-dag";

type Tasks = typeof import("../test-fixtures/tasks.js");
const PUT_BYTES = 8 * 2 ** 20;
const STORE_BYTES = 512 * 2 ** 20;
const PUTS = 96; // 1.5× the store
let rt: Runtime;
let tasks: Record<string, any>;
let spilled = 0;

before(async () => {
  rt = await init({ workers: 1, objectStoreBytes: STORE_BYTES });
  tasks = (await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url))) as Record<string, any>;
  rt.events.on("object:spilled", () => { spilled++; });
});
after(async () => {
  await rt.shutdown();
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Puts 3× the store in 8 MiB objects, each dropped after `use`; counts the puts that took an idle segment. */
async function putLoop(use: (ref: ReturnType<Runtime["put"]>, value: number) => Promise<void>): Promise<number> {
  let reused = 0;
  for (let i = 0; i < PUTS; i++) {
    const idle = rt.storeUsage().idleSegmentBytes;
    const ref = rt.put(new Float64Array(PUT_BYTES / 8).fill(i));
    if (rt.storeUsage().idleSegmentBytes < idle) reused++;
    await use(ref, i);
    await turn();
  }
  return reused;
}

test("dropped big objects are freed and their segments reused without anyone calling gc", async () => {
  spilled = 0;
  const reused = await putLoop(async (ref, i) => {
    const v = (await rt.get(ref)) as Float64Array;
    assert.equal(v[v.length - 1], i, `put ${i} reads back`);
  });
  assert.equal(spilled, 0, "no dead object was spilled");
  assert.ok(reused >= PUTS / 2, `most puts reused a freed segment (${reused} of ${PUTS})`);
  const { segmentBytes } = rt.storeUsage();
  assert.ok(segmentBytes <= STORE_BYTES / 2, `the dead objects left the store (${segmentBytes} bytes of segments live)`);
});

test("segments read by a worker come back too: the worker collects the handles it was sent", async () => {
  spilled = 0;
  const reused = await putLoop(async (ref, i) => {
    assert.equal(await rt.get(tasks.sumArray.remote(ref)), i * (PUT_BYTES / 8), `task ${i} read its put`);
  });
  assert.equal(spilled, 0, "no dead object was spilled");
  assert.ok(reused >= PUTS / 2, `most puts reused a freed segment (${reused} of ${PUTS})`);
});
