// An actor class for engine/cluster/node-service.test.ts: one whose thread can be made to die.
export class Fragile {
  ping(): string {
    return "pong";
  }
  /** Ends its worker thread: the actor dies with its calls (no local restarts on a cluster node). */
  crash(): never {
    process.exit(7);
  }
}
