// The example runs with its README's command and prints what it promises.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("06-error-handling: the user's class, its fields and cause, the stack, dependents, retries", { timeout: 120_000 }, () => {
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  const run = spawnSync(process.execPath, ["--import", "tsx/esm", main], { encoding: "utf8", timeout: 110_000, env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(run.status, 0, `the example exited cleanly (stderr: ${run.stderr})`);
  const out = run.stdout;
  assert.match(out, /alice pays 100, keeps 20/);
  assert.match(out, /caught InsufficientFunds: bob has 15, wanted 40/);
  assert.match(out, /a TaskError too: true, task pay/);
  assert.match(out, /its cause chain: RangeError: limit 15 exceeded/);
  assert.match(out, /at pay \(.*bank\.ts:\d+:\d+\)\n.*main\.ts:\d+:\d+/, `the remote frame, then the caller's:\n${out}`);
  assert.match(out, /dependent task: failed with InsufficientFunds/);
  assert.match(out, /1 USD = 0\.92 EUR/);
});
