// The shapes the runtime's facade takes and gives: init's options, and inspect()'s copy of the driver's tables.
import type { Resources } from "../options.js";

/** Options of `init`. */
export interface InitOptions {
  /**
   * Join the cluster whose head listens at this "host:port" ("auto": this machine's head, as `loom start --head`
   * recorded it; default: the LOOM_ADDRESS environment variable, else no cluster).
   */
  address?: string;
  /** Worker threads (default: `os.availableParallelism()`; 0 for a driver that joins a cluster). */
  workers?: number;
  /** Capacity of the shared-memory object store in bytes (default: a quarter of RAM, at most 8 GiB). */
  objectStoreBytes?: number;
  /** Where objects spill when the store is full (default: a temporary directory). */
  spillDir?: string;
  /** Custom resources this node offers, beside `cpu` (which defaults to `workers`). */
  resources?: Record<string, number>;
  /** Serve the live dashboard (engine/dashboard) on 127.0.0.1: true for port 8265, or { port } (0: any free port). */
  dashboard?: boolean | { port?: number };
  /**
   * Detect writes into stored objects through the views `get` returns (a checksum per object held in a
   * segment, compared on reads and at shutdown; see ObjectMutatedError). Default: on when NODE_ENV is "test".
   */
  checkImmutable?: boolean;
}

/** What inspect() returns: plain data, copied out of the driver's tables. */
export interface RuntimeInspection {
  /** ms since 1970 that task start and end times count from. */
  epoch: number;
  workers: Array<{ alive: boolean }>;
  running: Array<{ taskId: string; name: string; worker: number; started: number }>;
  /** Tasks and actor calls submitted here that are not on a worker yet (waiting for arguments, a worker or a slot). */
  queued: number;
  actors: Array<{ actorId: number; className: string; name?: string; state: "pending" | "alive" | "dead"; worker: number; restarts: number; pendingCalls: number }>;
  resources: Resources;
  used: Resources;
  spilledBytes: number;
}
