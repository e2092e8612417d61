// Tests written for piscina, kept as piscina code: the suite takes the pool class
// in place of its `import Piscina from "piscina"` line, so piscina-style.test.ts
// runs it unchanged against piscina itself and against loom/pool.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";

/** The part of piscina's class the suite uses. */
export interface PiscinaLike {
  run(task: any, options?: any): Promise<any>;
  close(): Promise<void>;
  destroy(): Promise<void>;
  readonly maxThreads: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- piscina and Pool type their options differently
export type PiscinaClass = new (options: any) => PiscinaLike;

const worker = new URL("./test-fixtures/worker.ts", import.meta.url).href;
const other = new URL("./test-fixtures/other.ts", import.meta.url).href;

export function piscinaStyleSuite(label: string, Piscina: PiscinaClass): void {
  test(`[${label}] run calls the default export, and named exports by name`, async () => {
    const pool = new Piscina({ filename: worker, maxThreads: 2, minThreads: 1, idleTimeout: 1000 });
    try {
      assert.equal(pool.maxThreads, 2);
      assert.equal(await pool.run(21), 42);
      assert.equal(await pool.run({ a: 1, b: 2 }, { name: "add" }), 3);
      assert.equal(await pool.run({ a: 2, b: 3, ms: 5 }, { name: "addLater" }), 5);
    } finally {
      await pool.destroy();
    }
  });

  test(`[${label}] the name option picks the export; filename may be a path; run may name another file`, async () => {
    const pool = new Piscina({ filename: fileURLToPath(worker), name: "square", maxThreads: 2 });
    try {
      assert.equal(await pool.run(7), 49);
      assert.equal(await pool.run(7, { filename: other, name: "default" }), -7);
    } finally {
      await pool.destroy();
    }
  });

  test(`[${label}] many tasks at once all resolve, with typed arrays as tasks`, async () => {
    const pool = new Piscina({ filename: worker, maxThreads: 2 });
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.run(i)));
      assert.deepEqual(results, Array.from({ length: 40 }, (_, i) => i * 2));
      assert.equal(await pool.run(new Float64Array([1, 2, 3.5]), { name: "sum" }), 6.5);
    } finally {
      await pool.destroy();
    }
  });

  test(`[${label}] a throwing task rejects its promise; the pool keeps working`, async () => {
    const pool = new Piscina({ filename: worker, maxThreads: 2 });
    try {
      await assert.rejects(pool.run("boom", { name: "fail" }), /boom/);
      assert.equal(await pool.run(1), 2);
    } finally {
      await pool.destroy();
    }
  });

  test(`[${label}] an AbortSignal cancels a running task; an aborted one never runs`, async () => {
    const pool = new Piscina({ filename: worker, maxThreads: 2 });
    try {
      const ac = new AbortController();
      const started = Date.now();
      const running = pool.run(20_000, { name: "spin", signal: ac.signal });
      setTimeout(() => ac.abort(), 200);
      await assert.rejects(running, /The task has been aborted/);
      assert.ok(Date.now() - started < 10_000, "the abort stopped the task");

      await assert.rejects(pool.run(1, { signal: AbortSignal.abort() }), /The task has been aborted/);

      const ee = new EventEmitter();
      const viaEmitter = pool.run(20_000, { name: "spin", signal: ee });
      setTimeout(() => ee.emit("abort"), 100);
      await assert.rejects(viaEmitter, /The task has been aborted/);

      assert.equal(await pool.run(4), 8, "the pool still works after aborts");
    } finally {
      await pool.destroy();
    }
  });
}
