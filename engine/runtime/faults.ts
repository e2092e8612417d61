// The fault-injection surface used by tests and demos (rt.faults): kills workers and actors, evicts objects,
// arms crash points. It reaches the driver only through the runtime's facade.
import { LoomError } from "../errors.js";
import { isObjectRef, isActorHandle, type ObjectRef } from "../refs.js";
import type { ActorHandle } from "../remote.js";
import { describeArgument } from "../api-checks.js";
import type { CrashPoint } from "../worker/crash-points.js";
import type { CrashReport } from "./crash-control.js";
import type { Runtime } from "./runtime.js";

/** The fault-injection surface used by tests and demos. */
export class Faults {
  constructor(private readonly rt: Runtime) {}
  /** Kills a worker thread mid-flight, as a crash would (default: a busy one). */
  killWorker(index?: number): Promise<number> {
    if (index !== undefined && (!Number.isInteger(index) || index < 0 || index >= this.rt.workerCount)) {
      throw new LoomError(`faults.killWorker: no worker ${String(index)} (there are ${this.rt.workerCount}, 0-based)`);
    }
    return this.rt.terminateWorker(index ?? this.rt.busyWorker());
  }
  /** Drops a stored object without spilling; false when it is not stored (yet). */
  evict(ref: ObjectRef): boolean {
    if (!isObjectRef(ref)) throw new LoomError(`faults.evict: expected an ObjectRef, got ${describeArgument(ref)}`);
    return this.rt.evict(ref);
  }
  /**
   * Arms a crash point: the next `times` threads to reach `point` die there, as a crash would. Resolves with
   * what fired once every armed crash has (or at disarm()).
   */
  crashAt(point: CrashPoint, options: { times?: number } = {}): Promise<CrashReport> {
    if (typeof options !== "object" || options === null) throw new LoomError(`faults.crashAt: options must be an object, got ${String(options)}`);
    return this.rt.crashes.arm(point, options.times ?? 1);
  }
  /** Clears the armed crashes that have not fired; crashAt's promises resolve with what did. */
  disarm(): void {
    this.rt.crashes.disarm();
  }
  /** Kills a cluster node's process (SIGKILL), as a lost machine; never the driver's own. */
  killNode(nodeId: string): Promise<void> {
    if (typeof nodeId !== "string" || nodeId === "") throw new LoomError(`faults.killNode: expected a node id, got ${describeArgument(nodeId)}`);
    return this.rt.killNode(nodeId);
  }
  /** Crashes an actor; it restarts if its maxRestarts allows. */
  killActor(handle: ActorHandle): void {
    if (!isActorHandle(handle)) throw new LoomError(`faults.killActor: expected an actor handle, got ${describeArgument(handle)}`);
    this.rt.restartActorByFault(handle);
  }
}
