// A driver joins a cluster (init({ address })): it registers with the head as a node of its own (isDriver),
// serves its objects to the nodes that run its tasks, and hands placement to a ClusterScheduler. Events of
// the head (a node joined, a node died) reach the scheduler and the runtime's events.
import { LoomError } from "../errors.js";
import type { DriverContext } from "../runtime/driver-context.js";
import { parseAddress, isLoopback } from "./wire.js";
import { ObjectPuller } from "./object-transfer.js";
import { startNodeService } from "./node-service.js";
import { ClusterScheduler, type ClusterNames } from "./cluster-scheduler.js";
import type { ActorHandleDescriptor } from "../refs.js";
import { HeadClient } from "./head-client.js";
import { readToken, readHeadAddress } from "./loom-home.js";
import type { NodeInfo, NodeDied } from "./messages.js";

/** The cluster's actor names as `head` keeps them: claims and releases go to the head, lookups read its table here. */
function clusterNames(head: HeadClient): ClusterNames {
  return {
    claim: (name, value) => head.claimName(name, value),
    release: (name) => head.releaseName(name),
    lookup: (name) => { const entry = head.names.get(name); return entry && actorDescriptor(entry.value); },
    entries: () => {
      const out: Array<[string, ActorHandleDescriptor]> = [];
      for (const [name, entry] of head.names) { const d = actorDescriptor(entry.value); if (d) out.push([name, d]); }
      return out;
    },
  };
}

/** A name's value as a handle's descriptor, or undefined when it is not one (it came from another process). */
function actorDescriptor(value: unknown): ActorHandleDescriptor | undefined {
  const v = value as Partial<ActorHandleDescriptor> | null;
  if (typeof v !== "object" || v === null || !Number.isSafeInteger(v.actorId) || typeof v.className !== "string") return undefined;
  if (!Array.isArray(v.methods) || !v.methods.every((m) => typeof m === "string")) return undefined;
  if (typeof v.owner?.nodeId !== "string" || typeof v.owner.address !== "string") return undefined;
  return { actorId: v.actorId!, className: v.className, methods: v.methods, owner: { nodeId: v.owner.nodeId, address: v.owner.address } };
}

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
  let headClient: HeadClient | undefined;
  // The driver's work server: nodes pull its objects there, and other processes call the actors it owns.
  const server = await startNodeService({ runtime: d.runtime, host: bindHost, port: 0, token, nodeId: () => headClient?.nodeId ?? "(joining)" });
  const ownAddress = `${bindHost === "0.0.0.0" ? "127.0.0.1" : bindHost}:${server.address.slice(server.address.lastIndexOf(":") + 1)}`;
  try {
    headClient = await HeadClient.connect({
      address: headAddress, token,
      info: { address: ownAddress, workers: d.workerCount, resources: { cpu: d.workerCount, ...resources }, isDriver: true, pid: process.pid },
    });
  } catch (error) {
    await server.close();
    throw new LoomError(`init(): could not join the cluster at ${headAddress}: ${(error as Error).message}`, { cause: error });
  }
  const membership = await attachScheduler(d, headClient, ownAddress, token, (scheduler) => server.serveOwnObjects((key) => scheduler.objects.objectOfKey(key)));
  // What a dead process left here (results of its calls on our actors) goes.
  headClient.on("node-died", (death) => server.releaseOwner(death.nodeId));
  const client = headClient;
  return {
    ...membership,
    close: async () => {
      await membership.close();
      client.close();
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
  // A node running this process's streaming generators sends their yields unasked, on the connection the task went by.
  const puller = new ObjectPuller(token, (_address, c) => { c.onFrame = (frame, connection) => scheduler.onPeerFrame(frame, connection); });
  const scheduler: ClusterScheduler = new ClusterScheduler(d, { nodeId: headClient.nodeId, address: ownAddress, nodeTimeoutMs: headClient.nodeTimeoutMs, puller, names: clusterNames(headClient) });
  d.cluster = scheduler;
  serve(scheduler);
  // Actors this process's workers create name it as their owner; current().getActor finds the cluster's names.
  d.transport.broadcast({ t: "cluster-identity", owner: scheduler.owner });
  for (const [name, actor] of scheduler.link.names.entries()) if (!d.actors.namedActors.has(name)) d.transport.broadcast({ t: "actor-name", name, actor });
  headClient.on("name-changed", (name, entry) => {
    if (d.actors.namedActors.has(name)) return; // its own: the actor manager tells the workers
    const actor = entry && actorDescriptor(entry.value);
    d.transport.broadcast({ t: "actor-name", name, actor: actor ?? null });
  });
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
