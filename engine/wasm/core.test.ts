// The layout planner's checks: capacities must be valid, and no shared structure or arena address may reach 2^31
// (the core passes addresses as signed i32). planLayout only computes the plan, so nothing here allocates memory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { planLayout, CORE_ADDRESS_LIMIT, type CoreSizes } from "./core.js";
import { LoomError } from "../errors.js";

/** The sizes engine/runtime/runtime.ts asks for, with its largest arena. */
const ENGINE: CoreSizes = { taskSlots: 1 << 15, objectCapacity: 1 << 21, arenaBytes: 256 * 2 ** 20 };
const TABLES_END = planLayout(ENGINE).arenaStart;

test("the engine's largest configuration plans every address below 2^31", () => {
  const plan = planLayout(ENGINE);
  const regions = [plan.readyQueue, plan.admitQueue, plan.doneQueue, plan.taskTable, plan.objectTable, plan.freeLists, plan.scratch, plan.arenaStart];
  assert.ok(regions.every((a, i) => i === 0 || a > regions[i - 1]!), `regions in order: ${regions.join(", ")}`);
  assert.ok(plan.arenaEnd < CORE_ADDRESS_LIMIT, `arenaEnd ${plan.arenaEnd}`);
  assert.ok(plan.pages * 65536 <= CORE_ADDRESS_LIMIT, `pages ${plan.pages}`);
});

test("a plan that ends one byte below 2^31 is accepted; one that reaches 2^31 is refused", () => {
  const fits = planLayout({ ...ENGINE, arenaBytes: CORE_ADDRESS_LIMIT - 1 - TABLES_END });
  assert.equal(fits.arenaEnd, CORE_ADDRESS_LIMIT - 1);
  assert.equal(fits.pages, 32768, "the whole memory is exactly 2 GiB");
  assert.throws(() => planLayout({ ...ENGINE, arenaBytes: CORE_ADDRESS_LIMIT - TABLES_END }), LoomError);
});

const tooBig: Array<[string, CoreSizes]> = [
  ["an arena of 2 GiB", { ...ENGINE, arenaBytes: 2 ** 31 }],
  ["an arena of 4 GiB (past memory32 too)", { ...ENGINE, arenaBytes: 2 ** 32 }],
  ["an object table of 2^26 entries (2 GiB)", { ...ENGINE, objectCapacity: 2 ** 26 }],
  ["an object table of 2^25 entries and a 1 GiB arena", { ...ENGINE, objectCapacity: 2 ** 25, arenaBytes: 2 ** 30 }],
  ["2^25 task slots (a 2 GiB task table)", { ...ENGINE, taskSlots: 2 ** 25 }],
];
for (const [what, sizes] of tooBig) {
  test(`planLayout refuses ${what} with a LoomError naming the 2 GiB limit`, () => {
    assert.throws(() => planLayout(sizes), (error: unknown) => {
      assert.ok(error instanceof LoomError, `a LoomError, got ${String(error)}`);
      assert.equal(error.code, "ERR_LOOM");
      assert.match(error.message, /below 2 GiB/);
      assert.match(error.message, /lower arenaBytes, objectCapacity or taskSlots/);
      return true;
    });
  });
}

const invalid: Array<[string, Partial<CoreSizes>, RegExp]> = [
  ["taskSlots not a power of two", { taskSlots: 3 }, /taskSlots 3 must be a power of two/],
  ["taskSlots zero", { taskSlots: 0 }, /taskSlots 0/],
  ["taskSlots above 2^30", { taskSlots: 2 ** 31 }, /taskSlots 2147483648/],
  ["objectCapacity of 1 (holds no object: one entry stays empty)", { objectCapacity: 1 }, /objectCapacity 1 must be a power of two between 2/],
  ["objectCapacity not an integer", { objectCapacity: 1.5 }, /objectCapacity 1.5/],
  ["arenaBytes NaN", { arenaBytes: NaN }, /arenaBytes NaN must be a positive integer/],
  ["arenaBytes negative", { arenaBytes: -1 }, /arenaBytes -1/],
];
for (const [what, change, message] of invalid) {
  test(`planLayout refuses ${what}`, () => {
    assert.throws(() => planLayout({ ...ENGINE, ...change }), (error: unknown) => {
      assert.ok(error instanceof LoomError, `a LoomError, got ${String(error)}`);
      assert.match(error.message, message);
      return true;
    });
  });
}
