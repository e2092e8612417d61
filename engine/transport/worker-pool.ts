// Worker threads: spawns them over the shared core, routes their messages to the driver, reports deaths: the
// DriverTransport over worker_threads. It does not decide what a death means for tasks and actors; the driver does.
import { Worker, type WorkerOptions } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import type { CoreHandle } from "../wasm/core.js";
import type { DriverToWorker, WorkerToDriver } from "./messages.js";
import type { DriverTransport, DriverTransportEvents, WorkerDeath } from "./driver-transport.js";

export interface WorkerSlot {
  index: number;
  thread: Worker;
  alive: boolean;
  /** Messages are posted at once; a new thread buffers them until its entry module runs. */
  generation: number;
  /** Set when the thread has died: its exit code, and the error it died of if one escaped. */
  exitCode?: number;
  uncaught?: Error;
}

export type WorkerPoolEvents = DriverTransportEvents;
export type { WorkerDeath };

/**
 * The driver's exec arguments for a worker, with tsx's full loader (`--import tsx`) narrowed to its ESM loader
 * (`tsx/esm`). The full loader also hooks require(), and transforms CommonJS files (apache-arrow's tslib, for
 * one) through esbuild's synchronous API, which detaches ArrayBuffers; once one buffer in a thread has been
 * detached, V8 (11.3, Node 20) runs every typed-array loop in that thread about 1.4x slower (a 3000² convolution:
 * 330 -> 470 ms of CPU). Task modules in .ts still load: the function cache registers tsx's ESM loader itself.
 */
function workerExecArgv(): string[] | undefined {
  const all = process.execArgv;
  const narrowed = all.map((a, i) => {
    if (a === "tsx" && all[i - 1] === "--import") return "tsx/esm";
    if (a === "--import=tsx") return "--import=tsx/esm";
    return a;
  });
  // Unchanged: leave them inherited (Node then accepts process-wide flags such as --expose-gc, which it
  // refuses when they are given explicitly; V8 flags apply to every thread anyway).
  return narrowed.some((a, i) => a !== all[i]) ? narrowed : undefined;
}

/** Starts a thread; exec arguments Node refuses for a worker (process-wide ones) are dropped, once. */
function startThread(target: string, options: WorkerOptions): Worker {
  try {
    return new Worker(target, options);
  } catch (error) {
    const refused = (error as NodeJS.ErrnoException).code === "ERR_WORKER_INVALID_EXEC_ARGV" && options.execArgv;
    if (!refused) throw error;
    const bad = new Set((error as Error).message.split(": ").pop()!.split(/,\s*|\s+/));
    return new Worker(target, { ...options, execArgv: options.execArgv!.filter((a) => !bad.has(String(a))) });
  }
}

function workerEntry(): { url: URL; typescript: boolean } {
  const typescript = import.meta.url.endsWith(".ts");
  return { url: new URL(`../worker/worker-main.${typescript ? "ts" : "js"}`, import.meta.url), typescript };
}

export class WorkerPool implements DriverTransport {
  readonly workers: WorkerSlot[] = [];
  private generation = 0;

  constructor(
    private readonly handle: CoreHandle,
    private readonly capacityBytes: number,
    private readonly on: WorkerPoolEvents,
    /** checkImmutable: workers checksum the segments they write (see ImmutabilityChecker). */
    private readonly checksums = false,
  ) {}

  spawn(index: number): WorkerSlot {
    const { url, typescript } = workerEntry();
    const workerData = { handle: this.handle, index, capacityBytes: this.capacityBytes, checksums: this.checksums };
    let thread: Worker;
    if (typescript) {
      // tsx does not reach worker threads on Node 20: register it inside the thread before loading the entry.
      const tsxApi = import.meta.resolve("tsx/esm/api");
      const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
      thread = startThread(code, { eval: true, workerData, execArgv: workerExecArgv() });
    } else {
      thread = startThread(fileURLToPath(url), { workerData, execArgv: workerExecArgv() });
    }
    const slot: WorkerSlot = { index, thread, alive: true, generation: ++this.generation };
    // A message from a thread already replaced must not count against its replacement (same index).
    thread.on("message", (m: WorkerToDriver) => { if (this.workers[index] === slot) this.on.message(index, m); });
    thread.on("error", (e) => {
      slot.uncaught = e;
      this.on.error(index, e);
    });
    thread.on("exit", (code) => {
      slot.alive = false;
      slot.exitCode = code;
      this.on.exit(index, slot.generation, code);
    });
    // After the listeners (adding a message listener refs the port): an idle driver lets the process exit.
    thread.unref();
    this.workers[index] = slot;
    return slot;
  }

  /** Why the thread at `index` died (read before a replacement is spawned there). */
  deathOf(index: number): WorkerDeath {
    const w = this.workers[index];
    if (w?.uncaught) {
      return { reason: `uncaught ${w.uncaught.name}: ${w.uncaught.message}`, cause: w.uncaught };
    }
    const code = w?.exitCode;
    const reason = code === undefined ? "exit code unknown" : `exited with code ${code}`;
    return { reason, cause: Object.assign(new Error(`worker ${index} ${reason}`), { exitCode: code }) };
  }

  post(index: number, message: DriverToWorker): void {
    const w = this.workers[index];
    if (w?.alive) w.thread.postMessage(message);
  }

  broadcast(message: DriverToWorker): void {
    for (const w of this.workers) if (w?.alive) w.thread.postMessage(message);
  }

  alive(index: number): boolean {
    return this.workers[index]?.alive ?? false;
  }

  isCurrent(index: number, generation: number): boolean {
    const w = this.workers[index];
    return !w || w.generation === generation;
  }

  async terminate(index: number): Promise<void> {
    const w = this.workers[index];
    if (w?.alive) await w.thread.terminate();
  }

  async terminateAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => w?.alive ? w.thread.terminate() : undefined));
  }
}
