// A cluster of real Loom processes on 127.0.0.1 for tests, as Ray's cluster_utils.Cluster: a head and nodes
// started through the `loom` CLI on free ports, in a private LOOM_HOME, and with `redis: true` a redis-server
// for the head's tables. It owns those processes only: each is killed at shutdown, and exits by itself when
// this process dies (its stdin, held here, closes; redis-server's watchdog kills it).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { LoomError } from "../../engine/errors.js";
import type { Resources } from "../../engine/options.js";
import { RedisServer } from "./redis-server.js";

export interface ClusterNodeOptions {
  /** Worker threads of the node (default 1; the head's may be 0: then it runs no node). */
  workers?: number;
  /** Custom resources the node offers (`cpu` defaults to its worker count). */
  resources?: Resources;
}

export interface ClusterOptions {
  head?: ClusterNodeOptions;
  nodes?: ClusterNodeOptions[];
  /** How long the head waits for a silent node before declaring it dead (default 2000 ms). */
  nodeTimeoutMs?: number;
  /**
   * Keep the head's tables in a redis-server (from PATH) started for this cluster on a free port, with its
   * append-only file in the cluster's home: then restartHead() (and restartRedis()) keep the cluster.
   */
  redis?: boolean;
  /** Copy the processes' stderr (their logs) to this process's stderr (default false; it is kept for errors). */
  log?: boolean;
}

/** One process of the cluster. `nodeId` is "" for a head started with no workers (it is not a node then). */
export interface ClusterProcess {
  nodeId: string;
  pid: number;
  /** Its work server's host:port ("" for a head with no workers). */
  address: string;
}

/** The ready line a Loom process prints once it serves. */
interface ReadyLine { loom: "ready"; role: string; nodeId: string | null; address: string | null; headAddress: string; pid: number; dashboardUrl?: string | null }

const READY_TIMEOUT_MS = 30_000;

/** Every child of every cluster in this process, killed if the process exits without shutting them down. */
const everyChild = new Set<ChildProcess>();
let exitHookInstalled = false;
/** Clusters that rely on the LOOM_TOKEN this module set; it is restored when the last one shuts down. */
let tokenUsers = 0;
let tokenBefore: { set: boolean; value: string | undefined } | undefined;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => { for (const c of everyChild) { try { c.kill("SIGKILL"); } catch { /* gone */ } } });
}

export class Cluster {
  /** The head's host:port, for `init({ address })`. */
  readonly address: string;
  /** The cluster's private Loom home (token, head address, pids); removed at shutdown. */
  readonly home: string;
  /** The cluster token. Cluster.start puts it in process.env.LOOM_TOKEN when unset, so `init` finds it. */
  readonly token: string;
  /** The redis-server's URL (`redis: true`), else undefined. */
  readonly redisUrl: string | undefined;
  /** Ours, beyond SPEC: where the head serves the cluster's dashboard (a free port), if it has workers. */
  dashboardUrl: string | undefined;
  /** The nodes started and not removed, the head excluded. */
  readonly nodes: ClusterProcess[] = [];
  private readonly children = new Map<number, ChildProcess>();
  private closed = false;
  private headProcess: ClusterProcess;

  private constructor(home: string, token: string, private readonly options: ClusterOptions, head: ClusterProcess, headChild: ChildProcess, address: string, private readonly redis: RedisServer | undefined) {
    this.home = home;
    this.token = token;
    this.headProcess = head;
    this.address = address;
    this.redisUrl = redis?.url;
    this.children.set(head.pid, headChild);
  }

  /** The head's process (a new one after restartHead()). */
  get head(): ClusterProcess {
    return this.headProcess;
  }

  /**
   * Starts a head (with `head.workers`, default 1) and `nodes`, each a process; resolves when all are registered.
   * @example const cluster = await Cluster.start({ head: { workers: 1 }, nodes: [{ workers: 1, resources: { nodeA: 1 } }] });
   */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 2_000;
    if (!Number.isInteger(nodeTimeoutMs) || nodeTimeoutMs < 10) throw new LoomError(`Cluster.start: nodeTimeoutMs must be an integer >= 10, got ${String(options.nodeTimeoutMs)}`);
    installExitHook();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "loom-cluster-"));
    // One token per test process: a second cluster reuses it, so that init() finds the right one for either.
    const token = takeToken();
    let headChild: ChildProcess | undefined;
    let redis: RedisServer | undefined;
    try {
      if (options.redis) {
        const dir = path.join(home, "redis");
        fs.mkdirSync(dir);
        redis = await RedisServer.start({ dir, log: options.log === true });
      }
      const { child, ready } = spawnLoom(home, token, headArgs(options, nodeTimeoutMs, 0, redis), options.log === true);
      headChild = child;
      const line = await ready;
      const cluster = new Cluster(home, token, { ...options, nodeTimeoutMs }, { nodeId: line.nodeId ?? "", pid: line.pid, address: line.address ?? "" }, child, line.headAddress, redis);
      cluster.dashboardUrl = line.dashboardUrl ?? undefined;
      try {
        // Started together, they register in any order: `nodes` lists them in the order they were asked for.
        const started = await Promise.all((options.nodes ?? []).map((spec) => cluster.addNode(spec)));
        cluster.nodes.splice(0, cluster.nodes.length, ...started);
      } catch (e) {
        await cluster.shutdown();
        throw e;
      }
      return cluster;
    } catch (e) {
      if (headChild && headChild.exitCode === null) { headChild.kill("SIGKILL"); await exited(headChild); }
      await redis?.stop();
      fs.rmSync(home, { recursive: true, force: true });
      releaseToken();
      throw e;
    }
  }

  /** Starts a node process; resolves once the head has registered it. */
  async addNode(spec: ClusterNodeOptions = {}): Promise<ClusterProcess> {
    if (this.closed) throw new LoomError("the cluster has been shut down");
    const workers = spec.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) throw new LoomError(`addNode: workers must be an integer >= 1, got ${String(spec.workers)}`);
    const { child, ready } = spawnLoom(this.home, this.token, [
      "start", "--address", this.address, "--workers", String(workers), "--resources", JSON.stringify(spec.resources ?? {}),
    ], this.options.log === true);
    this.children.set(child.pid!, child);
    try {
      const line = await ready;
      const node = { nodeId: line.nodeId!, pid: line.pid, address: line.address! };
      this.nodes.push(node);
      return node;
    } catch (e) {
      this.children.delete(child.pid!);
      if (child.exitCode === null) { child.kill("SIGKILL"); await exited(child); }
      throw e;
    }
  }

  /**
   * Stops a node: `graceful: false` SIGKILLs it, as a machine lost (the head declares it dead after
   * nodeTimeoutMs); otherwise SIGTERM, and the node drains and leaves. Resolves once the process is gone.
   */
  async removeNode(node: ClusterProcess, options: { graceful?: boolean } = {}): Promise<void> {
    const child = this.children.get(node.pid);
    if (!child) throw new LoomError(`removeNode: process ${node.pid} is not a live node of this cluster`);
    if (node.pid === this.head.pid) throw new LoomError("removeNode: that is the head; use shutdown()");
    child.kill(options.graceful === false ? "SIGKILL" : "SIGTERM");
    await exited(child);
    this.children.delete(node.pid);
    const i = this.nodes.findIndex((n) => n.pid === node.pid);
    if (i >= 0) this.nodes.splice(i, 1);
  }

  /**
   * SIGKILLs the head and starts it again on the same port with the same Redis (needs `redis: true`); resolves
   * once it serves. Live nodes and drivers reconnect by themselves. The head's own node, if it had workers,
   * died with it: the new head declares it dead after nodeTimeoutMs, and `cluster.head` is the new process.
   * `downForMs` keeps the head down that long before it starts again.
   */
  async restartHead(options: { downForMs?: number } = {}): Promise<ClusterProcess> {
    if (this.closed) throw new LoomError("the cluster has been shut down");
    if (!this.redis) throw new LoomError("cluster.restartHead() needs Cluster.start({ redis: true }): a head whose tables were in its memory cannot take the cluster back");
    const old = this.children.get(this.headProcess.pid);
    if (old && old.exitCode === null && old.signalCode === null) { old.kill("SIGKILL"); await exited(old); }
    this.children.delete(this.headProcess.pid);
    if (options.downForMs) await new Promise((r) => setTimeout(r, options.downForMs));
    const port = Number(this.address.slice(this.address.lastIndexOf(":") + 1));
    const { child, ready } = spawnLoom(this.home, this.token, headArgs(this.options, this.options.nodeTimeoutMs!, port, this.redis), this.options.log === true);
    this.children.set(child.pid!, child);
    try {
      const line = await ready;
      this.headProcess = { nodeId: line.nodeId ?? "", pid: line.pid, address: line.address ?? "" };
      this.dashboardUrl = line.dashboardUrl ?? undefined;
      return this.headProcess;
    } catch (e) {
      this.children.delete(child.pid!);
      if (child.exitCode === null) { child.kill("SIGKILL"); await exited(child); }
      throw e;
    }
  }

  /**
   * Ours, beyond SPEC: restarts the redis-server under the live cluster, on the same port, reloading its
   * append-only file (`graceful: false` SIGKILLs it, as a crash; `downForMs` keeps it down that long).
   * Resolves once it accepts connections; the head's calls wait for it meanwhile.
   */
  async restartRedis(options: { graceful?: boolean; downForMs?: number } = {}): Promise<void> {
    if (this.closed) throw new LoomError("the cluster has been shut down");
    if (!this.redis) throw new LoomError("cluster.restartRedis() needs Cluster.start({ redis: true })");
    await this.redis.restart(options);
  }

  /** Kills every process the cluster started and removes its Loom home. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const children = [...this.children.values()];
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await Promise.all(children.map(exited));
    this.children.clear();
    this.nodes.length = 0;
    await this.redis?.stop();
    fs.rmSync(this.home, { recursive: true, force: true });
    releaseToken();
  }
}

/** The head's command line; `port` 0 takes a free one (a restart passes the port it had). */
function headArgs(options: ClusterOptions, nodeTimeoutMs: number, port: number, redis: RedisServer | undefined): string[] {
  const spec = options.head ?? {};
  return [
    "start", "--head", "--port", String(port), "--workers", String(spec.workers ?? 1),
    "--resources", JSON.stringify(spec.resources ?? {}), "--node-timeout-ms", String(nodeTimeoutMs),
    "--dashboard-port", "0",
    ...(redis ? ["--redis", redis.url] : []),
  ];
}

function takeToken(): string {
  if (tokenUsers === 0) {
    tokenBefore = { set: process.env.LOOM_TOKEN !== undefined, value: process.env.LOOM_TOKEN };
    if (!process.env.LOOM_TOKEN) process.env.LOOM_TOKEN = randomBytes(32).toString("hex");
  }
  tokenUsers++;
  return process.env.LOOM_TOKEN!;
}

function releaseToken(): void {
  if (--tokenUsers > 0 || !tokenBefore) return;
  if (tokenBefore.set) process.env.LOOM_TOKEN = tokenBefore.value;
  else delete process.env.LOOM_TOKEN;
  tokenBefore = undefined;
}

/** The CLI: the built one beside this module in dist/, or the source through tsx when run from source. */
function cliCommand(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const built = path.join(here, "../../engine/cluster/cli.js");
  if (fs.existsSync(built)) return [built];
  return ["--import", "tsx", path.join(here, "../../engine/cluster/cli.ts")];
}

/** Spawns `loom <args>`; `ready` resolves with its ready line, or rejects with its stderr when it exits first. */
function spawnLoom(home: string, token: string, args: string[], log: boolean): { child: ChildProcess; ready: Promise<ReadyLine> } {
  const child = spawn(process.execPath, [...cliCommand(), ...args], {
    env: { ...process.env, LOOM_HOME: home, LOOM_TOKEN: token, LOOM_EXIT_WITH_PARENT: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  everyChild.add(child);
  child.once("exit", () => everyChild.delete(child));
  // Its stdin is the lifeline: never written, closed only by this process's death (or by shutdown, via kill).
  child.stdin!.on("error", () => {});
  let stderrTail = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-4000);
    if (log) process.stderr.write(d);
  });
  const ready = new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new LoomError(`loom ${args.join(" ")}: not ready within ${READY_TIMEOUT_MS} ms\n${stderrTail}`)); }, READY_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (text) => {
      if (log) process.stderr.write(`${text}\n`);
      let line: ReadyLine;
      try { line = JSON.parse(text) as ReadyLine; } catch { return; }
      if (line?.loom !== "ready") return;
      clearTimeout(timer);
      resolve(line);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new LoomError(`loom ${args.join(" ")} exited (${signal ?? `code ${String(code)}`}) before it was ready\n${stderrTail}`));
    });
  });
  ready.catch(() => {});
  return { child, ready };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}
