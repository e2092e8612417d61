// A worker's link to its driver: the control messages both ways, in order (tasks themselves come through the
// core's queues in shared memory, not this way). Owns the channel and the count of messages sent; not what the
// messages mean (see WorkerRuntime.onMessage).
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import type { DriverToWorker, WorkerToDriver } from "./messages.js";

/** What a worker needs from its channel to the driver; over worker_threads a MessagePort, later a socket too. */
export interface DriverLink {
  /** Messages sent by post() so far: a task compares counts to learn whether it sent any (see TaskCompleter.finish). */
  readonly posted: number;
  /** True while drainInTask() runs (see ActorHost.actorEnqueue). */
  readonly drainingInTask: boolean;
  /** Sends a message after every one sent before it, and counts it. */
  post(message: WorkerToDriver): void;
  /** Sends a message after every one sent before it, uncounted: it is no task's message (the "refs" reports). */
  send(message: WorkerToDriver): void;
  /** Where the driver's messages go; set once, before any arrives. */
  onMessage(handler: (m: DriverToWorker) => void): void;
  /** Handles every message the driver has posted so far, now, ahead of the event loop. */
  drain(): void;
  /**
   * drain() from inside a task's synchronous code: an actor call that arrives meanwhile starts after the task
   * yields, not in its middle (see ActorHost.actorEnqueue).
   */
  drainInTask(): void;
}

/** The DriverLink of a worker thread: the MessagePort to the driver that started it. */
export class PortDriverLink implements DriverLink {
  posted = 0;
  drainingInTask = false;
  private handler: (m: DriverToWorker) => void = () => {};

  constructor(private readonly port: MessagePort) {}

  onMessage(handler: (m: DriverToWorker) => void): void {
    this.handler = handler;
    this.port.on("message", (m: DriverToWorker) => this.handler(m));
  }

  post(message: WorkerToDriver): void {
    this.posted++;
    this.port.postMessage(message);
  }

  send(message: WorkerToDriver): void {
    this.port.postMessage(message);
  }

  drain(): void {
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) this.handler(m.message as DriverToWorker);
  }

  drainInTask(): void {
    this.drainingInTask = true;
    try { this.drain(); } finally { this.drainingInTask = false; }
  }
}
