// Which runtime a Pool runs on, and who shuts it down.
import { test } from "node:test";
import assert from "node:assert/strict";
import { current, init } from "../index.js";
import { Pool } from "./index.js";

function currentOrUndefined(): unknown {
  try {
    return current();
  } catch {
    return undefined;
  }
}

const double = (x: number) => 2 * x;

test("a pool reuses the runtime the user made, and leaves it running on close", async () => {
  const rt = await init({ workers: 2 });
  try {
    const pool = new Pool({ workers: 2 });
    assert.deepEqual(await pool.map(double, [1, 2, 3]), [2, 4, 6]);
    await pool.close();
    assert.equal(currentOrUndefined(), rt);
    const twice = rt.remote(double);
    assert.equal(await rt.get(twice.remote(21)), 42);
  } finally {
    await rt.shutdown();
  }
});

test("a pool makes a runtime when there is none, and shuts it down on close", async () => {
  assert.equal(currentOrUndefined(), undefined);
  const pool = new Pool({ workers: 2 });
  assert.equal(await pool.apply(double, [4]), 8);
  assert.notEqual(currentOrUndefined(), undefined);
  await pool.close();
  assert.equal(currentOrUndefined(), undefined);
});

test("pools made together share one runtime until the last one closes", async () => {
  const a = new Pool({ workers: 2 });
  const b = new Pool({ workers: 2 });
  assert.deepEqual(await Promise.all([a.apply(double, [1]), b.apply(double, [2])]), [2, 4]);
  const rt = currentOrUndefined();
  await a.close();
  assert.equal(currentOrUndefined(), rt, "b still holds it");
  assert.equal(await b.apply(double, [3]), 6);
  await b.terminate();
  assert.equal(currentOrUndefined(), undefined);
});
