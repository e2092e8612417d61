// The public facade of Loom (SPEC.md): init, current, the error classes and the types users hold.
import { Runtime, type InitOptions } from "./runtime/runtime.js";
import { peekCurrent, requireCurrent } from "./current.js";
import { LoomError } from "./errors.js";
import { arrowLoadsOnDemand, preloadArrow } from "./serialization/arrow-module.js";
import { checkDashboardOption } from "./dashboard/options.js";

export { Runtime, Faults } from "./runtime/runtime.js";
export type { InitOptions, GraphNode, GraphEdge, EdgeKind, TaskKind, RuntimeInspection } from "./runtime/runtime.js";
export { ObjectRef, isObjectRef } from "./refs.js";
export { RemoteFunction, ActorClass, ActorMethod } from "./remote.js";
export { ActorPool, type ActorPoolFn } from "./actors/actor-pool.js";
export type { ActorHandle, ModuleWrappers, FunctionDescriptor } from "./remote.js";
export type { TaskOptions, ActorOptions, Resources } from "./options.js";
export {
  LoomError, TaskError, WorkerCrashedError, ActorDiedError, ObjectLostError, ReconstructionError, GetTimeoutError,
  SerializationError, TaskCancelledError, ObjectStoreFullError, TaskTimeoutError,
} from "./errors.js";

/** Starts a Loom runtime in this process (the driver). One runtime at a time. */
export async function init(options: InitOptions = {}): Promise<Runtime> {
  if (typeof options !== "object" || options === null) throw new LoomError(`init(): options must be an object, got ${String(options)}`);
  const known = new Set(["workers", "objectStoreBytes", "spillDir", "resources", "dashboard"]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new LoomError(`init(): unknown option ${JSON.stringify(key)}; known options: ${[...known].join(", ")}`);
  }
  const dashboard = checkDashboardOption(options.dashboard);
  const existing = peekCurrent<Runtime>();
  if (existing instanceof Runtime && !existing.isShutdown) {
    throw new LoomError("init(): a Loom runtime is already running in this process; call shutdown() first or use current()");
  }
  const rt = new Runtime(options);
  // Where Arrow cannot load on first use, it loads here, while the workers start.
  if (!arrowLoadsOnDemand()) await preloadArrow();
  if (dashboard) {
    // Loaded only when asked for: a runtime without a dashboard imports none of it.
    try {
      const { serveDashboard } = await import("./dashboard/index.js");
      rt.attachDashboard(await serveDashboard(rt, dashboard.port));
    } catch (error) {
      await rt.shutdown();
      throw error;
    }
  }
  return rt;
}

/**
 * The Loom API of this thread: the runtime made by init() in the driver, or inside a task or actor method,
 * the same API bound to the worker (remote, module, put, get, wait, cancel, signal).
 */
export function current(): Runtime {
  return requireCurrent<Runtime>();
}
