// Worker threads: spawns them over the shared core, routes their messages to the runtime, reports deaths.
// It does not decide what a death means for tasks and actors; the runtime does.
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import type { CoreHandle } from "../wasm/core.js";
import type { DriverToWorker, WorkerToDriver } from "../transport/messages.js";

export interface WorkerSlot {
  index: number;
  thread: Worker;
  alive: boolean;
  /** Messages are posted at once; a new thread buffers them until its entry module runs. */
  generation: number;
}

export interface WorkerPoolEvents {
  message(index: number, message: WorkerToDriver): void;
  exit(index: number, generation: number, code: number): void;
  error(index: number, error: Error): void;
}

function workerEntry(): { url: URL; typescript: boolean } {
  const typescript = import.meta.url.endsWith(".ts");
  return { url: new URL(`../worker/worker-main.${typescript ? "ts" : "js"}`, import.meta.url), typescript };
}

export class WorkerPool {
  readonly workers: WorkerSlot[] = [];
  private generation = 0;

  constructor(
    private readonly handle: CoreHandle,
    private readonly capacityBytes: number,
    private readonly on: WorkerPoolEvents,
  ) {}

  spawn(index: number): WorkerSlot {
    const { url, typescript } = workerEntry();
    const workerData = { handle: this.handle, index, capacityBytes: this.capacityBytes };
    let thread: Worker;
    if (typescript) {
      // tsx does not reach worker threads on Node 20: register it inside the thread before loading the entry.
      const tsxApi = import.meta.resolve("tsx/esm/api");
      const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
      thread = new Worker(code, { eval: true, workerData });
    } else {
      thread = new Worker(fileURLToPath(url), { workerData });
    }
    const slot: WorkerSlot = { index, thread, alive: true, generation: ++this.generation };
    thread.on("message", (m: WorkerToDriver) => this.on.message(index, m));
    thread.on("error", (e) => this.on.error(index, e));
    thread.on("exit", (code) => {
      slot.alive = false;
      this.on.exit(index, slot.generation, code);
    });
    // After the listeners (adding a message listener refs the port): an idle driver lets the process exit.
    thread.unref();
    this.workers[index] = slot;
    return slot;
  }

  post(index: number, message: DriverToWorker): void {
    const w = this.workers[index];
    if (w?.alive) w.thread.postMessage(message);
  }

  broadcast(message: DriverToWorker): void {
    for (const w of this.workers) if (w?.alive) w.thread.postMessage(message);
  }

  async terminateAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => w?.alive ? w.thread.terminate() : undefined));
  }
}
