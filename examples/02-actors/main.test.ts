// The example runs with its README's command and prints what it promises.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("02-actors: one of two orders for the last bolts wins, a named lookup restocks, a restart keeps the state", { timeout: 120_000 }, () => {
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  const run = spawnSync(process.execPath, ["--import", "tsx/esm", main], { encoding: "utf8", timeout: 110_000, env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(run.status, 0, `the example exited cleanly (stderr: ${run.stderr})`);
  const out = run.stdout;
  assert.equal(out.match(/6 × bolts: reserved/g)?.length, 1, `exactly one bolts order reserved:\n${out}`);
  assert.equal(out.match(/6 × bolts: out of stock/g)?.length, 1, `and the other refused:\n${out}`);
  assert.match(out, /nuts after restocking: 5/);
  const before = /before the crash: (.*)/.exec(out)?.[1];
  const after = /after the restart: (.*)/.exec(out)?.[1];
  assert.ok(before !== undefined && before === after, `the state after the restart equals the state before:\n${out}`);
});
