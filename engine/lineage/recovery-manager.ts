// Lineage recovery: rebuilds a lost object by re-executing the task that made it, or an actor call's result
// by replaying the actor's chain on a replica. It only runs the algorithm; the tables are the others'.
import * as L from "../../core-wasm/shared/layout.js";
import { ObjectLostError, ReconstructionError } from "../errors.js";
import { childTaskId, objectIdOf, taskIdOfObject, formatTaskId, formatObjectId, DRIVER_TASK_ID, type ObjectId, type TaskId, type ActorId } from "../ids.js";
import { resolveTaskOptions } from "../options.js";
import type { DriverContext } from "../runtime/driver-context.js";
import { NONE, NO_SLOT, type TaskEntry } from "../tasks/task-entry.js";
import type { ActorEntry } from "../actors/actor-manager.js";

/** What RecoveryManager reaches in the driver: its arrows in engine/README.md. */
export type RecoveryManagerDeps = Pick<DriverContext, "cluster" | "streams" | "actors" | "core" | "dispatcher" | "events" | "graph" | "objects" | "parkWake" | "refs" | "tasks" | "transport" | "waiters">;

export class RecoveryManager {
  constructor(private readonly d: RecoveryManagerDeps) {}

  /**
   * Rebuilds a lost object by re-executing the task that made it; returns its (reopened) core entry.
   * 1. A put object cannot be re-executed: ObjectLostError. 2. Without its task's lineage: ReconstructionError.
   * 3. A task already re-running: nothing to do. 4. Otherwise reopen its returns and dispatch it again;
   *    its own lost arguments are rebuilt first by the same path when it is dispatched.
   */
  recover(id: ObjectId): number {
    const taskId = this.d.streams.producerOf(id);
    const o = this.d.objects.get(id);
    const task = this.d.tasks.get(taskId);
    // Evicted objects were announced by evict(); objects found missing (freed, then needed) are announced here.
    const announced = o !== undefined && o.entry !== 0 && this.d.core.exports.objState(o.entry) === L.OBJ_LOST;
    if (o?.isPut || task?.kind === "put" || (!task && o && !o.isPut && taskId < 2 ** 45 && taskId > 0 && this.d.objects.isPutId(id))) {
      throw new ObjectLostError(`object ${id} was made by put() and is lost; put objects cannot be rebuilt`);
    }
    if (!task) throw new ReconstructionError(`object ${id} is lost and its lineage was released (nothing referenced it)`);
    if (taskId !== taskIdOfObject(id)) {
      this.reopenYield(id);
      if (task.state === "pending" || task.state === "running") {
        // A yield lost while its generator still runs: this run made it already and will not make it again.
        // Rebuild it once the run has ended (not failed then as one this run was to make: see failUnyielded).
        task.reopenedYields?.delete(id);
        (task.afterRun ??= []).push(() => { try { this.recover(id); } catch (error) { this.d.waiters.rejectWaiters(id, error as Error); } });
        return this.d.objects.registerObject(id, false).entry;
      }
      // The run about to start must make it again; if it does not, finishTask fails it (failUnyielded).
      (task.reopenedYields ??= new Set()).add(id);
    }
    if (task.kind === "actor-create") {
      throw new ReconstructionError(`object ${id} is the creation marker of actor ${task.name} and is lost; it is not rebuilt`);
    }
    if (task.kind === "actor-method") return this.rebuildActorResult(task, id, announced);
    const obj = this.d.objects.registerObject(id, false);
    if (task.state === "pending" || task.state === "running") return obj.entry;
    const reopened = this.reopenReturns(task);
    task.state = "pending";
    task.attempts = 0;
    this.d.parkWake.inFlight++;
    if (!announced) this.d.events.emit("object:lost", { objectId: id, taskId: formatTaskId(taskId) });
    const release = () => { for (const rid of reopened) this.d.refs.decRef(rid); };
    const rebuilt = () => {
      release();
      this.d.events.emit("object:rebuilt", { objectId: id, taskId: formatTaskId(taskId) });
    };
    if (task.node !== undefined) this.d.graph.setState(task.node, "rebuilding");
    // The holds on the reopened returns go either way: kept past a rejection, they would keep the objects and
    // the task's row for good (as rebuildActorResult's `done` does for a replay).
    this.d.waiters.whenSealedNoRecover(id).then(rebuilt, release);
    // Hold its arguments until it ends, exactly the references finishTask drops again (top-level and nested),
    // before dispatch: dispatch can end it at once (an argument that cannot come back fails it), and finishTask
    // must not drop holds it never took. An argument that was freed keeps its hold on a placeholder (incRef);
    // dispatch registers and rebuilds it.
    for (const d of task.deps) this.d.refs.incRef(d);
    for (const d of task.nestedRefs) this.d.refs.incRef(d);
    this.d.dispatcher.dispatch(task, true);
    return obj.entry;
  }

  /** A lost yield of a streaming generator: reopened, so the generator's re-execution seals it again. */
  private reopenYield(id: ObjectId): void {
    const o = this.d.objects.registerObject(id, false);
    const ex = this.d.core.exports;
    if (ex.objState(o.entry) === L.OBJ_LOST) ex.objReopen(o.entry);
    o.freeWhenSealed = false;
  }

  /**
   * Reopens every return of a task about to run again, so that the re-execution can seal them; returns those
   * reopened, each held by the rebuild until it seals (the caller drops the holds then).
   */
  private reopenReturns(task: TaskEntry): ObjectId[] {
    const ex = this.d.core.exports;
    const reopened: ObjectId[] = [];
    for (let i = 0; i < task.options.numReturns; i++) {
      const rid = objectIdOf(task.id, i);
      const ro = this.d.objects.registerObject(rid, false);
      const state = ex.objState(ro.entry);
      if (state === L.OBJ_LOST || state === L.OBJ_PENDING) ex.objReopen(ro.entry);
      else if (state === L.OBJ_SEALED) continue;
      ro.refs++;
      reopened.push(rid);
      ro.freeWhenSealed = false;
    }
    return reopened;
  }

  /** Actor calls whose results a replay is rebuilding now, by task id: a second loss waits for the same replay. */
  private readonly actorRebuilds = new Set<TaskId>();
  /**
   * Rebuilds a lost result of an actor call by replaying the actor's stateful chain on a replica, so the live
   * actor (its state, its queue, its restarts) is untouched:
   * 1. The call must still be in the actor's log (made after its last checkpoint) and the actor alive: else
   *    ReconstructionError naming why.
   * 2. A fresh instance is built like the actor's (its constructor arguments, restored from its checkpoint),
   *    hosted under a new actor id on some thread, and replays the logged calls before the lost one without
   *    keeping their results; the lost call itself runs for real and seals into the reopened returns.
   * 3. When they are sealed the replica is dropped. A replica whose thread dies is restarted like any actor.
   */
  private rebuildActorResult(task: TaskEntry, id: ObjectId, announced: boolean): number {
    const actor = this.d.actors.get(task.actorId!);
    const obj = this.d.objects.registerObject(id, false);
    if (this.actorRebuilds.has(task.id)) return obj.entry;
    if (task.state === "pending" || task.state === "running") return obj.entry; // its first run will seal it
    if (!actor && this.d.cluster?.foreign.isCall(task)) {
      throw new ReconstructionError(`object ${id} was made by ${task.name} and is lost; the actor is another process's (its log is its owner's), so its chain cannot be replayed here`);
    }
    if (!actor || actor.state === "dead") {
      throw new ReconstructionError(`object ${id} was made by ${task.name} and is lost; its actor is dead, so its chain cannot be replayed`);
    }
    const upTo = actor.log.indexOf(task);
    if (upTo < 0) {
      throw new ReconstructionError(`object ${id} was made by ${task.name} (call ${task.seq}) and is lost; only calls after the actor's last checkpoint (call ${actor.checkpoint?.seq ?? 0}) can be replayed`);
    }
    const reopened = this.reopenReturns(task);
    this.actorRebuilds.add(task.id);
    if (!announced) this.d.events.emit("object:lost", { objectId: id, taskId: formatTaskId(task.id) });

    const replicaTaskId = childTaskId(DRIVER_TASK_ID, this.d.tasks.driverChildren++);
    const replicaId = replicaTaskId as unknown as ActorId;
    const create = this.d.tasks.newTask(replicaTaskId, DRIVER_TASK_ID, "actor-create", actor.fnId, `${actor.className} (replay)`,
      actor.create.payload, actor.create.deps, [], resolveTaskOptions({}));
    create.actorId = replicaId;
    const marker = this.d.objects.get(objectIdOf(replicaTaskId, 0));
    if (marker) marker.freeWhenSealed = true; // nobody holds a replica's creation marker
    // Copies of the logged calls under the replica: same task ids (so the lost call seals the same objects),
    // no graph nodes of their own; only the lost call keeps its result and holds its arguments while it runs.
    const log: TaskEntry[] = actor.log.slice(0, upTo + 1).map((call) => {
      const copy = call.clone();
      copy.actorId = replicaId;
      copy.slot = NO_SLOT;
      copy.node = undefined;
      copy.ownedPuts = NONE;
      copy.replay = call !== task;
      copy.state = call === task ? "pending" : call.state;
      copy.attempts = 0;
      if (call === task) copy.options = { ...call.options, maxRetries: -1 };
      return copy;
    });
    const target = log[log.length - 1]!;
    for (const d of target.deps) this.d.refs.incRef(d);
    for (const d of target.nestedRefs) this.d.refs.incRef(d);
    this.d.parkWake.inFlight++;
    const replica: ActorEntry = {
      id: replicaId, fnId: actor.fnId, className: actor.className, methods: actor.methods, create,
      options: { maxRestarts: 3 }, worker: this.d.actors.placeActor(), state: "alive", restarts: 0, log,
      checkpoint: actor.checkpoint, seq: actor.checkpoint?.seq ?? 0, resources: {},
    };
    this.d.actors.set(replicaId, replica);
    const done = () => {
      this.actorRebuilds.delete(task.id);
      for (const rid of reopened) this.d.refs.decRef(rid);
      if (this.d.actors.get(replicaId) === replica) {
        this.d.actors.delete(replicaId);
        if (replica.state === "alive") { this.d.transport.post(replica.worker, { t: "actor-drop", actorId: replicaId }); this.d.actors.actorLoad[replica.worker]--; }
      }
      // The replica's constructor row: while the replica was listed, a release of its lineage kept it (a live
      // actor's constructor is run again on restart); nothing will release it again now, so it goes here, and with
      // it the lineage it holds on the constructor's arguments' producers.
      this.d.tasks.forgetIfUnneeded(create);
    };
    this.d.waiters.whenSealedNoRecover(id).then(() => {
      done();
      this.d.events.emit("object:rebuilt", { objectId: id, taskId: formatTaskId(task.id) });
    }, done);
    this.d.dispatcher.dispatch(create);
    for (const call of log) this.d.actors.dispatchActorTask(call);
    return obj.entry;
  }
}

/** Why a rebuild of `task` failed: the argument `lost` could not come back (itself a ReconstructionError, or its cause). */
export function reconstructionFailure(task: TaskEntry, lost: ObjectId, error: Error): ReconstructionError {
  if (error instanceof ReconstructionError) return error;
  return new ReconstructionError(
    `task ${task.name} (${formatTaskId(task.id)}) could not be rebuilt: its argument ${formatObjectId(lost)} is lost (${error.message})`,
    { cause: error });
}
