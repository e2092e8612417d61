// What a user gets from `npm pack`: the tarball installs into a fresh project with one `npm install` (the
// tarball itself is local; its dependencies come from npm's cache or the registry) and runs with plain node
// on .mjs task modules, with tsx on .ts ones, and passes a strict tsc check of a TypeScript consumer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const consumerFixture = fileURLToPath(new URL("./consumer/", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
// The child processes get no loader of ours: a user's `node main.mjs` has none.
const env = { ...process.env, NODE_OPTIONS: "", npm_config_loglevel: "error", npm_config_fund: "false", npm_config_audit: "false" };

function run(cmd: string, args: string[], cwd: string, timeout: number): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout });
}

function explain(r: SpawnSyncReturns<string>): string {
  return `exit ${r.status} signal ${r.signal}\nstdout: ${r.stdout?.slice(-3000)}\nstderr: ${r.stderr?.slice(-3000)}`;
}

test("npm pack gives a tarball that installs into a fresh project and runs with node, tsx and a strict tsc", { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "loom-pack-"));
  try {
    // 1. Pack as a publish would: npm runs the build (the WebAssembly core and tsc) before packing.
    const packed = run(npm, ["pack", "--pack-destination", dir], repo, 300_000);
    assert.equal(packed.status, 0, `npm pack succeeded: ${explain(packed)}`);
    const tarballs = readdirSync(dir).filter((f) => f.endsWith(".tgz"));
    assert.equal(tarballs.length, 1, `one tarball in ${dir}: ${tarballs.join(", ")}`);
    const tarball = join(dir, tarballs[0]!);
    const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n");
    for (const file of ["package/LICENSE", "package/build/core.wasm", "package/dist/engine/index.js", "package/dist/engine/index.d.ts", "package/dist/engine/pool/index.d.ts", "package/dist/props/testing/index.js"]) {
      assert.ok(listing.includes(file), `the tarball holds ${file}`);
    }
    // Sources stay out, except the dashboard's page (static files the dashboard serves, no build step).
    const strays = listing.filter((f) => /\.test\.|test-fixtures|\.map$|^package\/(engine|core-wasm\/assembly|bench|props\/models)\//.test(f) &&
      !/^package\/engine\/dashboard\/page\/[\w-]+\.(html|js|css)$/.test(f));
    assert.deepEqual(strays, [], "no tests, fixtures, source maps or sources in the tarball");

    // 2. A fresh project: one npm install of the tarball (plus @types/node, which any TypeScript user has).
    const app = join(dir, "app");
    cpSync(consumerFixture, app, { recursive: true });
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "loom-consumer", private: true, type: "module" }));
    const installed = run(npm, ["install", "--prefer-offline", "--no-package-lock", tarball, "@types/node@20"], app, 300_000);
    assert.equal(installed.status, 0, `npm install of the tarball succeeded: ${explain(installed)}`);
    assert.ok(existsSync(join(app, "node_modules/loom-dag/build/core.wasm")), "the built core came with the package (nothing built on install)");

    // 3. Plain node on .mjs modules (tasks, a nested task through current(), an actor, an inline function), and
    //    on a .ts module, which Loom loads through the tsx that came with it.
    const plain = run(process.execPath, ["main.mjs"], app, 120_000);
    assert.equal(plain.status, 0, `node main.mjs exited cleanly: ${explain(plain)}`);
    const out = JSON.parse(plain.stdout) as { sum: number; squares: number; count: number; fromTs: number; inTask: string; inDriver: string };
    assert.deepEqual([out.sum, out.squares, out.count, out.fromTs], [6, 30, 16, 8], "add, nested squares, the actor's count, a .ts module's nested task");
    const installedEntry = pathToFileURL(join(app, "node_modules/loom-dag/dist/engine/index.js")).href;
    assert.equal(out.inDriver, installedEntry, "the driver loads the installed copy");
    assert.equal(out.inTask, installedEntry, "a task module's import of loom-dag resolves to the copy the worker runs");

    // 4. tsx on .ts modules (tsx comes with loom-dag), and a strict type check of the same consumer.
    const ts = run(process.execPath, ["--import", "tsx/esm", "main.ts"], app, 120_000);
    assert.equal(ts.status, 0, `node --import tsx/esm main.ts exited cleanly: ${explain(ts)}`);
    assert.deepEqual(JSON.parse(ts.stdout), {
      total: 6, nested: 10, both: [42, "#21"], readyValues: [42, "#21"], balance: 120, caught: "InsufficientFunds:5",
    }, "the TypeScript consumer's results");
    const tsc = run(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", "."], app, 180_000);
    assert.equal(tsc.status, 0, `tsc --strict over the consumer and loom-dag's .d.ts passed: ${explain(tsc)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
