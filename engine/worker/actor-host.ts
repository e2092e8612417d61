// Hosts the actors placed on this thread: their instances, their mailboxes, replayed calls and checkpoints.
// Completes calls through the TaskCompleter; does not decide placement, restarts or what to replay (the driver does).
import * as L from "../../core-wasm/shared/layout.js";
import type { Core } from "../wasm/core.js";
import { encodeValue, decodeValue, writeEncoded, type DecodeHooks } from "../serialization/value-codec.js";
import { taskErrorFrom, toWire, LoomError, type WireError, ActorDiedError } from "../errors.js";
import { objectIdOf, formatTaskId, type TaskId, type ActorId } from "../ids.js";
import type { DriverLink } from "../transport/driver-link.js";
import type { FunctionCache } from "./function-cache.js";
import { taskContext, type TaskContext } from "./task-context.js";
import { crashPoint, CRASH_RUNNING, CRASH_CHECKPOINTING } from "./crash-points.js";
import { taskIdOf, type PayloadReader, type TaskPayload } from "./payload-reader.js";
import { encodeErrorValue, type ActorCheckpoint, type TaskCompleter } from "./task-completer.js";
import type { TaskExecutor } from "./task-executor.js";
import { actorDrain, type ActorMailbox } from "./actor-mailbox.js";
import type { StreamRunner } from "./stream-runner.js";
import { merged } from "../merged.js";

/** An actor hosted here: a row of ActorHost.actors, from actor-create to actor-drop. */
interface HostedActor extends ActorMailbox {
  actorId: ActorId;
  instance?: Record<string, (...args: unknown[]) => unknown>;
  createError?: WireError;
  calls: number;
  checkpointEvery: number;
  dropped: boolean;
}

export class ActorHost {
  private readonly actors = new Map<ActorId, HostedActor>();
  private readonly i32: Int32Array;

  constructor(
    private readonly core: Core, private readonly index: number, private readonly functions: FunctionCache,
    private readonly payloads: PayloadReader, private readonly executor: TaskExecutor,
    private readonly completer: TaskCompleter, private readonly hooks: DecodeHooks, private readonly link: DriverLink,
    private readonly streams: StreamRunner,
  ) {
    this.i32 = core.i32;
  }

  hostActor(actorId: ActorId, slot: number, fnId: number, checkpointEvery: number, maxConcurrency: number, checkpoint?: Uint8Array, checkpointSeq = 0): void {
    const host: HostedActor = {
      actorId, mailbox: [], running: 0, maxConcurrency, exclusive: false, calls: checkpoint ? checkpointSeq : 0, checkpointEvery, dropped: false,
    };
    this.actors.set(actorId, host);
    this.actorEnqueue(host, true, async () => {
      if (host.dropped) return this.skipSlot(slot);
      const taskId = taskIdOf(this.core, slot);
      if (!this.core.exports.taskStart(slot, this.index)) { this.completer.notifyDriver(); return; }
      const p = this.payloads.readPayload(slot);
      const ctx: TaskContext = { taskId, run: this.core.taskField(slot, L.TASK_RUN), nextChild: 0, controller: undefined, functionName: p.n };
      try {
        const Cls = (await this.functions.get(fnId)) as new (...args: unknown[]) => Record<string, (...a: unknown[]) => unknown>;
        const args = await this.executor.resolveTopLevel(p.a);
        host.instance = await taskContext.run(ctx, async () => {
          const instance = new Cls(...args);
          if (checkpoint && typeof instance.restore === "function") {
            const state = decodeValue(checkpoint, 0, this.hooks, false);
            await instance.restore(state);
          }
          return instance;
        });
        if (host.dropped) { this.core.exports.taskFinish(slot, L.OUTCOME_SKIPPED); this.completer.notifyDriver(); return; }
        this.completer.sealEncoded(objectIdOf(taskId, 0), encodeValue(null), 0);
        this.core.exports.taskFinish(slot, L.OUTCOME_OK);
      } catch (error) {
        host.createError = error instanceof LoomError ? toWire(error) : taskErrorFrom(error, formatTaskId(taskId), `${p.n}.constructor`);
        this.completer.sealEncoded(objectIdOf(taskId, 0), encodeErrorValue(host.createError), L.FLAG_ERROR);
        this.core.exports.taskFinish(slot, L.OUTCOME_FAILED);
      }
      this.completer.notifyDriver();
    });
  }

  enqueueActorCall(actorId: ActorId, slot: number, replay: boolean): void {
    const host = this.actors.get(actorId);
    if (!host) {
      // The actor is gone from this thread (dropped): report the call failed.
      const taskId = taskIdOf(this.core, slot);
      const p = this.payloads.readPayload(slot);
      this.core.exports.taskStart(slot, this.index);
      this.completer.finishWithError(slot, taskId, p.r, toWire(new ActorDiedError(`actor ${actorId} is not alive on worker ${this.index}`)));
      return;
    }
    // A replayed call rebuilds state: one at a time, in order, like the constructor.
    this.actorEnqueue(host, replay, () => this.runActorCall(host, slot, replay));
  }

  /** The driver's "actor-drop": the actor left this thread; jobs still queued only report their slots skipped. */
  dropActor(actorId: ActorId): void {
    const a = this.actors.get(actorId);
    if (a) { a.dropped = true; this.actors.delete(actorId); }
  }

  private actorEnqueue(host: HostedActor, exclusive: boolean, job: () => Promise<void>): void {
    host.mailbox.push({ job, exclusive });
    // Messages drained from inside a task (current().getActor) must not run another actor's method in the middle
    // of that task's synchronous code: start after it yields.
    if (this.link.drainingInTask) queueMicrotask(() => actorDrain(host));
    else actorDrain(host);
  }

  /** A job of a dropped host: the slot is only reported back, untouched (the driver holds it until then). */
  private skipSlot(slot: number): void {
    if (this.core.exports.taskStart(slot, this.index)) this.core.exports.taskFinish(slot, L.OUTCOME_SKIPPED);
    this.completer.notifyDriver();
  }

  private async runActorCall(host: HostedActor, slot: number, replay: boolean): Promise<void> {
    const completer = this.completer;
    if (host.dropped) return this.skipSlot(slot);
    if (!this.core.exports.taskStart(slot, this.index)) { completer.notifyDriver(); return; }
    completer.markStarted(slot);
    const taskId = taskIdOf(this.core, slot);
    let p: TaskPayload;
    try {
      p = this.payloads.readPayload(slot, true);
    } catch (error) {
      completer.finishWithError(slot, taskId, 1, toWire(error));
      return;
    }
    if (host.createError || !host.instance) {
      completer.finishWithError(slot, taskId, p.r, host.createError ?? toWire(new ActorDiedError(`actor ${host.actorId} has no instance`)));
      return;
    }
    const ctx: TaskContext = { taskId, run: this.core.taskField(slot, L.TASK_RUN), nextChild: 0, controller: undefined, functionName: `${p.n}.${p.am}`, actor: true };
    this.executor.running.set(taskId, ctx);
    try {
      const args = await this.executor.resolveTopLevel(p.a);
      const method = host.instance[p.am!];
      if (typeof method !== "function") throw new LoomError(`actor ${p.n} has no method ${JSON.stringify(p.am)}`);
      crashPoint(this.i32, CRASH_RUNNING, taskId);
      let value = await taskContext.run(ctx, () => method.apply(host.instance, args));
      if (p.g !== undefined) value = await this.streams.run(taskId, p, ctx, value, !replay);
      host.calls++;
      if (host.dropped) { completer.finish(slot, L.OUTCOME_SKIPPED, completer.takeStarted(slot)); return; } // the restarted instance answers
      // Taken before the result is sealed and reported with it: a caller that has seen this result (or a later
      // one) sees an actor whose restart restores this checkpoint.
      if (host.checkpointEvery > 0) completer.checkpointToReport = await this.checkpointIfDue(host, taskId);
      completer.sealsViaDriver = host.checkpointEvery > 0;
      try {
        if (replay) completer.finish(slot, L.OUTCOME_OK, completer.takeStarted(slot));
        else completer.completeTask(slot, taskId, merged(p, { x: false }), value);
      } finally {
        completer.sealsViaDriver = false;
        completer.checkpointToReport = undefined;
      }
    } catch (error) {
      host.calls++;
      if (host.dropped) { completer.finish(slot, L.OUTCOME_SKIPPED, completer.takeStarted(slot)); return; }
      completer.sealsViaDriver = host.checkpointEvery > 0;
      try {
        if (replay) completer.finish(slot, L.OUTCOME_FAILED, completer.takeStarted(slot));
        else completer.failTask(slot, taskId, merged(p, { n: `${p.n}.${p.am}`, x: p.x }), error, error instanceof LoomError);
      } finally {
        completer.sealsViaDriver = false;
      }
    } finally {
      this.executor.running.delete(taskId);
    }
  }

  /**
   * The actor's checkpoint when one is due after this call, encoded; undefined otherwise. A checkpoint() that
   * throws is skipped with a warning: the calls since the last checkpoint stay in the driver's log, so a
   * restart replays them and nothing is lost.
   */
  private async checkpointIfDue(host: HostedActor, taskId: TaskId): Promise<ActorCheckpoint | undefined> {
    if (host.checkpointEvery <= 0 || host.calls % host.checkpointEvery !== 0) return undefined;
    const instance = host.instance!;
    if (typeof instance.checkpoint !== "function") return undefined;
    try {
      const e = encodeValue(await instance.checkpoint(), "checkpoint()");
      crashPoint(this.i32, CRASH_CHECKPOINTING, taskId);
      const state = new Uint8Array(e.size);
      writeEncoded(e, state, 0);
      return { actorId: host.actorId, seq: host.calls, state };
    } catch (error) {
      process.emitWarning(`Loom: actor ${host.actorId}'s checkpoint() after call ${host.calls} failed, so the calls since ` +
        `its last checkpoint stay in its log: ${String(error)}`, { code: "LOOM_CHECKPOINT_FAILED" });
      return undefined;
    }
  }
}
