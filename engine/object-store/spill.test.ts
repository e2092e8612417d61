// Spilling against the contract: the store stays within objectStoreBytes by moving least recently used objects
// to spillDir; they come back intact on get (driver and workers); spill files are removed at shutdown.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, existsSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { init, ObjectStoreFullError, type ObjectRef } from "loom-dag";

const MiB = 2 ** 20;

test("putting 10x the store's capacity spills, and every object reads back intact", async () => {
  const spillDir = mkdtempSync(join(tmpdir(), "loom-spill-test-"));
  const rt = await init({ workers: 2, objectStoreBytes: 32 * MiB, spillDir });
  try {
    const spilled: unknown[] = [];
    rt.events.on("object:spilled", (e) => spilled.push(e));
    const refs: ObjectRef<Float64Array>[] = [];
    for (let i = 0; i < 40; i++) refs.push(rt.put(new Float64Array(MiB).fill(i))); // 40 x 8 MiB
    assert.ok(spilled.length >= 30, `most objects were spilled (${spilled.length})`);
    assert.ok(readdirSync(spillDir).length > 0, "spill files exist while objects are spilled");
    for (let i = 0; i < 40; i += 7) {
      const v = await rt.get(refs[i]);
      assert.equal(v.length, MiB, `object ${i} has its length`);
      assert.equal(v[0] + v[MiB - 1], 2 * i, `object ${i} reads back intact`);
    }
    const sum = rt.remote((a: Float64Array) => a[0] + a[a.length - 1]);
    const sums = await rt.get(refs.map((r) => sum.remote(r)));
    assert.deepEqual(sums, refs.map((_, i) => 2 * i), "workers read spilled objects too");
  } finally {
    await rt.shutdown();
  }
  assert.equal(existsSync(spillDir) ? readdirSync(spillDir).length : 0, 0, "spill files are removed at shutdown");
});

test("one object larger than the whole store is an ObjectStoreFullError", async () => {
  const rt = await init({ workers: 1, objectStoreBytes: 4 * MiB });
  try {
    assert.throws(() => rt.put(new Uint8Array(8 * MiB)), ObjectStoreFullError);
  } finally {
    await rt.shutdown();
  }
});

test("spill files left by a run that exited without shutdown are removed by the next start; a live run's stay", async () => {
  const spillDir = mkdtempSync(join(tmpdir(), "loom-spill-orphans-"));
  // A process that has exited: its pid is not alive (pids are not reused this quickly).
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  const deadPid = Number(dead.stdout);
  assert.ok(deadPid > 0, `got the exited process's pid (${dead.stdout})`);
  const orphan = `loom-spill-${deadPid}-7.bin`;
  const live = `loom-spill-${process.ppid}-8.bin`; // the test runner's own parent is alive
  const unrelated = "notes.txt";
  for (const name of [orphan, live, unrelated]) writeFileSync(join(spillDir, name), "x");
  const rt = await init({ workers: 1, objectStoreBytes: 8 * MiB, spillDir });
  try {
    const left = readdirSync(spillDir);
    assert.ok(!left.includes(orphan), "the dead run's spill file is removed");
    assert.ok(left.includes(live) && left.includes(unrelated), `a live run's file and other files stay (${left.join(", ")})`);
  } finally {
    await rt.shutdown();
  }
});
