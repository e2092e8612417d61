// Runs the plain tasks this thread takes: reads the payload, resolves top-level ref arguments, calls the function
// in the task's context and hands the outcome to the TaskCompleter. Owns the table of tasks running here (actor
// calls too); not the loop that takes them (TaskPump) nor actors' mailboxes (ActorHost).
import * as L from "../../core-wasm/shared/layout.js";
import type { Core } from "../wasm/core.js";
import { toWire, LoomError, TaskTimeoutError } from "../errors.js";
import { formatTaskId, type TaskId } from "../ids.js";
import { isObjectRef } from "../refs.js";
import type { FunctionCache } from "./function-cache.js";
import { taskContext, type TaskContext } from "./task-context.js";
import { crashPoint, CRASH_RUNNING } from "./crash-points.js";
import { taskIdOf, type PayloadReader, type TaskPayload } from "./payload-reader.js";
import type { TaskCompleter } from "./task-completer.js";
import type { ObjectReader } from "./object-reader.js";
import type { CpuSlot, TaskRunner } from "./task-pump.js";
import type { StreamRunner } from "./stream-runner.js";
import type { ResourceLoan } from "./resource-loan.js";

export class TaskExecutor implements TaskRunner {
  /** Tasks and actor calls running here, until their end is reported (the "abort" message finds them here). */
  readonly running = new Map<TaskId, TaskContext>();
  private readonly i32: Int32Array;

  constructor(
    private readonly core: Core, private readonly functions: FunctionCache, private readonly payloads: PayloadReader,
    private readonly completer: TaskCompleter, private readonly objects: ObjectReader, private readonly cpu: CpuSlot,
    private readonly streams: StreamRunner, private readonly loan: ResourceLoan,
  ) {
    this.i32 = core.i32;
  }

  isRunning(taskId: TaskId): boolean {
    return this.running.has(taskId);
  }

  runTask(slot: number): void {
    const taskId = taskIdOf(this.core, slot);
    let payload: TaskPayload;
    try {
      payload = this.payloads.readPayload(slot);
    } catch (error) {
      this.completer.finishWithError(slot, taskId, 1, toWire(error));
      return;
    }
    const ctx: TaskContext = { taskId, run: this.core.taskField(slot, L.TASK_RUN), nextChild: 0, controller: undefined, functionName: payload.n, cpu: true };
    this.running.set(taskId, ctx);
    this.cpu.holdCpu();
    const outcome = this.execute(slot, taskId, payload, ctx);
    // No closure on the synchronous path: it is most tasks, and each closure here cost a keepNames wrapper.
    if (outcome instanceof Promise) outcome.then(() => this.taskEnded(ctx), () => this.taskEnded(ctx));
    else this.taskEnded(ctx);
  }

  /** Called once per runTask, when its outcome is reported. */
  private taskEnded(ctx: TaskContext): void {
    this.running.delete(ctx.taskId);
    this.cpu.taskEnded(ctx);
  }

  /** Resolves arguments and calls the function; returns a promise only when something had to be awaited. */
  private execute(slot: number, taskId: TaskId, p: TaskPayload, ctx: TaskContext): void | Promise<void> {
    // Fast path: a loaded function and no ref arguments run now, without a trip through the microtask queue.
    const loaded = this.functions.peek(p.f);
    if (loaded !== undefined && !p.a.some(isObjectRef)) return this.call(slot, taskId, p, ctx, loaded, p.a);
    const fnPromise = this.functions.get(p.f);
    const argsReady = this.resolveTopLevel(p.a, ctx);
    return Promise.all([fnPromise, argsReady]).then(
      ([fn, args]) => this.call(slot, taskId, p, ctx, fn, args),
      (error) => this.completer.failTask(slot, taskId, p, error, true),
    );
  }

  /** Calls the function in the task's context and seals what it returns (or throws). */
  private call(slot: number, taskId: TaskId, p: TaskPayload, ctx: TaskContext, fn: unknown, args: unknown[]): void | Promise<void> {
    let result: unknown;
    crashPoint(this.i32, CRASH_RUNNING, taskId);
    try {
      result = taskContext.run(ctx, () => (fn as (...a: unknown[]) => unknown)(...args));
    } catch (error) {
      return this.completer.failTask(slot, taskId, p, error);
    }
    if (p.g !== undefined) {
      return Promise.resolve(result).then((gen) => this.streams.run(taskId, p, ctx, gen, true)).then(
        (count) => this.completer.completeTask(slot, taskId, p, count),
        (error) => this.completer.failTask(slot, taskId, p, error),
      );
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => this.completer.completeTask(slot, taskId, p, value),
        (error) => this.completer.failTask(slot, taskId, p, error),
      );
    }
    return this.completer.completeTask(slot, taskId, p, result);
  }

  /** Top-level refs become their values; a failed argument fails the task with the same error. */
  resolveTopLevel(args: unknown[], holder?: TaskContext): Promise<unknown[]> {
    const pending: Promise<void>[] = [];
    const out = args.slice();
    let mustWait = false;
    for (let i = 0; i < out.length; i++) {
      const a = out[i];
      if (!isObjectRef(a)) continue;
      const now = this.objects.tryRead(a.id);
      if (now && !now.error) { out[i] = now.value; continue; }
      // Sealed but its segment not yet here: the driver sends it at once, so keep the slot (releasing it
      // would let this thread take the next task too, and both would then run here one after the other).
      if (!now && !this.objects.sealedHere(a.id)) mustWait = true;
      pending.push(this.objects.getOne(a.id, false).then((v) => { out[i] = v; }));
    }
    if (!pending.length) return Promise.resolve(out);
    if (!holder || !mustWait) return Promise.all(pending).then(() => out);
    // An argument lost after the task was armed is being rebuilt: wait without holding this thread's slot, nor
    // the resources the task was admitted with (the rebuild may need them), and take both back before it runs.
    this.loan.lend(holder.taskId, holder.run);
    return this.cpu.withoutCpu(holder, Promise.all(pending).then(() => this.loan.takeBack(holder.taskId, holder.run)).then(() => out));
  }

  /** The driver's "abort": the task was cancelled, or ran past its timeoutMs. */
  abort(taskId: TaskId, timeoutMs: number | undefined): void {
    const ctx = this.running.get(taskId);
    // Made here if the task has not read its signal yet, so that a later read finds it aborted.
    const why = timeoutMs === undefined
      ? new LoomError(`task ${formatTaskId(taskId)} was cancelled`)
      : new TaskTimeoutError(`task ${ctx?.functionName ?? ""} (${formatTaskId(taskId)}) ran longer than its timeoutMs (${timeoutMs} ms)`,
        { taskId: formatTaskId(taskId), functionName: ctx?.functionName ?? "", timeoutMs });
    if (ctx) (ctx.controller ??= new AbortController()).abort(why);
    // Its caller already has its TaskCancelledError: the slot is free at once, even if its code never settles.
    if (ctx) { ctx.cancelled = true; this.cpu.releaseCpu(ctx); }
    this.streams.onAbort(taskId);
  }
}
