// The example runs with its README's command and prints what it promises.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("03-wait-and-cancel: the first search wins, the other two are cancelled, the pool still runs tasks", { timeout: 120_000 }, () => {
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  const started = Date.now();
  const run = spawnSync(process.execPath, ["--import", "tsx/esm", main], { encoding: "utf8", timeout: 110_000, env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(run.status, 0, `the example exited cleanly (stderr: ${run.stderr})`);
  const out = run.stdout;
  assert.match(out, /first result: 2000000; still running: 2/);
  assert.equal(out.match(/: cancelled/g)?.length, 2, `both others were cancelled:\n${out}`);
  assert.match(out, /a new task after the cancels: ran/);
  assert.ok(Date.now() - started < 55_000, "the one-minute stubborn search did not hold the run up");
});
