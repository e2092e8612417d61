/**
 * The engine: `init`, `current`, the runtime's types, remote functions and actors, and the error classes.
 * @module loom-dag
 */
// The public facade of Loom: init, current, the error classes and the types users hold. The runtime is exported
// as interfaces (api.ts), not as the class, so the engine's own methods stay off what users see.
import { Runtime as DriverRuntime, type InitOptions } from "./runtime/runtime.js";
import type { LoomApi, Runtime } from "./api.js";
import { peekCurrent, requireCurrent } from "./current.js";
import { LoomError } from "./errors.js";
import { arrowLoadsOnDemand, preloadArrow } from "./serialization/arrow-module.js";
import { checkDashboardOption } from "./dashboard/options.js";

export type {
  LoomApi, Runtime, Faults, NodeSummary, GetOptions, WaitOptions, WaitResult, CancelOptions, KillOptions, ValuesOf, StoreUsage,
} from "./api.js";
export type { InitOptions, GraphNode, GraphEdge, EdgeKind, TaskKind, RuntimeInspection } from "./runtime/runtime.js";
export { ObjectRef, isObjectRef } from "./refs.js";
export { ObjectRefGenerator } from "./streaming/object-ref-generator.js";
export { RemoteFunction, ActorClass, ActorMethod } from "./remote.js";
export { ActorPool, type ActorPoolFn } from "./actors/actor-pool.js";
export type { ActorHandle, ModuleWrappers, RemoteArgs, RemoteResult, YieldOf } from "./remote.js";
export type { TaskOptions, ActorOptions, Resources } from "./options.js";
export {
  LoomError, TaskError, WorkerCrashedError, NodeDiedError, ActorDiedError, ObjectLostError, ReconstructionError, GetTimeoutError,
  SerializationError, TaskCancelledError, ObjectStoreFullError, ObjectMutatedError, TaskTimeoutError,
} from "./errors.js";

/**
 * Starts a Loom runtime in this process (the driver): the worker threads and the shared-memory object store.
 * One runtime at a time; `shutdown()` it before starting another. Unknown options throw a `LoomError`.
 * @example
 * import { init } from "loom-dag";
 * const rt = await init({ workers: 4 });
 * try {
 *   const square = rt.remote(function square(x: number) { return x * x; });
 *   console.log(await rt.get(square.remote(7))); // 49
 * } finally {
 *   await rt.shutdown();
 * }
 */
export async function init(options: InitOptions = {}): Promise<Runtime> {
  if (typeof options !== "object" || options === null) throw new LoomError(`init(): options must be an object, got ${String(options)}`);
  const known = new Set(["address", "workers", "objectStoreBytes", "spillDir", "resources", "dashboard", "checkImmutable"]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new LoomError(`init(): unknown option ${JSON.stringify(key)}; known options: ${[...known].join(", ")}`);
  }
  const dashboard = checkDashboardOption(options.dashboard);
  const existing = peekCurrent<Runtime>();
  if (existing instanceof DriverRuntime && !existing.isShutdown) {
    throw new LoomError("init(): a Loom runtime is already running in this process; call shutdown() first or use current()");
  }
  if (options.checkImmutable !== undefined && typeof options.checkImmutable !== "boolean") {
    throw new LoomError(`init(): invalid checkImmutable ${String(options.checkImmutable)} (expected a boolean)`);
  }
  const checkImmutable = options.checkImmutable ?? process.env.NODE_ENV === "test";
  const address = options.address ?? (process.env.LOOM_ADDRESS || undefined);
  if (address !== undefined && (typeof address !== "string" || address === "")) throw new LoomError(`init(): invalid address ${String(address)} (expected "host:port" or "auto")`);
  const rt = new DriverRuntime({ ...options, address, checkImmutable });
  if (address !== undefined) {
    try {
      await rt.joinCluster(address);
    } catch (error) {
      await rt.shutdown();
      throw error;
    }
  }
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
  const runtime: Runtime = rt;
  return runtime;
}

/**
 * The Loom API of this thread: in the driver, the runtime made by `init`; inside a task or actor method, the same
 * API bound to the worker, so tasks submit tasks, put, get and wait. Works however the task module imports Loom.
 * @example
 * // tasks.ts
 * import { current } from "loom-dag";
 * export async function sumOfSquares(n: number): Promise<number> {
 *   const square = current().remote(function square(x: number) { return x * x; });
 *   const parts = await current().get(Array.from({ length: n }, (_, i) => square.remote(i)));
 *   return parts.reduce((a, b) => a + b, 0);
 * }
 */
export function current(): LoomApi {
  return requireCurrent<LoomApi>();
}
