// The backlog against an array model: FIFO order through push, shift, unshift, pop and lazy removes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backlog } from "./backlog.js";

test("Backlog behaves like an array queue through every operation", () => {
  const q = new Backlog<{ n: number }>();
  let model: Array<{ n: number }> = [];
  let seed = 11;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let step = 0; step < 20_000; step++) {
    const op = next() % 5;
    if (op <= 1) { const item = { n: step }; q.push(item); model.push(item); }
    else if (op === 2) assert.equal(q.shift(), model.shift());
    else if (op === 3 && model.length) { const item = model[next() % model.length]!; q.remove(item); model = model.filter((x) => x !== item); }
    else if (op === 4 && model.length) { const item = q.shift()!; assert.equal(item, model.shift()); q.unshift(item); model.unshift(item); }
    assert.equal(q.length, model.length);
  }
  while (model.length) assert.equal(q.pop(), model.pop());
  assert.equal(q.shift(), undefined);
});
