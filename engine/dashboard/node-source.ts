// The nodes the dashboard lists. A standalone runtime is one node, head and driver at once; a cluster's head
// will hand the dashboard a NodeSource over its own node table, and nothing else in this folder changes.
import { randomBytes } from "node:crypto";
import type { RuntimeInspection } from "../runtime/runtime.js";

/** One node, shaped as SPEC.md's `rt.nodes()` rows. */
export interface NodeInfo {
  nodeId: string;
  address: string;
  state: "alive" | "dead";
  isHead: boolean;
  isDriver: boolean;
  workers: number;
  resources: Record<string, number>;
  available: Record<string, number>;
}

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
