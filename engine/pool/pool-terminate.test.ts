// Pool.terminate, in a process of its own: it kills the workers running its tasks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TaskCancelledError } from "../index.js";
import { Pool } from "./index.js";

const square = (x: number) => x * x;

test("terminate stops now: pending calls reject, running tasks are stopped", async () => {
  const survivor = new Pool({ workers: 2 });
  const p = new Pool({ workers: 2 });
  const spin = (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end);
    return ms;
  };
  const started = Date.now();
  const mapped = p.map(spin, [20_000, 20_000, 20_000, 20_000], { chunksize: 1 });
  const applied = p.apply(spin, [20_000]);
  mapped.catch(() => undefined);
  applied.catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await p.terminate();
  await assert.rejects(mapped, TaskCancelledError);
  await assert.rejects(applied, TaskCancelledError);
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  assert.throws(() => p.apply(square, [1]), /pool is terminated/);
  // Workers killed by the forced cancel are replaced; the other pool still works.
  assert.deepEqual(await survivor.map(square, [1, 2, 3]), [1, 4, 9]);
  await survivor.close();
});

test("terminate of a pool whose runtime it made shuts the runtime down", async () => {
  const p = new Pool({ workers: 2 });
  assert.equal(await p.apply(square, [5]), 25);
  await p.terminate();
  await p.terminate(); // idempotent
  assert.throws(() => p.map(square, [1]), /pool is terminated/);
});

