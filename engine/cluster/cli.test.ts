// The `loom` CLI as a user runs it (the built one, in dist/): start a head, read its status, stop it; usage
// errors; and a node that the head declared dead while it was stopped exits with code 3 when it resumes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { init } from "loom-dag";
import { Cluster } from "loom-dag/testing";
import type * as SpillTasks from "./test-fixtures/spill-tasks.js";

const root = path.dirname(createRequire(import.meta.url).resolve("loom-dag/package.json"));
const CLI = path.join(root, "dist/engine/cluster/cli.js");

interface Ready { loom: string; role: string; nodeId: string | null; address: string | null; headAddress: string; pid: number }

function env(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, LOOM_HOME: home, LOOM_EXIT_WITH_PARENT: "1", ...extra };
  if (!("LOOM_TOKEN" in extra)) delete e.LOOM_TOKEN;
  delete e.LOOM_ADDRESS;
  return e;
}

/** Starts a long-running `loom start ...`; resolves with its ready line. */
function startLoom(home: string, args: string[], children: ChildProcess[], extra: Record<string, string> = {}): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: env(home, extra), stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 20 s: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const ready = JSON.parse(line) as Ready;
        if (ready.loom === "ready") { clearTimeout(timer); resolve({ child, ready }); }
      } catch { /* a log line */ }
    });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`exited ${String(code)} before ready: ${stderr}`)); });
  });
}

/** Runs a short `loom ...` to its end. */
function runLoom(home: string, args: string[], extra: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: env(home, extra), timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function exitOf(child: ChildProcess, within = 20_000): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} still running after ${within} ms`)), within);
    child.once("exit", (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
  });
}

async function withHome(body: (home: string, children: ChildProcess[]) => Promise<void>): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "loom-cli-test-"));
  const children: ChildProcess[] = [];
  try {
    await body(home, children);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await Promise.all(children.map((c) => exitOf(c).catch(() => {})));
    fs.rmSync(home, { recursive: true, force: true });
  }
}

test("loom start --head, then status, then stop", { timeout: 90_000 }, async () => {
  await withHome(async (home, children) => {
    const { child, ready } = await startLoom(home, ["start", "--head", "--port", "0", "--workers", "1", "--resources", '{"nodeA":2}'], children);
    assert.equal(ready.role, "head");
    assert.match(ready.nodeId!, /^[0-9a-f]{16}$/);
    assert.equal(ready.pid, child.pid);
    // The token is private to its owner; the address file names the head.
    assert.equal(fs.statSync(home).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(home, "token")).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(path.join(home, "token"), "utf8"), /^[0-9a-f]{64}\n$/);
    assert.equal(fs.readFileSync(path.join(home, "address"), "utf8").trim(), ready.headAddress);
    assert.deepEqual(fs.readdirSync(path.join(home, "pids")), [String(child.pid)]);

    const status = await runLoom(home, ["status"]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`head ${ready.headAddress.replace(/\./g, "\\.")}: 1 alive, 0 dead`));
    assert.match(status.stdout, new RegExp(`${ready.nodeId}\\s+${ready.address!.replace(/\./g, "\\.")}\\s+alive\\s+head\\s+1\\s+${child.pid}\\s+(\\d+|-)\\s+(\\d+|-)\\s+(\\d+|-)\\s+cpu 1/1, nodeA 2/2`));
    const wrong = await runLoom(home, ["status", "--token", "wrong"]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /refused our token/);

    const stopped = await runLoom(home, ["stop"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /stopped 1 process\b/);
    assert.deepEqual(await exitOf(child), { code: 0, signal: null });
    assert.deepEqual(fs.readdirSync(path.join(home, "pids")), []);
    assert.match((await runLoom(home, ["stop"])).stdout, /stopped 0 processes/);
  });
});

test("usage errors exit 2 with a message", { timeout: 60_000 }, async () => {
  await withHome(async (home) => {
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [["start"], /needs --head .* or --address/],
      [["start", "--head", "--address", "127.0.0.1:1"], /either --head or --address/],
      [["start", "--address", "127.0.0.1:1", "--redis", "redis://127.0.0.1:6379"], /--redis is the head's setting/],
      [["start", "--head", "--redis-prefix", "a"], /--redis-prefix needs --redis/],
      [["start", "--head", "--redis", "127.0.0.1:6379"], /--redis must be a URL redis:\/\/HOST:PORT/],
      [["start", "--head", "--workers", "two"], /--workers must be an integer/],
      [["start", "--address", "127.0.0.1:1", "--workers", "0"], /--workers must be an integer from 1/],
      [["start", "--head", "--resources", "{nope"], /--resources is not JSON/],
      [["start", "--head", "--resources", '{"gpu":-1}'], /--resources\.gpu/],
      [["start", "--address", "nowhere"], /is not host:port/],
      [["start", "--address", "127.0.0.1:1", "--bind", "0.0.0.0"], /--bind 0\.0\.0\.0 listens beyond this machine, and there is no token/],
      [["start", "--head", "--frobnicate"], /Unknown option '--frobnicate'/],
      [["frob"], /unknown command "frob"/],
      [["status"], /no head address/],
    ];
    for (const [args, message, extra] of cases) {
      const r = await runLoom(home, args, extra);
      assert.equal(r.code, 2, `loom ${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, `loom ${args.join(" ")}`);
    }
  });
});

test("a node the head declared dead while it was stopped is refused when it resumes, and exits 3", { timeout: 90_000 }, async () => {
  await withHome(async (home, children) => {
    const head = await startLoom(home, ["start", "--head", "--port", "0", "--workers", "0", "--node-timeout-ms", "400"], children);
    assert.equal(head.ready.nodeId, null, "a head with no workers is not a node");
    const node = await startLoom(home, ["start", "--address", head.ready.headAddress, "--workers", "1"], children);
    const status = await runLoom(home, ["status"]);
    assert.match(status.stdout, new RegExp(`${node.ready.nodeId}.*alive\\s+node`));
    node.child.kill("SIGSTOP"); // a machine that stalls
    try {
      const deadline = Date.now() + 10_000;
      while (!new RegExp(`${node.ready.nodeId}.*dead`).test((await runLoom(home, ["status"])).stdout)) {
        assert.ok(Date.now() < deadline, "the stalled node was never declared dead");
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      node.child.kill("SIGCONT");
    }
    const exit = await exitOf(node.child);
    assert.deepEqual(exit, { code: 3, signal: null });
    // A restarted process joins as a new node.
    const again = await startLoom(home, ["start", "--address", head.ready.headAddress, "--workers", "1"], children);
    assert.notEqual(again.ready.nodeId, node.ready.nodeId);
  });
});

test("loom status shows each node's tasks (queued, running) and actors, as its heartbeats count them", { timeout: 90_000 }, async () => {
  const cluster = await Cluster.start({ head: { workers: 1 }, nodeTimeoutMs: 1_000 });
  const rt = await init({ address: cluster.address });
  try {
    const m = await rt.module<typeof SpillTasks>(new URL("./test-fixtures/spill-tasks.ts", import.meta.url));
    const tally = m.Tally.remote();
    assert.equal(await rt.get(tally.add.remote(1)), 1);
    // The head's node has one worker: one task runs, the other waits for it.
    const slow = [m.slowly.remote(20_000, 1), m.slowly.remote(20_000, 2)];
    const want = /tasks: 1 running, 1 queued; actors: 1 alive/;
    let status = "";
    const deadline = Date.now() + 15_000;
    while (!want.test(status = (await runLoom(cluster.home, ["status"])).stdout)) {
      assert.ok(Date.now() < deadline, `loom status never counted the work; last:\n${status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The head's node's row: 1 queued, 1 running, 1 actor; the driver's reports none.
    assert.match(status, new RegExp(`${cluster.head.nodeId}.*alive\\s+head\\s+1\\s+${cluster.head.pid}\\s+1\\s+1\\s+1\\s+cpu`));
    assert.match(status, /alive\s+driver\s+0\s+\d+\s+-\s+-\s+-/);
    for (const ref of slow) rt.cancel(ref, { force: true });
  } finally {
    await rt.shutdown();
    await cluster.shutdown();
  }
});
