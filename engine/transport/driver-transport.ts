// The driver's link to its workers, by worker index: what WorkerPool does over worker_threads today and a TCP
// transport to another node's workers could do later. Messages are the shapes of messages.ts.
import type { DriverToWorker, WorkerToDriver } from "./messages.js";

/** Why a worker died, for the errors of the tasks it took with it. */
export interface WorkerDeath {
  /** "exited with code 7", or "uncaught TypeError: ...". */
  reason: string;
  /** The uncaught error, or an Error naming the exit code (its `exitCode` field holds it). */
  cause: Error;
}

/** What a transport tells the driver: a worker's messages, its exit, an error that escaped it. */
export interface DriverTransportEvents {
  message(index: number, message: WorkerToDriver): void;
  exit(index: number, generation: number, code: number): void;
  error(index: number, error: Error): void;
}

export interface DriverTransport {
  /** Starts (or replaces) the worker at `index`; messages posted before it runs are buffered. */
  spawn(index: number): void;
  /** Sends to one worker; dropped if it is not alive. */
  post(index: number, message: DriverToWorker): void;
  /** Sends to every live worker. */
  broadcast(message: DriverToWorker): void;
  alive(index: number): boolean;
  /** Whether an exit of `generation` is about the worker at `index` now (not one already replaced). */
  isCurrent(index: number, generation: number): boolean;
  /** Why the worker at `index` died (read before a replacement is spawned there). */
  deathOf(index: number): WorkerDeath;
  /** Stops one worker as a crash would. */
  terminate(index: number): Promise<void>;
  terminateAll(): Promise<void>;
}
