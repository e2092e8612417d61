// The dashboard's surface: serveDashboard starts one for a runtime; the runtime holds what it returns and closes
// it at shutdown. Loaded by init() only when the dashboard is on.
import { ObjectRef } from "../refs.js";
import { objectIdOf, type TaskId } from "../ids.js";
import type { Runtime } from "../runtime/runtime.js";
import { DashboardState } from "./dashboard-state.js";
import { DashboardServer, HOST } from "./dashboard-server.js";
import { EventStream } from "./event-stream.js";
import { LocalNodeSource, type NodeSource } from "./node-source.js";
export { ClusterNodeSource } from "./node-source.js";

export { checkDashboardOption, DEFAULT_DASHBOARD_PORT, type DashboardOption } from "./options.js";
export type { NodeInfo, NodeSource } from "./node-source.js";
export type { DashboardSource, Snapshot, Delta, ActorRow, WorkerRow, ObjectsView, StoreView } from "./dashboard-state.js";
export type { TaskRow, ErrorRow, ThroughputBucket, TaskState } from "./task-tracker.js";

export interface Dashboard {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A failed task's error, read back from its first return object through the public get(): the dashboard sees
 * the error exactly as a caller would. Undefined when the object is gone or does not settle soon.
 */
function errorReader(rt: Runtime): (taskId: string) => Promise<Error | undefined> {
  return async (taskId) => {
    try {
      const ref = new ObjectRef(objectIdOf(Number.parseInt(taskId.slice(1), 16) as TaskId, 0), rt);
      await rt.get(ref, { timeoutMs: 1000 });
      return undefined;
    } catch (error) {
      return error instanceof Error && error.name !== "GetTimeoutError" ? error : undefined;
    }
  };
}

/**
 * Serves the dashboard of `rt` on 127.0.0.1:`port`; rejects with a LoomError naming the port when it is taken.
 * A cluster's head passes its node table (`nodes`) and the cluster token.
 */
export async function serveDashboard(rt: Runtime, port: number, cluster?: { nodes: NodeSource; token?: string }): Promise<Dashboard> {
  let server: DashboardServer | undefined;
  const nodes = cluster?.nodes ?? new LocalNodeSource(() => `${HOST}:${server ? new URL(server.url).port : port}`);
  const state = new DashboardState(rt, nodes, errorReader(rt));
  try {
    server = new DashboardServer(state, new EventStream(rt.events, state), cluster?.token);
    await server.listen(port);
  } catch (error) {
    state.close();
    throw error;
  }
  const listening = server;
  return {
    url: listening.url,
    close: async () => {
      state.close();
      await listening.close();
    },
  };
}
