// KeyedStats unit tests: binning edges, accumulation, and merge being exact, associative and commutative.
import { test } from "node:test";
import assert from "node:assert/strict";
import { accumulate, delayBin, emptyStats, mergeStats, rows, statsDiff, DELAY_BINS, type KeyedStats } from "./keyed-stats.js";

/** Deterministic xorshift so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function randomPartial(seed: number, keySpace = 50, n = 500): KeyedStats {
  const r = rng(seed);
  const keys = new Int32Array(n);
  const delays = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    keys[i] = Math.floor(r() * keySpace);
    delays[i] = Math.floor(r() * 600) - 60;
  }
  return accumulate(keys, delays, keySpace);
}

test("delay bins: early below 0, then 0-15, 15-30, ..., 240+", () => {
  const cases: [number, number][] = [[-1116, 0], [-1, 0], [0, 1], [14, 1], [15, 2], [29, 2], [30, 3], [59, 3], [60, 4], [119, 4], [120, 5], [239, 5], [240, 6], [1688, 6]];
  for (const [delay, bin] of cases) assert.equal(delayBin(delay), bin, `delay ${delay}`);
});

test("accumulate counts, sums, maxes and bins per key, keys sorted", () => {
  const s = accumulate([3, 1, 3, 3], [10, -5, 20, 300], 5);
  assert.deepEqual([...s.keys], [1, 3]);
  assert.deepEqual([...s.count], [1, 3]);
  assert.deepEqual([...s.delaySum], [-5, 330]);
  assert.deepEqual([...s.delayMax], [-5, 300]);
  assert.deepEqual([...s.hist], [1, 0, 0, 0, 0, 0, 0, /* key 3 */ 0, 1, 1, 0, 0, 0, 1]);
  const [k3] = rows(s).filter((row) => row.key === 3);
  assert.equal(k3.meanDelay, 110);
  assert.equal(k3.lateShare, 2 / 3);
});

test("merge equals accumulating the concatenated rows", () => {
  const keys = [4, 2, 9, 2, 4, 4, 0];
  const delays = [5, 16, -3, 250, 61, 0, 31];
  const whole = accumulate(keys, delays, 10);
  const split = mergeStats(accumulate(keys.slice(0, 3), delays.slice(0, 3), 10), accumulate(keys.slice(3), delays.slice(3), 10));
  assert.equal(statsDiff(whole, split), null);
});

test("merge is commutative and associative, bit for bit", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const [a, b, c] = [randomPartial(seed), randomPartial(seed + 100, 80), randomPartial(seed + 200, 30)];
    assert.equal(statsDiff(mergeStats(a, b), mergeStats(b, a)), null, `commutative, seed ${seed}`);
    assert.equal(statsDiff(mergeStats(mergeStats(a, b), c), mergeStats(a, mergeStats(b, c))), null, `associative, seed ${seed}`);
  }
});

test("the empty partial is the identity", () => {
  const a = randomPartial(7);
  assert.equal(statsDiff(mergeStats(a, emptyStats()), a), null);
  assert.equal(statsDiff(mergeStats(emptyStats(), a), a), null);
  assert.equal(mergeStats(emptyStats(), emptyStats()).keys.length, 0);
});

test("statsDiff names the first differing field", () => {
  const a = accumulate([1], [5], 2);
  const b = accumulate([1], [6], 2);
  assert.equal(statsDiff(a, b), "delaySum[0]: 5 != 6");
  assert.equal(statsDiff(a, accumulate([0, 1], [5, 5], 2)), "keys: length 1 != 2");
  assert.equal(a.hist.length, DELAY_BINS);
});
