// The nodes the dashboard lists. A standalone runtime is one node, head and driver at once; a cluster's head
// will hand the dashboard a NodeSource over its own node table, and nothing else in this folder changes.
import { randomBytes } from "node:crypto";
import type { RuntimeInspection } from "../runtime/runtime.js";
import type { NodeSummary } from "../api.js";

/** One node, shaped as SPEC.md's `rt.nodes()` rows. */
export type NodeInfo = NodeSummary;

export interface NodeSource {
  /** The node whose workers and tasks this process reports. */
  readonly localNodeId: string;
  nodes(inspection: RuntimeInspection): NodeInfo[];
}

/** The runtime of this process as the only node. Its address is the dashboard's: the only port it serves. */
export class LocalNodeSource implements NodeSource {
  readonly localNodeId = randomBytes(14).toString("hex");
  constructor(private readonly address: () => string) {}

  nodes(inspection: RuntimeInspection): NodeInfo[] {
    const available: Record<string, number> = {};
    for (const [name, total] of Object.entries(inspection.resources)) {
      available[name] = Math.max(0, total - (inspection.used[name] ?? 0));
    }
    return [{
      nodeId: this.localNodeId,
      address: this.address(),
      state: "alive",
      isHead: true,
      isDriver: true,
      workers: inspection.workers.length,
      resources: { ...inspection.resources },
      available,
    }];
  }
}

/**
 * A cluster's nodes, for the dashboard its head serves: the head's node table, read again every second and
 * whenever a node joins or dies (the dashboard asks synchronously, so it reads the latest copy).
 */
export class ClusterNodeSource implements NodeSource {
  private latest: NodeInfo[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(readonly localNodeId: string, private readonly table: () => Promise<NodeInfo[]>, events: { on(name: string, listener: () => void): unknown }) {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), 1_000);
    this.timer.unref();
    events.on("node:added", () => this.refresh());
    events.on("node:died", () => this.refresh());
  }

  nodes(): NodeInfo[] {
    return this.latest;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private refresh(): void {
    this.table().then((nodes) => {
      this.latest = nodes.map((n) => ({
        nodeId: n.nodeId, address: n.address, state: n.state, isHead: n.isHead, isDriver: n.isDriver,
        workers: n.workers, resources: { ...n.resources }, available: { ...n.available },
      }));
    }, () => {}); // the head is away for a moment: the last copy stands
  }
}
