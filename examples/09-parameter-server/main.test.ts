// The example runs with its README's command and prints what it promises.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("09-parameter-server: every update lands and the weights converge", { timeout: 120_000 }, () => {
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  const run = spawnSync(process.execPath, ["--import", "tsx/esm", main], { encoding: "utf8", timeout: 110_000, env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(run.status, 0, `the example exited cleanly (stderr: ${run.stderr})`);
  assert.match(run.stdout, /updates applied: 240 \(4 trainers × 60 steps\)/);
  const w = /weights: w0 (-?\d+\.\d+), w1 (-?\d+\.\d+), bias (-?\d+\.\d+)/.exec(run.stdout);
  assert.ok(w, run.stdout);
  assert.ok(Math.abs(Number(w[1]) - 3) < 0.05 && Math.abs(Number(w[2]) + 2) < 0.05 && Math.abs(Number(w[3]) - 0.5) < 0.05, `converged: ${w[0]}`);
});
