// Resources: what this node offers (cpu and custom resources) and what running tasks and live actors hold.
// Admission asks fits() before it acquires; a shape no node offers is announced once (task:infeasible).
import { formatTaskId, type TaskId } from "../ids.js";
import { DEFAULT_RESOURCES, type Resources } from "../options.js";
import type { EventSink } from "../graph/event-sink.js";

export class ResourceLedger {
  /** What this node offers; fixed at init. */
  readonly totalResources: Resources;
  /** What admitted tasks and started actors hold now (may go below zero only through a bug). */
  readonly usedResources: Resources = {};
  private readonly warnedShapes = new Set<string>();

  constructor(total: Resources, private readonly events: EventSink) {
    this.totalResources = total;
  }

  fits(r: Resources): boolean {
    for (const [k, v] of Object.entries(r)) if ((this.usedResources[k] ?? 0) + v > (this.totalResources[k] ?? 0) + 1e-9) return false;
    return true;
  }
  acquire(r: Resources): void {
    for (const [k, v] of Object.entries(r)) this.usedResources[k] = (this.usedResources[k] ?? 0) + v;
  }
  releaseResources(r: Resources): void {
    for (const [k, v] of Object.entries(r)) this.usedResources[k] = (this.usedResources[k] ?? 0) - v;
  }

  /**
   * A task or actor whose resources no node offers is not an error: it waits, since a node that offers them may
   * join (as in Ray). It is announced (task:infeasible) and warned about once per resource shape.
   */
  noteIfInfeasible(resources: Resources, taskId: TaskId, what: string): void {
    const wanted = { cpu: 1, ...resources };
    const short = Object.entries(wanted).filter(([name, amount]) => amount > (this.totalResources[name] ?? 0));
    if (short.length === 0) return;
    this.events.emit("task:infeasible", { taskId: formatTaskId(taskId), name: what, resources: wanted });
    const shape = JSON.stringify(Object.entries(wanted).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
    if (this.warnedShapes.has(shape)) return;
    this.warnedShapes.add(shape);
    const offered = short.map(([name]) => `${name}=${this.totalResources[name] ?? 0}`).join(", ");
    process.emitWarning(`Loom: infeasible task: ${what} needs resources ${JSON.stringify(wanted)} but no node offers them ` +
      `(this runtime offers ${offered}); it waits until a node that has them joins, or until it is cancelled`,
    { code: "LOOM_INFEASIBLE_RESOURCES" });
  }
}

/** One CPU and nothing else: such a task goes straight to the ready queue, without admission. */
export function isDefaultResources(r: Resources): boolean {
  if (r === DEFAULT_RESOURCES) return true; // the usual case, without Object.keys's array
  const keys = Object.keys(r);
  return keys.length === 0 || keys.length === 1 && keys[0] === "cpu" && r.cpu === 1;
}
