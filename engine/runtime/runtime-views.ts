// Read-only views of the driver's tables, for the facade's inspect(), tableSizes(), storeUsage() and a lone
// driver's nodes(): plain data copied out, nothing changed. The dashboard polls inspect() while a page is open.
import * as L from "../../core-wasm/shared/layout.js";
import { formatTaskId } from "../ids.js";
import type { DriverContext } from "./driver-context.js";
import type { RuntimeInspection } from "./runtime-types.js";
import type { NodeSummary, TableSizes } from "../api.js";

export class RuntimeViews {
  constructor(private readonly d: DriverContext) {}

  /**
   * Bytes the store holds now: arena blocks, segments of live objects known to the driver, and segments of freed
   * objects kept for reuse (idleSegmentBytes; some may still be seen by views not yet collected).
   */
  storeUsage(): { arenaBytes: number; segmentBytes: number; idleSegmentBytes: number; objects: number } {
    let segmentBytes = 0;
    for (const s of this.d.store.segments.values()) segmentBytes += s.byteLength;
    return { arenaBytes: this.d.core.exports.arenaUsed(), segmentBytes, idleSegmentBytes: this.d.store.pool?.idleBytes ?? 0, objects: this.d.objects.size };
  }

  /** Sizes of the driver's tables, for tests that check they do not grow without bound. */
  tableSizes(): TableSizes {
    return {
      tasks: this.d.tasks.size, objects: this.d.objects.size, actors: this.d.actors.size, segments: this.d.store.segments.size,
      sharedArgs: this.d.args.sharedBuffers.size, graphNodes: this.d.graph.nodeCount, foreignActors: this.d.cluster?.foreign.size ?? 0,
    };
  }

  /**
   * A copy of the driver's tables for the dashboard. Running tasks come from the core's task table (workers
   * start tasks without telling the driver): one pass over the slots.
   */
  inspect(): RuntimeInspection {
    const running: RuntimeInspection["running"] = [];
    let queued = this.d.dispatcher.backlog.length;
    for (let slot = 0; slot < this.d.dispatcher.slotsTouched; slot++) {
      const e = this.d.dispatcher.slotOwner[slot];
      if (!e || this.d.dispatcher.tombstoneAt(slot)) continue;
      if (this.d.core.taskField(slot, L.TASK_STATE) !== L.TASK_RUNNING) { queued++; continue; }
      running.push({ taskId: formatTaskId(e.id), name: e.name, worker: this.d.core.taskField(slot, L.TASK_WORKER), started: this.d.core.taskField(slot, L.TASK_STARTED) / 100 });
    }
    const actors: RuntimeInspection["actors"] = [];
    for (const a of this.d.actors.values()) {
      // Calls end in order, so the unfinished ones are the log's tail.
      let pendingCalls = 0;
      for (let i = a.log.length - 1; i >= 0 && a.log[i]!.state !== "finished" && a.log[i]!.state !== "failed"; i--) if (a.log[i]!.state !== "cancelled") pendingCalls++;
      const state = a.state === "dead" ? "dead" : a.awaitingResources ? "pending" : "alive";
      actors.push({ actorId: a.id, className: a.className, name: a.name, state, worker: a.worker, restarts: a.restarts, pendingCalls });
    }
    return {
      epoch: new Float64Array(this.d.core.memory.buffer, L.CORE_BASE + L.CTL_EPOCH, 1)[0]!,
      workers: Array.from({ length: this.d.workerCount }, (_, i) => ({ alive: this.d.transport.alive(i) })),
      running, queued, actors, resources: { ...this.d.resources.totalResources }, used: { ...this.d.resources.usedResources }, spilledBytes: this.d.spill.bytesSpilled,
    };
  }

  /** What nodes() says of a driver on no cluster: this process alone, as the head of a one-node cluster. */
  standaloneNode(): NodeSummary {
    const total = this.d.resources.totalResources;
    const used = this.d.resources.usedResources;
    return {
      nodeId: "local", address: "local", state: "alive", isHead: true, isDriver: true, workers: this.d.workerCount,
      resources: { ...total }, available: Object.fromEntries(Object.keys(total).map((k) => [k, Math.max(0, total[k]! - (used[k] ?? 0))])),
    };
  }
}
