// The example runs with its README's command and prints what it promises.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("08-streaming: chunks stream to stats tasks; every chunk is summarised", { timeout: 120_000 }, () => {
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  const run = spawnSync(process.execPath, ["--import", "tsx/esm", main], { encoding: "utf8", timeout: 110_000, env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(run.status, 0, `the example exited cleanly (stderr: ${run.stderr})`);
  const out = run.stdout;
  assert.match(out, /first chunk after \d+ ms/);
  for (let i = 0; i < 8; i++) assert.match(out, new RegExp(`chunk ${i}: min \\d+\\.\\d+, max \\d+\\.\\d+, mean 2\\d\\.\\d{3}`));
  assert.match(out, /8 chunks summarised in \d+ ms/);
});
