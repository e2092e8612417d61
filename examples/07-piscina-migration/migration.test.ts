// The piscina program and its one-line migration to loom/pool report the same thing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { main as onLoom } from "./on-loom.js";
import { main as onPiscina } from "./piscina.js";

test("a piscina program runs unchanged on loom/pool", async () => {
  const expected = {
    scaled: [3, 6, 9, 12],
    sum: 7,
    movedLength: 0,
    aborted: "AbortError: The task has been aborted",
    closed: true,
  };
  for (const [side, main] of [["piscina", onPiscina], ["loom/pool", onLoom]] as const) {
    const { threadsMade, ...report } = await main();
    assert.deepEqual(report, expected, side);
    assert.ok(threadsMade >= 1 && threadsMade <= 3, `${side}: ${threadsMade} threads`);
  }
});
