// Every variant computes the same estimate from a small sample.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Piscina } from "piscina";
import { Pool } from "../../engine/pool/index.js";
import { piscinaPi as piscinaOnLoomPi } from "./piscina-on-loom.js";
import { piscinaPi, tasks } from "./piscina.js";
import { poolPi } from "./pool.js";
import { serialPi } from "./serial.js";

const SAMPLES = 200_000;

test("serial, Pool, piscina and piscina-on-Loom agree on π", async () => {
  const serial = serialPi(SAMPLES);
  assert.ok(Math.abs(serial - Math.PI) < 0.02, `π ≈ ${serial}`);

  const pool = new Pool({ workers: 2 });
  const onLoom = new Pool({ filename: tasks, maxThreads: 2, minThreads: 2 });
  const piscina = new Piscina({ filename: tasks, maxThreads: 2, minThreads: 2 });
  try {
    assert.equal(await poolPi(pool, SAMPLES), serial);
    assert.equal(await piscinaOnLoomPi(onLoom, SAMPLES), serial);
    assert.equal(await piscinaPi(piscina, SAMPLES), serial);
  } finally {
    await Promise.all([pool.close(), onLoom.close(), piscina.destroy()]);
  }
});
