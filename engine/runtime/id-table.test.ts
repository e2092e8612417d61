// IdTable against a plain Map: dense ids (chunks), sparse ids (nested tasks, other returns), deletes that
// empty a chunk and later re-fill it, and the size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { IdTable } from "./id-table.js";

test("IdTable answers like a Map for dense, strided and sparse ids, through deletes that empty chunks", () => {
  const table = new IdTable<{ v: number }>(64);
  const model = new Map<number, { v: number }>();
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const ids: number[] = [];
  for (let t = 1; t <= 3000; t++) ids.push(t * 64);                  // first returns of driver tasks: dense
  for (let t = 1; t <= 200; t++) ids.push(t * 64 + 1 + (t % 5));      // other returns: sparse
  for (let k = 0; k < 200; k++) ids.push((2 ** 45 + next() * 4096) * 64); // nested task ids: beyond the dense range
  for (let step = 0; step < 20_000; step++) {
    const id = ids[next() % ids.length]!;
    const op = next() % 3;
    if (op === 0) {
      const value = { v: step };
      table.set(id, value);
      model.set(id, value);
    } else if (op === 1) {
      assert.equal(table.delete(id), model.delete(id), `delete(${id}) at step ${step}`);
    } else {
      assert.equal(table.get(id), model.get(id), `get(${id}) at step ${step}`);
      assert.equal(table.has(id), model.has(id), `has(${id}) at step ${step}`);
    }
    assert.equal(table.size, model.size, `size at step ${step}`);
  }
  assert.deepEqual(new Set(table.values()), new Set(model.values()), "values() lists every entry once");
  for (const id of ids) table.delete(id);
  assert.equal(table.size, 0, "every entry deleted");
  assert.equal(table.get(64), undefined, "a deleted dense id is gone");
  const again = { v: -1 };
  table.set(64, again);
  assert.equal(table.get(64), again, "a chunk emptied and dropped is made again on the next insert");
});
