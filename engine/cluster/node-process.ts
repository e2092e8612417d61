// The main of a Loom process started by `loom start`: a head (the control plane, its tables in memory or in
// Redis, and a node unless it has no workers) or a node (a local runtime, its work server, and its registration at the head). It owns the
// process's lifetime: ready line, signals, refusal, the parent's death. The pieces it starts own the rest.
import os from "node:os";
import { Runtime } from "../runtime/runtime.js";
import type { Resources } from "../options.js";
import { LoomError } from "../errors.js";
import { startHead, type Head } from "./head.js";
import { RedisControlStore, redactedUrl } from "./redis-control-store.js";
import { HeadClient } from "./head-client.js";
import { startNodeService, type NodeService } from "./node-service.js";
import { isLoopback } from "./wire.js";
import type { NodeLoad } from "./messages.js";
import { forgetPid, recordPid, writeHeadAddress, writeNewToken } from "./loom-home.js";

export interface ProcessConfig {
  role: "head" | "node";
  /** The head's host:port (a node), or the port the head listens on (the head). */
  headAddress?: string;
  port: number;
  /** Where this process's servers listen. */
  bind: string;
  /** Local workers; 0 only for a head, which then runs no node. */
  workers: number;
  resources: Resources;
  token?: string;
  nodeTimeoutMs?: number;
  /** The head's control store in Redis (redis://HOST:PORT); default: in the head's memory. */
  redis?: string;
  /** Its keys' hash tag (default "loom"), so that clusters can share a Redis. */
  redisPrefix?: string;
  /** The head's dashboard (0: any free port); default 8265. */
  dashboardPort?: number;
}

/** Exit codes a supervisor can act on. */
export const EXIT_USAGE = 2;
/** The head declared this node dead (or refused it on reconnecting): a new process must join instead. */
export const EXIT_REFUSED = 3;
/** The head stayed unreachable for HEAD_LOST_MS. */
export const EXIT_HEAD_LOST = 4;
/** A node whose head is gone this long stops: nothing can place work on it, and its owners have moved on. */
const HEAD_LOST_MS = 60_000;

interface LocalNode {
  runtime: Runtime;
  service: NodeService;
  client: HeadClient;
}

/** Starts the process's pieces, prints the ready line, and wires signals; resolves once ready. */
export async function runLoomProcess(config: ProcessConfig): Promise<void> {
  let token = config.token;
  if (!isLoopback(config.bind) && token === undefined) {
    throw new UsageError(`--bind ${config.bind} listens beyond this machine, and there is no token: give --token, LOOM_TOKEN, or start the head first (it writes ~/.loom/token)`);
  }
  let head: Head | undefined;
  let headAddress: string;
  exitWithParent();
  let store: RedisControlStore | undefined;
  if (config.role === "head") {
    if (config.redis !== undefined) {
      store = await RedisControlStore.open({ url: config.redis, prefix: config.redisPrefix, log: say });
      say(`the control store is in Redis at ${redactedUrl(config.redis)}, prefix ${config.redisPrefix ?? "loom"}`);
    }
    // The head always has a token: a new one, or the one given, written where this machine's processes look.
    token = writeNewToken(token);
    try {
      head = await startHead({ host: config.bind, port: config.port, token, nodeTimeoutMs: config.nodeTimeoutMs, log: say, store });
    } catch (e) {
      await store?.close();
      throw e;
    }
    headAddress = `${reachableHost(config.bind)}:${head.port}`;
    writeHeadAddress(headAddress);
    recordPid("head");
  } else {
    headAddress = config.headAddress!;
    recordPid("node");
  }
  process.on("exit", () => forgetPid());
  let node: LocalNode | undefined;
  if (config.workers > 0) {
    try {
      node = await startNode(config, headAddress, token, config.role === "head");
    } catch (e) {
      await head?.close();
      await store?.close();
      throw e;
    }
  }
  onSignals(() => stop(node, head, store));
  const dashboardUrl = config.role === "head" && node ? await serveClusterDashboard(node, config.dashboardPort ?? 8265, token) : undefined;
  process.stdout.write(`${JSON.stringify({
    loom: "ready", role: config.role, nodeId: node?.client.nodeId ?? null, address: node?.service.address ?? null,
    headAddress, pid: process.pid, dashboardUrl: dashboardUrl ?? null,
  })}\n`);
}

async function startNode(config: ProcessConfig, headAddress: string, token: string | undefined, isHead: boolean): Promise<LocalNode> {
  const runtime = new Runtime({ workers: config.workers, resources: config.resources });
  let nodeId = "";
  let service: NodeService | undefined;
  try {
    service = await startNodeService({ runtime, host: config.bind, port: 0, token, nodeId: () => nodeId });
    const port = service.address.slice(service.address.lastIndexOf(":") + 1);
    const resources = { cpu: config.workers, ...config.resources };
    const client = await HeadClient.connect({
      address: headAddress, token,
      info: { address: `${advertisedHost(config.bind)}:${port}`, workers: config.workers, resources, isDriver: false, isHead, pid: process.pid },
      available: () => available(runtime),
      load: () => load(runtime, service!),
    });
    nodeId = client.nodeId;
    // The tasks this node's tasks submit are placed across the cluster too (bottom-up: from here, not the head).
    service.serveOwnObjects(await runtime.joinAsNode(client, `${advertisedHost(config.bind)}:${port}`, token));
    // A dead driver (or node) never releases what it left here: drop its results, kill its actors.
    client.on("node-died", (death) => {
      const gone = service!.releaseOwner(death.nodeId);
      if (gone.results || gone.actors) say(`node ${nodeId}: ${death.nodeId} died; dropped ${gone.results} results and ${gone.actors} actors it owned here`);
    });
    client.on("refused", (reason) => {
      say(`node ${nodeId}: the head refused this node (${reason}); exiting. A new process joins as a new node.`);
      process.exit(EXIT_REFUSED);
    });
    let lost: NodeJS.Timeout | undefined;
    client.on("disconnected", (why) => {
      say(`node ${nodeId}: lost the head at ${headAddress} (${why}); reconnecting`);
      lost ??= setTimeout(() => {
        say(`node ${nodeId}: the head at ${headAddress} has been unreachable for ${HEAD_LOST_MS / 1000} s; exiting`);
        process.exit(EXIT_HEAD_LOST);
      }, HEAD_LOST_MS);
    });
    client.on("reconnected", () => { clearTimeout(lost); lost = undefined; say(`node ${nodeId}: reconnected to the head`); });
    return { runtime, service, client };
  } catch (e) {
    await service?.close();
    await runtime.shutdown();
    throw e;
  }
}

/**
 * The head serves the cluster's dashboard (SPEC "Dashboard"): every node of the head's table, and the head's
 * own node's workers, tasks, actors and store. A port already taken is said and skipped: the cluster runs on.
 */
async function serveClusterDashboard(node: LocalNode, port: number, token: string | undefined): Promise<string | undefined> {
  const { serveDashboard, ClusterNodeSource } = await import("../dashboard/index.js");
  const nodes = new ClusterNodeSource(node.client.nodeId, () => node.client.nodes(), node.runtime.events);
  try {
    const dashboard = await serveDashboard(node.runtime, port, { nodes, token });
    node.runtime.attachDashboard({ url: dashboard.url, close: async () => { nodes.close(); await dashboard.close(); } });
    say(`dashboard at ${dashboard.url}${token ? " (open it once with ?token=<the token>)" : ""}`);
    return dashboard.url;
  } catch (e) {
    nodes.close();
    say(`the dashboard could not start: ${(e as Error).message}; the head runs without it (--dashboard-port 0 takes any free port)`);
    return undefined;
  }
}

/** What the node's ledger has free: the heartbeat's `available`. */
function available(runtime: Runtime): Resources {
  const { resources, used } = runtime.inspect();
  const out: Resources = {};
  for (const [k, total] of Object.entries(resources)) out[k] = Math.max(0, total - (used[k] ?? 0));
  return out;
}

/**
 * The heartbeat's `load`: counts of what the node runs (loom status, and placement by other processes); the
 * queued count includes tasks of other processes waiting in the service for a worker.
 */
function load(runtime: Runtime, service: NodeService): NodeLoad {
  const { running, queued, actors } = runtime.inspect();
  return { queued: queued + service.waiting(), running: running.length, actors: actors.filter((a) => a.state === "alive").length };
}

let stopping = false;
/** How long a draining node waits for the owners of the results it holds to take them back. */
const HAND_OVER_MS = 60_000;

/**
 * A graceful stop (SIGTERM, SIGINT):
 * 1. the node service drains: no new work, what runs finishes, its objects' only copies go elsewhere;
 * 2. the head hears `leaving`, so nobody waits nodeTimeoutMs to learn the node is gone;
 * 3. the servers and the runtime close. A second signal exits at once.
 */
async function stop(node: LocalNode | undefined, head: Head | undefined, store: RedisControlStore | undefined): Promise<void> {
  if (stopping) process.exit(1);
  stopping = true;
  try {
    if (node) {
      // Everyone hears it first: nobody places work here meanwhile, and owners take back what it holds for them.
      const told = node.client.draining().catch((e: Error) => say(`could not tell the head this node drains: ${e.message}`));
      const drained = node.service.drain();
      await told;
      await drained;
      const left = await node.service.handedOver(HAND_OVER_MS);
      if (left > 0) say(`node ${node.client.nodeId}: ${left} results were not taken back by their owners within ${HAND_OVER_MS / 1000} s; they are lost with this node`);
      await node.client.leaving().catch((e: Error) => say(`could not tell the head this node leaves: ${e.message}`));
      node.client.close();
      await node.service.close();
      await node.runtime.shutdown();
    }
    await head?.close();
    await store?.close();
  } catch (e) {
    say(`stopping: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  }
  process.exit(0);
}

function onSignals(handler: () => void): void {
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

/**
 * With LOOM_EXIT_WITH_PARENT=1 the process exits when its stdin closes: the parent (a test's Cluster) holds the
 * other end, so its death, however sudden, takes the cluster with it.
 */
function exitWithParent(): void {
  if (process.env.LOOM_EXIT_WITH_PARENT !== "1") return;
  const exit = () => { forgetPid(); process.exit(0); };
  process.stdin.on("end", exit);
  process.stdin.on("close", exit);
  process.stdin.on("error", exit);
  process.stdin.resume();
}

/** The host a process on this machine dials to reach a server bound to `bind`. */
function reachableHost(bind: string): string {
  if (bind === "0.0.0.0") return "127.0.0.1";
  if (bind === "::" || bind === "[::]") return "[::1]";
  return bind.includes(":") ? `[${bind}]` : bind;
}

/** The host other machines dial to reach this node's service: the bind address, or for a wildcard, our first external IPv4. */
function advertisedHost(bind: string): string {
  if (bind !== "0.0.0.0" && bind !== "::" && bind !== "[::]") return bind.includes(":") ? `[${bind}]` : bind;
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

function say(line: string): void {
  process.stderr.write(`[loom ${new Date().toISOString()}] ${line}\n`);
}

export class UsageError extends LoomError {
  override name = "UsageError";
  override readonly code = "ERR_USAGE";
}
