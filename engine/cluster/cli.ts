#!/usr/bin/env node
// `loom`: start a head or a node in the foreground, show the cluster's nodes, stop this machine's Loom processes.
// It parses arguments and reports; the process itself is node-process.ts, the wire and the head are elsewhere.
import fs from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { checkResources } from "../options.js";
import type { Resources } from "../options.js";
import { fetchNodes } from "./head-client.js";
import { DEFAULT_NODE_TIMEOUT_MS } from "./head.js";
import { forgetPid, readHeadAddress, readPids, readToken, type PidRecord } from "./loom-home.js";
import { EXIT_USAGE, runLoomProcess, UsageError } from "./node-process.js";
import { parseAddress } from "./wire.js";

const USAGE = `usage:
  loom start --head [--port 6380] [--workers N] [--resources JSON] [--bind 127.0.0.1] [--token T] [--node-timeout-ms N]
                    [--redis redis://HOST:PORT [--redis-prefix NAME]] [--dashboard-port 8265]
  loom start --address HEAD_HOST:PORT [--workers N] [--resources JSON] [--bind 127.0.0.1] [--token T]
  loom status [--address HOST:PORT] [--token T]
  loom stop

Processes run in the foreground (append & to background them). The token comes from --token, LOOM_TOKEN, or
$LOOM_HOME/token (default ~/.loom/token), which 'loom start --head' writes. With --redis the head keeps its
tables in Redis (keys under the hash tag {NAME}, default {loom}): a head restarted with the same --redis takes
the cluster back.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start": return start(rest);
    case "status": return status(rest);
    case "stop": return stop(rest);
    case undefined: case "help": case "--help": case "-h":
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? EXIT_USAGE : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

function parse(args: string[], options: Record<string, { type: "string" | "boolean" }>) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function start(args: string[]): Promise<number> {
  const v = parse(args, {
    head: { type: "boolean" }, address: { type: "string" }, port: { type: "string" }, workers: { type: "string" },
    resources: { type: "string" }, bind: { type: "string" }, token: { type: "string" },
    "node-timeout-ms": { type: "string" }, redis: { type: "string" }, "redis-prefix": { type: "string" },
    "dashboard-port": { type: "string" },
  });
  if (v.head === true && v.address !== undefined) throw new UsageError("give either --head or --address, not both");
  if (v.head !== true && v.address === undefined) throw new UsageError("loom start needs --head (start a cluster) or --address HEAD_HOST:PORT (join one)");
  const isHead = v.head === true;
  if (!isHead && v.port !== undefined) throw new UsageError("--port is the head's; a node's work server takes a free port");
  if (!isHead && v["node-timeout-ms"] !== undefined) throw new UsageError("--node-timeout-ms is the head's setting");
  if (!isHead && v["dashboard-port"] !== undefined) throw new UsageError("--dashboard-port is the head's: the head serves the cluster's dashboard");
  if (!isHead && (v.redis !== undefined || v["redis-prefix"] !== undefined)) throw new UsageError("--redis is the head's setting: nodes reach the cluster through the head");
  if (v["redis-prefix"] !== undefined && v.redis === undefined) throw new UsageError("--redis-prefix needs --redis");
  if (v.redis !== undefined && !/^rediss?:\/\/[^\s]+$/.test(String(v.redis))) throw new UsageError(`--redis must be a URL redis://HOST:PORT (or rediss:// for TLS), got ${String(v.redis)}`);
  const workers = v.workers === undefined ? os.availableParallelism() : integer("--workers", v.workers, isHead ? 0 : 1);
  let resources: Resources = {};
  if (v.resources !== undefined) {
    let parsed: unknown;
    try { parsed = JSON.parse(String(v.resources)); } catch { throw new UsageError(`--resources is not JSON: ${String(v.resources)}`); }
    try { resources = checkResources("--resources", parsed); } catch (e) { throw new UsageError((e as Error).message); }
  }
  // A head's token is new unless given outright; a node reads the head's from LOOM_TOKEN or the token file.
  const token = stringOr(v.token) ?? (isHead ? stringOr(process.env.LOOM_TOKEN) : readToken());
  if (!isHead) parseAddressOrUsage(String(v.address));
  await runLoomProcess({
    role: isHead ? "head" : "node",
    headAddress: isHead ? undefined : String(v.address),
    port: isHead ? (v.port === undefined ? 6380 : integer("--port", v.port, 0, 65535)) : 0,
    bind: stringOr(v.bind) ?? "127.0.0.1",
    workers, resources, token,
    nodeTimeoutMs: v["node-timeout-ms"] === undefined ? DEFAULT_NODE_TIMEOUT_MS : integer("--node-timeout-ms", v["node-timeout-ms"], 10),
    redis: stringOr(v.redis), redisPrefix: stringOr(v["redis-prefix"]),
    dashboardPort: v["dashboard-port"] === undefined ? 8265 : integer("--dashboard-port", v["dashboard-port"], 0, 65535),
  });
  return -1; // keeps running
}

async function status(args: string[]): Promise<number> {
  const v = parse(args, { address: { type: "string" }, token: { type: "string" } });
  const address = stringOr(v.address) ?? stringOr(process.env.LOOM_ADDRESS) ?? readHeadAddress();
  if (address === undefined) throw new UsageError("no head address: give --address, set LOOM_ADDRESS, or start a head on this machine");
  parseAddressOrUsage(address);
  const nodes = await fetchNodes({ address, token: stringOr(v.token) ?? readToken(), timeoutMs: 5_000 });
  const alive = nodes.filter((n) => n.state === "alive");
  const lines = [`head ${address}: ${alive.length} alive, ${nodes.length - alive.length} dead`];
  // Tasks and actors as each node's last beat counted them ("-" for a dead node, a driver, or before its first beat).
  const rows = nodes.map((n) => [
    n.nodeId, n.address, n.state, n.isHead ? "head" : n.isDriver ? "driver" : "node", String(n.workers), String(n.pid),
    n.load ? String(n.load.queued) : "-", n.load ? String(n.load.running) : "-", n.load ? String(n.load.actors) : "-",
    Object.keys(n.resources).sort().map((k) => `${k} ${n.available[k] ?? 0}/${n.resources[k]}`).join(", "),
  ]);
  const running = alive.reduce((sum, n) => sum + (n.load?.running ?? 0), 0);
  const queued = alive.reduce((sum, n) => sum + (n.load?.queued ?? 0), 0);
  const actors = alive.reduce((sum, n) => sum + (n.load?.actors ?? 0), 0);
  lines.push(`tasks: ${running} running, ${queued} queued; actors: ${actors} alive`);
  lines.push(...table([["NODE", "ADDRESS", "STATE", "ROLE", "WORKERS", "PID", "QUEUED", "RUNNING", "ACTORS", "RESOURCES (available/total)"], ...rows]));
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

/** Stops the processes this machine's Loom home recorded: nodes first (they tell the head they leave), then heads. */
async function stop(args: string[]): Promise<number> {
  parse(args, {});
  const records = readPids();
  let stopped = 0;
  for (const group of [records.filter((r) => r.role === "node"), records.filter((r) => r.role === "head")]) {
    const live = group.filter((r) => { const ok = isOurs(r); if (!ok) forgetPid(r.pid); return ok; });
    for (const r of live) signal(r.pid, "SIGTERM");
    // A draining node finishes what it runs: it gets a while before it is killed outright.
    const deadline = Date.now() + 30_000;
    while (live.some((r) => alive(r.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const r of live) {
      if (alive(r.pid)) { signal(r.pid, "SIGKILL"); process.stderr.write(`loom stop: ${r.role} ${r.pid} did not stop within 30 s; killed\n`); }
      forgetPid(r.pid);
      stopped++;
    }
  }
  process.stdout.write(`loom stop: stopped ${stopped} process${stopped === 1 ? "" : "es"}\n`);
  return 0;
}

/** Alive, and (where /proc tells) a Loom process started after the record: a recycled pid is left alone. */
function isOurs(r: PidRecord): boolean {
  if (!alive(r.pid)) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${r.pid}/cmdline`, "utf8");
    return cmdline.includes("start") && /cli\.(js|ts)/.test(cmdline);
  } catch {
    return true; // no /proc (macOS): the record is all we have
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* gone meanwhile */ }
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "));
}

function integer(flag: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ""}, got ${String(value)}`);
  return n;
}

function stringOr(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function parseAddressOrUsage(address: string): void {
  try { parseAddress(address); } catch (e) { throw new UsageError((e as Error).message); }
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code;
}, (e: Error) => {
  const usage = e instanceof UsageError;
  process.stderr.write(`loom: ${e.message}${usage ? `\n\n${USAGE}` : ""}\n`);
  process.exit(usage ? EXIT_USAGE : 1);
});
