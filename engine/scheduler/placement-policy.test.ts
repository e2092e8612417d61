// The placement policy is a pure function of the load per place.
import { test } from "node:test";
import assert from "node:assert/strict";
import { leastLoadedWorker } from "./placement-policy.js";

test("leastLoadedWorker picks the least loaded place, the first of equals, and avoids the excluded one", () => {
  const cases: Array<[load: number[], exclude: number, expected: number]> = [
    [[0, 0, 0], -1, 0],
    [[2, 1, 1], -1, 1],
    [[0, 3, 0], 0, 2],
    [[0, 5], 0, 1],     // excluded even when it is the least loaded
    [[4], 0, 0],        // a single place is used even when excluded
    [[], -1, -1],
  ];
  for (const [load, exclude, expected] of cases) {
    assert.equal(leastLoadedWorker(load, exclude), expected, `load ${JSON.stringify(load)}, exclude ${exclude}`);
  }
});
