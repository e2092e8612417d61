// The driver's side of the worker message protocol (transport/messages.ts): routes each message from a
// thread to the owner that handles it, and settles what a dead thread took with it.
import * as L from "../../core-wasm/shared/layout.js";
import { Core } from "../wasm/core.js";
import { WorkerCrashedError } from "../errors.js";
import { taskIdOfObject, actorHandleObjectId, formatTaskId, objectIdOf, idLo, idHi, DRIVER_TASK_ID, type TaskId } from "../ids.js";
import { resolveTaskOptions, DEFAULT_RESOURCES } from "../options.js";
import type { WorkerToDriver, WireSubmission } from "../transport/messages.js";
import type { DriverContext } from "./driver-context.js";
import { isDefaultResources } from "../scheduler/resource-ledger.js";

/** What WorkerProtocol reaches in the driver: its arrows in engine/README.md. */
export type WorkerProtocolDeps = Pick<DriverContext, "streams" | "actors" | "args" | "closed" | "core" | "crashes" | "dispatcher" | "events" | "functions" | "graph" | "i32" | "objects" | "parkWake" | "recovery" | "refs" | "resources" | "spill" | "store" | "tasks" | "transport" | "waiters" | "cluster">;

export class WorkerProtocol {
  constructor(private readonly d: WorkerProtocolDeps) {}

  onWorkerMessage(index: number, m: WorkerToDriver): void {
    switch (m.t) {
      case "ready": break;
      case "done": {
        if (m.checkpoint) this.d.actors.onCheckpoint(m.checkpoint.actorId, m.checkpoint.seq, m.checkpoint.state);
        // Seals deferred by the worker until the driver had read the task's own messages.
        for (const r of m.seals ?? []) this.d.parkWake.notifyWorkers(this.d.objects.seal(this.d.objects.registerObject(r.id, false), r));
        // The list that named those blocks in the thread's record: the seals own the blocks now.
        if (m.held) this.d.core.exports.workerHeldTaken(index, m.held);
        this.d.tasks.onTaskDone(m.slot);
        this.d.dispatcher.drainAdmissions();
        break;
      }
      case "drop": {
        const ex = this.d.core.exports;
        if (m.location) { ex.workerBlockTaken(index, m.location); ex.arenaFree(m.location); }
        if (m.held) ex.workerHeldDropped(index, m.held);
        break;
      }
      case "submit": this.submitFromWorker(index, m.spec); break;
      case "put": {
        this.tookBlock(index, m);
        const o = this.d.objects.registerObject(m.id, true);
        if (m.segment) { this.d.store.keepSegment(m.id, m.segment); this.d.objects.segmentStored(m.id, m.sum); }
        this.d.refs.holdContained(o, m.refs);
        // Held for the thread that put it until it reports its refs dropped (an actor's state may keep them), or
        // the plain task that put it ends (if the ref escapes in its result, the result holds it), or it dies.
        this.d.refs.holdForThread(index, m.id, m.parentId);
        this.d.objects.seal(o, m);
        this.d.graph.recordNode(taskIdOfObject(m.id), "put", "put", "finished");
        this.d.waiters.onSealed(m.id);
        break;
      }
      case "segment": {
        // Sealed otherwise already (a cancellation), or freed: the writer's seal fails, its segment is no object's.
        if (!this.d.objects.takesSegment(m.id)) { this.d.objects.segmentLost(m.id, undefined); break; }
        this.d.store.keepSegment(m.id, m.segment);
        this.d.objects.segmentStored(m.id, m.sum);
        const o = this.d.objects.get(m.id);
        if (o) this.d.refs.holdContained(o, m.refs);
        this.d.waiters.onSealed(m.id);
        break;
      }
      case "contains": {
        const o = this.d.objects.get(m.id);
        if (o) this.d.refs.holdContained(o, m.refs);
        break;
      }
      case "want": {
        this.d.objects.restoreIfSpilled(m.id);
        this.d.spill.touch(m.id);
        if (this.d.objects.isReadable(m.id)) {
          this.d.transport.post(index, { t: "object", id: m.id, segment: this.d.store.segmentToSend(m.id) });
          break;
        }
        let set = this.d.waiters.workerWants.get(m.id);
        if (!set) { set = new Set(); this.d.waiters.workerWants.set(m.id, set); }
        set.add(index);
        if (this.d.cluster?.objects.fetchIfRemote(m.id)) break; // held by another node: pulled here
        const o = this.d.objects.get(m.id);
        if (!o || o.entry === 0 || this.d.core.exports.objState(o.entry) === L.OBJ_LOST) {
          try { this.d.recovery.recover(m.id); } catch (error) { this.d.waiters.rejectWaiters(m.id, error as Error); }
        }
        break;
      }
      case "borrow": this.d.refs.holdForThread(index, m.id, DRIVER_TASK_ID); break;
      case "args-lost": this.d.dispatcher.lend(this.d.tasks.get(m.taskId), m.run); break;
      case "args-back": this.d.dispatcher.takeBack(m.taskId, m.run, index); break;
      case "refs": for (const id of m.drop) this.d.refs.releaseWorkerPut(index, id); break;
      case "cancel": this.d.tasks.cancelTask(this.d.streams.producerOf(m.id), m.force); break;
      case "yield": this.onYield(index, m); break;
      case "stream-wait": this.d.streams.wantRoom(index, m.taskId, m.need); break;
      case "kill-actor": {
        const desc = { actorId: m.actorId, className: "", methods: [], owner: m.owner };
        if (this.d.cluster?.foreign.isForeign(desc)) this.d.cluster.foreign.kill(desc, m.noRestart);
        else this.d.actors.killActor(m.actorId, m.noRestart);
        break;
      }
    }
  }

  /**
   * A streaming generator's yield, written by its worker: registered under the generator's lineage, sealed, and
   * handed to its stream. A yield nobody holds (a rebuild's repeat of one long dropped) is freed again at once.
   */
  private onYield(index: number, m: Extract<WorkerToDriver, { t: "yield" }>): void {
    this.tookBlock(index, m);
    this.d.streams.noteItem(m.taskId, m.id);
    const o = this.d.objects.registerObject(m.id, false);
    if (this.d.core.exports.objState(o.entry) === L.OBJ_SEALED) {
      this.d.store.release(m.id, m.location, m.flags & ~L.FLAG_SEGMENT); // sealed first by an earlier run: keep that
      return;
    }
    if (m.segment) { this.d.store.keepSegment(m.id, m.segment); this.d.objects.segmentStored(m.id, m.sum); }
    this.d.refs.holdContained(o, m.refs);
    this.d.tasks.get(m.taskId)?.reopenedYields?.delete(m.id); // made again: nothing to fail at the run's end
    this.d.parkWake.notifyWorkers(this.d.objects.seal(o, m));
    const kept = this.d.streams.arrived(m.taskId, m.index);
    this.d.waiters.onSealed(m.id);
    if (!kept && o.refs <= 0 && this.d.objects.get(m.id) === o) this.d.objects.freeObject(o);
  }

  /** A put or yield in the arena: the block is the driver's now, no longer the thread's to be reclaimed if it dies. */
  private tookBlock(index: number, m: { location: number; flags: number }): void {
    if (!(m.flags & L.FLAG_SEGMENT)) this.d.core.exports.workerBlockTaken(index, m.location);
  }

  /**
   * A dead thread's task whose return got its segment ("segment" message) but never its seal: the segment is no
   * object's. A retry posts its own; an error sealed instead would leave it in the store for good.
   */
  private dropUnsealedSegments(entry: { id: TaskId; options: { numReturns: number } }): void {
    const ex = this.d.core.exports;
    for (let i = 0; i < entry.options.numReturns; i++) {
      const id = objectIdOf(entry.id, i);
      if (!this.d.store.segments.has(id)) continue;
      const e = ex.objFind(idLo(id), idHi(id));
      if (e !== 0 && ex.objState(e) !== L.OBJ_PENDING) continue;
      this.d.store.dropSegment(id);
      this.d.spill.forget(id);
    }
  }

  private submitFromWorker(index: number, spec: WireSubmission): void {
    if (this.d.closed) return;
    const existing = this.d.tasks.get(spec.taskId);
    if (existing) {
      // A re-executed parent submits the same child again: reuse it; it is not run twice. Its new refs there
      // hold its results again.
      if (!spec.actorCreate) this.d.refs.holdResultsForThread(index, existing, spec.parentId);
      else this.d.refs.holdForThread(index, actorHandleObjectId(this.d.actors.handleCountOf(spec.actorCreate.actorId)), spec.parentId);
      return;
    }
    // Sent to every thread before the task is dispatched (see ArgumentEncoder.share).
    const sharedKey = spec.shared?.length ? this.d.args.share(spec.taskId, spec.shared) : undefined;
    if (spec.actorCreate) {
      this.d.actors.createActorEntry(spec.taskId, spec.parentId, spec.fn, spec.actorCreate.methods, spec.payload, spec.deps, spec.nested, spec.actorCreate.options).create.sharedKey = sharedKey;
      // The thread's handle, counted there: held until it reports none left, or the plain task that made it ends.
      this.d.refs.holdForThread(index, actorHandleObjectId(this.d.actors.handleCountOf(spec.actorCreate.actorId)), spec.parentId);
      return;
    }
    if (spec.actorCall) {
      const call = spec.actorCall;
      const desc = { actorId: call.actorId, className: call.className ?? "actor", methods: [], owner: call.owner };
      const foreign = this.d.cluster?.foreign.isForeign(desc) === true;
      const actor = foreign ? undefined : this.d.actors.get(call.actorId);
      const resolved = resolveTaskOptions(spec.options);
      const entry = this.d.tasks.newTask(spec.taskId, spec.parentId, "actor-method", -1, `${actor?.className ?? desc.className}.${call.method}`, spec.payload, spec.deps, spec.nested, resolved);
      entry.actorId = call.actorId;
      entry.method = call.method;
      entry.sharedKey = sharedKey;
      if (foreign) this.d.cluster!.foreign.fileCall(entry, desc as typeof desc & { owner: NonNullable<typeof desc.owner> }, spec.options.maxRetries);
      this.d.refs.holdResultsForThread(index, entry, spec.parentId);
      this.d.dispatcher.dispatch(entry);
      return;
    }
    const resolved = resolveTaskOptions(spec.options);
    const entry = this.d.tasks.newTask(spec.taskId, spec.parentId, "task", this.d.functions.functionId(spec.fn), resolved.name ?? spec.fn.name, spec.payload, spec.deps, spec.nested, resolved);
    entry.sharedKey = sharedKey;
    this.d.refs.holdResultsForThread(index, entry, spec.parentId);
    if (resolved.resources !== DEFAULT_RESOURCES) this.d.resources.noteIfInfeasible(resolved.resources, entry.id, entry.name);
    this.d.dispatcher.dispatch(entry);
  }

  onWorkerExit(index: number, generation: number): void {
    if (this.d.closed) return;
    if (!this.d.transport.isCurrent(index, generation)) return;
    this.d.events.emit("worker:died", { worker: index });
    this.d.crashes.threadDied();
    const ex = this.d.core.exports;
    // What its record says it was in the middle of (every message it sent was handled before this exit): a push
    // it had begun and the waiters of an object it sealed are finished, what it wrote and never handed over is
    // freed, and it leaves the count of parked workers if it died parked. A report pushed here is drained next.
    this.d.parkWake.notifyWorkers(ex.workerReclaim(index));
    Atomics.notify(this.d.i32, Core.ctl(L.CTL_DONE_SEQ));
    // Anything the dead thread had started must be retried, failed, or (actors) restarted elsewhere.
    for (let slot = 0; slot < this.d.dispatcher.slotsTouched; slot++) {
      const entry = this.d.dispatcher.slotOwner[slot];
      if (!entry || this.d.dispatcher.tombstoneAt(slot)) continue; // a tombstone: released below
      const state = this.d.core.taskField(slot, L.TASK_STATE);
      if (state !== L.TASK_RUNNING || this.d.core.taskField(slot, L.TASK_WORKER) !== index) continue;
      this.dropUnsealedSegments(entry);
      if (entry.kind !== "task") continue;
      if (entry.admitted) { this.d.resources.releaseResources(entry.options.resources); entry.admitted = false; }
      const sealed = this.d.tasks.returnsSealed(entry);
      if (sealed !== undefined && entry.state !== "cancelled") {
        // Died after sealing its results, before its end was taken: callers may have read them. It finished.
        this.d.dispatcher.releaseSlot(slot);
        this.d.tasks.finishTask(entry, sealed, index);
        continue;
      }
      const limit = entry.options.maxRetries;
      const settled = entry.state === "cancelled" || entry.state === "failed" || entry.state === "finished";
      if (!settled && (limit === -1 || entry.attempts < limit || entry.timedOut)) {
        entry.timedOut = false;
        entry.attempts++;
        entry.run = entry.runs++;
        this.d.core.setTaskField(slot, L.TASK_ATTEMPT, entry.attempts);
        this.d.core.setTaskField(slot, L.TASK_RUN, entry.run);
        if (entry.options.timeoutMs !== undefined) this.d.tasks.watchTimeout(entry, slot);
        this.d.events.emit("task:retried", { taskId: formatTaskId(entry.id), name: entry.name, attempt: entry.attempts, reason: "worker died" });
        if (!isDefaultResources(entry.options.resources)) {
          this.d.core.setTaskField(slot, L.TASK_TARGET, L.TARGET_ADMIT);
        }
        ex.taskRequeue(slot);
        this.d.parkWake.notifyWorkers(1);
        if (!isDefaultResources(entry.options.resources)) this.d.dispatcher.drainAdmissions();
      } else {
        this.d.dispatcher.releaseSlot(slot);
        if (!settled) {
          const death = this.d.transport.deathOf(index);
          this.d.tasks.sealError(entry, new WorkerCrashedError(`task ${entry.name} (${formatTaskId(entry.id)}): its worker ${index} died (${death.reason}) and ${limit} retries are spent`, { cause: death.cause }));
          this.d.tasks.finishTask(entry, "failed", index);
        }
      }
    }
    // Its refs died with it: whatever else needs those objects holds them itself (arguments, containers).
    const held = this.d.refs.workerPuts[index];
    if (held) { this.d.refs.workerPuts[index] = new Set(); for (const id of held) this.d.refs.decRef(id); }
    this.d.transport.spawn(index);
    // The replacement knows no functions yet: give it every definition before it can take a task.
    this.d.functions.functionList.forEach((fn, id) => this.d.transport.post(index, { t: "fn", id, fn }));
    for (const [key, buffers] of this.d.args.sharedBuffers) this.d.transport.post(index, { t: "shared", key, buffers });
    for (const [name, id] of this.d.actors.namedActors) this.d.transport.post(index, { t: "actor-name", name, actor: this.d.actors.descriptorOf(this.d.actors.get(id)!) });
    if (this.d.cluster) {
      this.d.transport.post(index, { t: "cluster-identity", owner: this.d.cluster.owner });
      for (const [name, actor] of this.d.cluster.link.names.entries()) if (!this.d.actors.namedActors.has(name)) this.d.transport.post(index, { t: "actor-name", name, actor });
    }
    this.d.events.emit("worker:started", { worker: index });
    this.d.actors.actorLoad[index] = 0;
    this.d.dispatcher.releaseTombstonesOf(index);
    for (const actor of this.d.actors.values()) {
      if (actor.state === "alive" && !actor.awaitingResources && actor.worker === index) this.d.actors.restartActor(actor, `its worker ${index} died`, false);
    }
  }
}
