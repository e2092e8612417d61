// Task and actor modules may be plain JavaScript (.mjs, .js) as well as TypeScript, and a driver may run under
// plain `node` with no loader: both must work in workers (SPEC, "Package and entry points").
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("a plain .mjs driver under node with no loader runs tasks, nested tasks, an actor and an inline function from a .mjs module", () => {
  const driver = fileURLToPath(new URL("../test-fixtures/plain-driver.mjs", import.meta.url));
  // No --import and no NODE_OPTIONS: neither the driver nor its workers get a TypeScript loader.
  const run = spawnSync(process.execPath, [driver], { encoding: "utf8", timeout: 60_000, env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(run.status, 0, `the driver exited cleanly (stderr: ${run.stderr})`);
  assert.deepEqual(JSON.parse(run.stdout), [3, 6, 15, 42], "add, a nested add, the actor's state, the inline function");
});
