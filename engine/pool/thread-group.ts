// The threads a Pool owns for piscina-style run(): starting them (minThreads up front, more up to maxThreads
// under load), dispatch to the least busy one, the wait queue, idle exits, deaths and replacements, close and
// destroy. Emits piscina's events through the Pool. It does not check options (piscina-options.ts) and runs
// no user code (thread-entry.ts does, in each thread).
import { once } from "node:events";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort, type WorkerOptions } from "node:worker_threads";
import { abortError, crashRetriesSpentError, threadTerminationError } from "./pool-errors.js";
import { PoolTiming } from "./pool-timing.js";
import { unwrapMovable } from "./task-transfer.js";
import { WaitQueue } from "./wait-queue.js";
import { balancedTask, ThreadRecord, type LoadBalancer } from "./thread-balancer.js";
import {
  COUNT_FIELDS, READY_KEY, REQUEST_COUNT,
  type ResultMessage, type StartupMessage, type TaskMessage,
} from "./thread-protocol.js";
import type { ResolvedPiscinaOptions } from "./piscina-options.js";
import type { AbortSignalLike } from "./pool-options.js";

/** Where the group's events go (the Pool, an EventEmitter). */
export interface EventSink {
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

/** One run() call as the group takes it: the module export to call and how. */
export interface RunRequest {
  /** An absolute path or a file: URL. */
  readonly filename: string;
  readonly name: string;
  readonly signal: AbortSignalLike | null;
  readonly transferList: readonly unknown[];
  /** Times the task is run again when its thread dies under it (Loom's option; piscina's behaviour is 0). */
  readonly maxRetries: number;
}

/** One run() from submission to its end. */
class PendingTask {
  /** The thread running it; undefined while queued. */
  thread: ThreadSlot | undefined;
  /** performance.now() when a thread took it. */
  started = 0;
  settled = false;
  readonly created = performance.now();
  /** Has a signal: an abort terminates its thread, so it runs on a thread of its own. */
  abortable = false;
  detachAbort: (() => void) | undefined;
  /** Runs left after a thread death; counts down from the request's maxRetries. */
  retriesLeft = 0;
  /** Thread deaths this task went through. */
  crashes = 0;

  constructor(
    readonly message: TaskMessage,
    readonly transferList: unknown[],
    private readonly done: (error: unknown, value: unknown) => void,
  ) {}

  /** Ends the task once; later calls (a thread termination after an abort) do nothing. */
  settle(error: unknown, value?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    // Before the promise settles, so a signal outliving the task holds no listener of ours.
    this.detachAbort?.();
    this.done(error, value);
  }
}

/** A thread and its tasks; `removed` once terminated or dead (its exit is then expected). */
interface ThreadSlot {
  readonly thread: Worker;
  readonly port: MessagePort;
  /** REQUEST_COUNT / RESPONSE_COUNT, shared with the thread (see thread-entry.ts). */
  readonly counts: Int32Array;
  /** Module loaded; startup threads count as ready at once (their first tasks wait in the port). */
  ready: boolean;
  removed: boolean;
  /** Runs an abortable task: nothing else may join it (an abort kills the thread). */
  abortable: boolean;
  /** Whether thread and port are ref'd now (toggling them costs a call into the runtime each time). */
  referenced: boolean;
  readonly tasks: Map<number, PendingTask>;
  idleTimer: NodeJS.Timeout | undefined;
  /** What a loadBalancer sees of it, and its run times with workerHistogram. */
  readonly record: ThreadRecord;
}

/** How a pool thread is started: its entry as a file, or (running from .ts sources) through tsx's loader. */
function threadTarget(): { target: string; eval: boolean } {
  const entry = new URL(`./thread-entry.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url);
  if (!entry.pathname.endsWith(".ts")) return { target: fileURLToPath(entry), eval: false };
  // Node 20 does not carry tsx's hooks into worker threads: register them in the thread first.
  const tsx = import.meta.resolve("tsx/esm/api");
  return {
    target: `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`,
    eval: true,
  };
}

export class ThreadGroup {
  readonly timing: PoolTiming;
  /** Tasks that ended (resolved or rejected). */
  completed = 0;
  /** Set when every thread is busy to capacity, cleared (with 'drain') when one frees up. */
  needsDrain = false;
  private readonly threads = new Set<ThreadSlot>();
  /** Tasks waiting for a thread, oldest first. */
  private readonly queue = new WaitQueue<PendingTask>();
  private nextTaskId = 1;
  private closing = false;
  private destroying = false;
  /** A thread died before its module loaded: do not replace it over and over. */
  private failsDuringBootstrap = false;
  /** True while onResult takes waiting results from every port (it may be re-entered through a settle). */
  private takingResults = false;
  /** Called whenever a task ends (close() waits through it). */
  private onTaskEnd: (() => void) | undefined;

  /** The user's loadBalancer; undefined: the least busy ready thread with room. */
  private readonly balancer: LoadBalancer | undefined;

  constructor(
    readonly options: ResolvedPiscinaOptions,
    private readonly events: EventSink,
  ) {
    this.balancer = options.loadBalancer;
    this.timing = new PoolTiming(options.recordTiming);
    this.ensureMinimum(true);
  }

  get threadList(): Worker[] {
    return [...this.threads].map((slot) => slot.thread);
  }

  get idleThreads(): number {
    let idle = 0;
    for (const slot of this.threads) if (slot.ready && slot.tasks.size === 0) idle++;
    return idle;
  }

  /** Queued tasks beyond what threads still starting will take. */
  get queueSize(): number {
    return Math.max(this.queue.length - this.pendingCapacity(), 0);
  }

  /** Running tasks over the pool's capacity (maxThreads × concurrentTasksPerWorker), since the group started. */
  utilization(duration: number): number {
    if (this.timing.runCount === 0) return 0;
    return this.timing.runTotal / (duration * this.options.maxThreads);
  }

  /**
   * Runs `task` on a thread:
   * 1. refuse at once: a closing pool or an aborted signal (AbortError);
   * 2. a free ready thread takes it now; else it waits in the queue (bounded by maxQueue plus what threads
   *    still starting will take) and a thread is started when the pool is below maxThreads;
   * 3. an abort rejects it: a queued task leaves the queue, a running one's thread is terminated and replaced.
   */
  run(task: unknown, request: RunRequest): Promise<unknown> {
    const { filename, name, signal, transferList } = request;
    if (this.closing || this.destroying) return Promise.reject(abortError("queue is being terminated"));
    if (signal?.aborted) return Promise.reject(abortError(signal.reason));
    let resolve!: (value: unknown) => void;
    let reject!: (error: unknown) => void;
    const result = new Promise<unknown>((res, rej) => ((resolve = res), (reject = rej)));
    const moved = unwrapMovable(task, transferList);
    const pending = new PendingTask({ id: this.nextTaskId++, task: moved.value, filename, name }, moved.transferList, (error, value) => {
      this.completed++;
      if (pending.started !== 0) this.timing.recordRun(performance.now() - pending.started);
      error === null ? resolve(value) : reject(error);
      this.maybeDrain();
      this.onTaskEnd?.();
    });
    pending.retriesLeft = request.maxRetries;
    if (signal != null) {
      pending.abortable = true;
      pending.detachAbort = onAbort(signal, () => this.abort(pending, signal));
    }
    if (this.queue.length > 0) {
      if (this.queue.length >= this.options.maxQueue + this.pendingCapacity()) {
        pending.settle(this.options.maxQueue === 0 ? new Error("No task queue available and all Workers are busy") : new Error("Task queue is at limit"));
      } else {
        this.queue.push(pending);
        if (this.threads.size < this.options.maxThreads) this.addThread(false);
      }
    } else if (!this.dispatch(pending)) {
      if (this.threads.size < this.options.maxThreads) this.addThread(false);
      if (this.options.maxQueue <= 0 && this.pendingCapacity() === 0) {
        pending.settle(new Error("No task queue available and all Workers are busy"));
      } else this.queue.push(pending);
    }
    this.maybeDrain();
    return result;
  }

  /** Waits for running and queued tasks (`force`: rejects the queued ones), then destroys; a timeout is an 'error' event. */
  async close(force: boolean): Promise<void> {
    this.closing = true;
    if (force) {
      for (const pending of this.queue.takeAll()) pending.settle(abortError("pool is closed"));
    }
    const flushed = new Promise<void>((resolve) => {
      const check = () => {
        if (this.queue.length === 0 && [...this.threads].every((slot) => slot.tasks.size === 0)) resolve();
      };
      this.onTaskEnd = check;
      check();
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("Close operation timed out")), this.options.closeTimeout);
      timer.unref();
    });
    try {
      await Promise.race([flushed, timedOut]);
    } catch (error) {
      this.events.emit("error", error);
    } finally {
      clearTimeout(timer);
      this.onTaskEnd = undefined;
      await this.destroy();
    }
  }

  /** Stops every thread now: queued and running tasks reject with "Terminating worker thread". */
  async destroy(): Promise<void> {
    this.destroying = true;
    for (const pending of this.queue.takeAll()) pending.settle(threadTerminationError());
    const exits: Promise<unknown>[] = [];
    for (const slot of [...this.threads]) {
      exits.push(once(slot.thread, "exit"));
      this.removeThread(slot);
    }
    await Promise.allSettled(exits);
  }

  private pendingCapacity(): number {
    let starting = 0;
    for (const slot of this.threads) if (!slot.ready) starting++;
    return starting * this.options.concurrentTasksPerWorker;
  }

  private ensureMinimum(startingUp = false): void {
    if (this.closing || this.destroying) return;
    while (this.threads.size < this.options.minThreads) this.addThread(startingUp);
  }

  /** Starts a thread; a startup one is ready at once ('workerCreate' on the next microtask, once listeners exist). */
  private addThread(startingUp: boolean): void {
    if (this.closing || this.destroying) return;
    const { port1, port2 } = new MessageChannel();
    const counts = new Int32Array(new SharedArrayBuffer(COUNT_FIELDS * Int32Array.BYTES_PER_ELEMENT));
    const o = this.options;
    const { target, eval: isEval } = threadTarget();
    const workerOptions: WorkerOptions = {
      eval: isEval,
      env: o.env as WorkerOptions["env"],
      argv: o.argv,
      execArgv: o.execArgv,
      resourceLimits: o.resourceLimits,
      workerData: o.workerData,
      trackUnmanagedFds: o.trackUnmanagedFds,
    };
    const thread = new Worker(target, workerOptions);
    const threadId = thread.threadId;
    const slot: ThreadSlot = {
      thread, port: port1, counts, ready: startingUp, removed: false, abortable: false, referenced: true, tasks: new Map(), idleTimer: undefined,
      record: new ThreadRecord(() => ({ threadId, usage: slot.tasks.size, abortable: slot.abortable, removed: slot.removed }), o.workerHistogram),
    };
    const startup: StartupMessage = { port: port2, counts, filename: o.filename, name: o.name, atomics: o.atomics };
    thread.postMessage(startup, [port2]);
    port1.on("message", (m: ResultMessage) => this.onResult(slot, m));
    thread.on("message", (m: unknown) => {
      if (m !== null && typeof m === "object" && READY_KEY in m) {
        if (!slot.ready) this.onReady(slot);
      } else this.events.emit("message", m);
    });
    thread.on("error", (error: Error) => this.onThreadError(slot, error, false));
    thread.on("exit", (code: number) => {
      if (!this.destroying && !slot.removed) this.onThreadError(slot, new Error(`worker exited with code: ${code}`), true);
    });
    this.threads.add(slot);
    this.refWhileBusy(slot);
    if (startingUp) queueMicrotask(() => this.onReady(slot, true));
  }

  /** A startup thread is announced even if it was removed meanwhile: each 'workerDestroy' follows a 'workerCreate'. */
  private onReady(slot: ThreadSlot, startingUp = false): void {
    if (slot.removed && !startingUp) return;
    this.events.emit("workerCreate", slot.thread);
    if (slot.removed) return;
    slot.ready = true;
    this.refWhileBusy(slot);
    if (!startingUp) this.failsDuringBootstrap = false;
    this.onAvailable(slot);
  }

  /** A thread has room: queued tasks go to threads with room; an idle thread above minThreads may exit later. */
  private onAvailable(slot: ThreadSlot): void {
    for (let next = this.queue.peek(); next !== undefined; next = this.queue.peek()) {
      if (!next.settled && !this.dispatch(next)) {
        if (this.threads.size < this.options.maxThreads) this.addThread(false);
        break;
      }
      this.queue.shift();
    }
    if (this.options.idleTimeout === Infinity || slot.removed) return;
    if (slot.tasks.size === 0 && this.threads.size > this.options.minThreads) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = setTimeout(() => {
        if (slot.tasks.size === 0 && this.threads.size > this.options.minThreads) this.removeThread(slot);
      }, this.options.idleTimeout);
      slot.idleTimer.unref();
    }
  }

  /**
   * Posts `pending` to the least busy ready thread with room; false when there is none. An abortable task
   * takes only an empty thread, and no task joins a thread running one.
   */
  private dispatch(pending: PendingTask): boolean {
    const best = this.balancer === undefined ? this.leastBusy(pending) : this.chosenByBalancer(this.balancer, pending);
    if (best === undefined) return false;
    const now = performance.now();
    this.timing.recordWait(now - pending.created);
    pending.started = now;
    pending.thread = best;
    try {
      best.port.postMessage(pending.message, pending.transferList as never);
    } catch (error) {
      pending.settle(error); // a task that cannot be cloned (a function, say) fails alone
      return true;
    }
    best.tasks.set(pending.message.id, pending);
    best.abortable = pending.abortable;
    clearTimeout(best.idleTimer);
    this.refWhileBusy(best);
    // The thread may be blocked in Atomics.wait on this counter (atomics: "sync" or "async").
    Atomics.add(best.counts, REQUEST_COUNT, 1);
    Atomics.notify(best.counts, REQUEST_COUNT, 1);
    return true;
  }

  private leastBusy(pending: PendingTask): ThreadSlot | undefined {
    let best: ThreadSlot | undefined;
    for (const slot of this.threads) {
      if (!slot.ready || slot.tasks.size >= this.options.concurrentTasksPerWorker) continue;
      if (slot.abortable || (pending.abortable && slot.tasks.size > 0)) continue;
      if (best === undefined || slot.tasks.size < best.tasks.size) best = slot;
    }
    return best;
  }

  /** The user's loadBalancer picks among the ready threads; its choice stands, limits included (as in piscina). */
  private chosenByBalancer(balancer: LoadBalancer, pending: PendingTask): ThreadSlot | undefined {
    const ready = [...this.threads].filter((slot) => slot.ready);
    const m = pending.message;
    const chosen = balancer(balancedTask(m.id, m.task, m.filename, m.name, pending.created, pending.abortable), ready.map((slot) => slot.record.view));
    return chosen == null ? undefined : ready.find((slot) => slot.record.view === chosen);
  }

  private onResult(slot: ThreadSlot, m: ResultMessage): void {
    this.takeResult(slot, m);
    // Results already waiting on any port are taken now, without an event-loop turn each.
    if (this.takingResults) return;
    this.takingResults = true;
    try {
      for (const other of this.threads) {
        for (let entry = receiveMessageOnPort(other.port); entry !== undefined; entry = receiveMessageOnPort(other.port)) {
          this.takeResult(other, entry.message as ResultMessage);
        }
      }
    } finally {
      this.takingResults = false;
    }
  }

  private takeResult(slot: ThreadSlot, m: ResultMessage): void {
    const pending = slot.tasks.get(m.id);
    if (pending === undefined) return; // aborted meanwhile
    slot.tasks.delete(m.id);
    slot.record.recordRun(performance.now() - pending.started);
    if (pending.abortable) slot.abortable = false;
    m.ok ? pending.settle(null, m.value) : pending.settle(m.error);
    this.onAvailable(slot);
    this.refWhileBusy(slot);
  }

  /**
   * A thread threw outside a task, or exited:
   * 1. its tasks with retries left wait again (at the back of the queue); the others reject with the cause
   *    (`worker exited with code: N`, or the uncaught error), or, after retries, with the last cause as `cause`;
   * 2. with no task running, an uncaught error is an 'error' event (an exit is not);
   * 3. the thread is replaced up to minThreads (and for waiting tasks), unless threads keep dying before ready.
   */
  private onThreadError(slot: ThreadSlot, error: Error, onlyWhenRunning: boolean): void {
    const tasks = [...slot.tasks.values()];
    slot.tasks.clear();
    const wasReady = slot.ready;
    this.removeThread(slot);
    const failed: PendingTask[] = [];
    for (const pending of tasks) {
      pending.crashes++;
      if (pending.retriesLeft > 0 && !this.closing && !this.destroying) {
        pending.retriesLeft--;
        pending.thread = undefined;
        this.queue.push(pending);
      } else failed.push(pending);
    }
    if (wasReady && !this.failsDuringBootstrap) {
      this.ensureMinimum();
      if (this.queue.length > 0 && this.threads.size < this.options.maxThreads) this.addThread(false);
    } else this.failsDuringBootstrap = true;
    for (const pending of failed) pending.settle(pending.crashes > 1 ? crashRetriesSpentError(pending.crashes, error) : error);
    if (tasks.length === 0 && !onlyWhenRunning) this.events.emit("error", error);
    for (const other of this.threads) if (other.ready) this.onAvailable(other);
  }

  /** Terminates a thread; its tasks reject with "Terminating worker thread"; emits 'workerDestroy'. */
  private removeThread(slot: ThreadSlot): void {
    if (slot.removed) return;
    slot.removed = true;
    this.threads.delete(slot);
    clearTimeout(slot.idleTimer);
    const tasks = [...slot.tasks.values()];
    slot.tasks.clear();
    for (const pending of tasks) pending.settle(threadTerminationError());
    void slot.thread.terminate();
    slot.port.close();
    this.events.emit("workerDestroy", slot.thread);
  }

  /**
   * A thread with tasks keeps the process alive, and so does one still starting (queued tasks wait for it);
   * a ready idle one does not (as in piscina).
   */
  private refWhileBusy(slot: ThreadSlot): void {
    const wanted = slot.tasks.size > 0 || !slot.ready;
    if (wanted === slot.referenced) return;
    slot.referenced = wanted;
    if (wanted) {
      slot.thread.ref();
      slot.port.ref();
    } else {
      slot.thread.unref();
      slot.port.unref();
    }
  }

  private abort(pending: PendingTask, signal: AbortSignalLike): void {
    if (pending.settled) return;
    const thread = pending.thread;
    pending.settle(abortError((signal as { reason?: unknown }).reason));
    if (thread !== undefined) {
      this.removeThread(thread);
      this.ensureMinimum();
      if (this.queue.length > 0 && this.threads.size < this.options.maxThreads) this.addThread(false);
    } else {
      this.queue.remove(pending);
    }
  }

  private maybeDrain(): void {
    const capacity = this.options.maxThreads * this.options.concurrentTasksPerWorker;
    let usage = 0;
    for (const slot of this.threads) usage += slot.tasks.size;
    if (usage >= capacity) {
      this.needsDrain = true;
      queueMicrotask(() => this.events.emit("needsDrain"));
    } else if (this.needsDrain) {
      this.needsDrain = false;
      queueMicrotask(() => this.events.emit("drain"));
    }
  }
}

/** Listens for the signal's abort once; returns the function that stops listening. */
function onAbort(signal: AbortSignalLike, listener: () => void): () => void {
  if ("addEventListener" in signal && typeof signal.addEventListener === "function") {
    signal.addEventListener("abort", listener, { once: true });
    return () => signal.removeEventListener("abort", listener);
  }
  const emitter = signal as { once(e: "abort", l: () => void): unknown; removeListener(e: "abort", l: () => void): unknown };
  emitter.once("abort", listener);
  return () => emitter.removeListener("abort", listener);
}
