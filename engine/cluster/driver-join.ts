// A driver joins a cluster (init({ address })): it registers with the head as a node of its own (isDriver),
// serves its objects to the nodes that run its tasks, and hands placement to a ClusterScheduler. Events of
// the head (a node joined, a node died) reach the scheduler and the runtime's events.
import { LoomError } from "../errors.js";
import type { DriverContext } from "../runtime/driver-context.js";
import { listen, parseAddress, isLoopback, type WireServer } from "./wire.js";
import { answerPull, ObjectPuller } from "./object-transfer.js";
import { ClusterScheduler } from "./cluster-scheduler.js";
import { HeadClient } from "./head-client.js";
import { readToken, readHeadAddress } from "./loom-home.js";
import type { NodeInfo, NodeDied } from "./messages.js";

export interface ClusterMembership {
  readonly scheduler: ClusterScheduler;
  readonly head: HeadClient;
  nodes(): Promise<NodeInfo[]>;
  /** faults.killNode: SIGKILLs a node of this machine's cluster by the pid the head recorded. */
  killNode(nodeId: string): Promise<void>;
  close(): Promise<void>;
}

/** Resolves init's `address` ("auto": the head this machine started) to host:port. */
export function resolveHeadAddress(address: string): string {
  if (address !== "auto") return address;
  const recorded = readHeadAddress();
  if (!recorded) throw new LoomError("init({ address: \"auto\" }): no head was started on this machine (run `npx loom start --head`, or pass its host:port)");
  return recorded;
}

export async function joinCluster(d: DriverContext, address: string, resources: Record<string, number>): Promise<ClusterMembership> {
  const headAddress = resolveHeadAddress(address);
  const head = parseAddress(headAddress, "init(): address");
  const token = readToken();
  // Nodes pull this driver's objects from here: on the head's interface (loopback for a one-machine cluster).
  const bindHost = isLoopback(head.host) ? "127.0.0.1" : (process.env.LOOM_BIND ?? "0.0.0.0");
  if (!isLoopback(bindHost) && token === undefined) throw new LoomError(`init(): joining ${headAddress} needs the cluster token (LOOM_TOKEN or ~/.loom/token): a non-loopback listener without one is refused`);
  let scheduler: ClusterScheduler | undefined;
  const server: WireServer = await listen({ host: bindHost, port: 0, token }, (c) => {
    c.onFrame = (frame) => {
      if (answerPull(c, frame, (key) => {
        const id = scheduler?.objects.objectOfKey(key);
        return id === undefined ? undefined : d.runtime.exportOwnObject(id);
      })) return;
      if (frame.h.rid !== undefined) c.reply(frame.h, { error: { name: "LoomError", message: `a driver does not answer ${String(frame.h.t).slice(0, 40)}`, code: "ERR_LOOM" } });
    };
  });
  const ownAddress = `${bindHost === "0.0.0.0" ? "127.0.0.1" : bindHost}:${server.port}`;
  let headClient: HeadClient;
  try {
    headClient = await HeadClient.connect({
      address: headAddress, token,
      info: { address: ownAddress, workers: d.workerCount, resources: { cpu: d.workerCount, ...resources }, isDriver: true, pid: process.pid },
    });
  } catch (error) {
    await server.close();
    throw new LoomError(`init(): could not join the cluster at ${headAddress}: ${(error as Error).message}`, { cause: error });
  }
  const membership = await attachScheduler(d, headClient, ownAddress, token, (source) => { scheduler = source; });
  return {
    ...membership,
    close: async () => {
      await membership.close();
      headClient.close();
      await server.close();
    },
  };
}

/**
 * Gives a runtime the cluster's placement: a ClusterScheduler over the head's node table, told of joins and
 * deaths. A driver does it when it joins; a node does it for the tasks its own tasks submit, which it then
 * places across the cluster as a driver would (it owns their results). `serve` learns the scheduler, whose
 * RemoteObjects name the keys of this runtime's objects that its server must answer pulls for.
 */
export async function attachScheduler(
  d: DriverContext, headClient: HeadClient, ownAddress: string, token: string | undefined, serve: (scheduler: ClusterScheduler) => void,
): Promise<ClusterMembership> {
  const puller = new ObjectPuller(token);
  const scheduler = new ClusterScheduler(d, { nodeId: headClient.nodeId, address: ownAddress, nodeTimeoutMs: headClient.nodeTimeoutMs, puller });
  d.cluster = scheduler;
  serve(scheduler);
  headClient.on("node-added", (node: NodeInfo) => {
    scheduler.nodeAdded(node);
    d.events.emit("node:added", { nodeId: node.nodeId, address: node.address });
  });
  headClient.on("node-draining", (nodeId: string) => scheduler.nodeDraining(nodeId));
  headClient.on("node-died", (m: Omit<NodeDied, "t">) => {
    scheduler.nodeDied(m.nodeId, m.reason);
    d.events.emit("node:died", { nodeId: m.nodeId, reason: m.reason });
  });
  for (const node of await headClient.nodes()) if (node.state === "alive") scheduler.nodeAdded(node);
  // The nodes' loads (their beats, through the head's table), once per beat period while this process has work
  // out on nodes: placement sees other submitters' work too. Idle processes ask nothing.
  let asking = false;
  const loads = setInterval(() => {
    if (asking || !scheduler.hasRemoteWork()) return;
    asking = true;
    headClient.nodes().then((nodes) => scheduler.loadsReported(nodes), () => {}).finally(() => { asking = false; });
  }, Math.max(50, Math.floor(headClient.nodeTimeoutMs / 5)));
  loads.unref();
  return {
    scheduler, head: headClient,
    nodes: () => headClient.nodes(),
    killNode: async (nodeId) => {
      if (nodeId === headClient.nodeId) throw new LoomError("faults.killNode: that is this driver's own node");
      const node = (await headClient.nodes()).find((n) => n.nodeId === nodeId);
      if (!node) throw new LoomError(`faults.killNode: no node ${JSON.stringify(nodeId)} in the cluster`);
      if (node.state === "dead") return;
      try {
        process.kill(node.pid, "SIGKILL");
      } catch (error) {
        throw new LoomError(`faults.killNode: could not kill node ${nodeId} (pid ${node.pid}): ${(error as Error).message}; only nodes on this machine can be killed`);
      }
    },
    close: async () => {
      clearInterval(loads);
      d.cluster = undefined;
      await puller.close();
    },
  };
}
