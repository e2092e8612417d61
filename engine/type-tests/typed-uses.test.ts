// Runs `tsc --strict` over typed-uses.ts against the package's shipped declarations (dist/*.d.ts, as a user's
// project sees them): tuple refs from numReturns, element types through get and wait, rejected options.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("typed uses of the public API type-check under tsc --strict, and the misuses in them do not", { timeout: 180_000 }, () => {
  const tsc = fileURLToPath(new URL("../../node_modules/typescript/bin/tsc", import.meta.url));
  const project = fileURLToPath(new URL(".", import.meta.url));
  const run = spawnSync(process.execPath, [tsc, "-p", project], { encoding: "utf8", timeout: 170_000 });
  assert.equal(run.status, 0, `tsc reported:\n${run.stdout}${run.stderr}`);
});
