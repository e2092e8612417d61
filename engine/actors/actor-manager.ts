// Actors: their entries, placement, admission by resources, per-actor call logs, restarts and replay,
// checkpoints, names, and termination when their handles are gone.
import * as L from "../../core-wasm/shared/layout.js";
import { nameTakenMessage } from "../api-checks.js";
import { ActorDiedError, NodeDiedError, toWire, fromWire, type WireError } from "../errors.js";
import { objectIdOf, handleCountActor, type ObjectId, type TaskId, type ActorId } from "../ids.js";
import type { ActorHandleDescriptor } from "../refs.js";
import type { FunctionDescriptor } from "../remote.js";
import { resolveTaskOptions, type TaskOptions, type ActorOptions, type Resources } from "../options.js";
import type { DriverContext } from "../runtime/driver-context.js";
import { NONE, NO_SLOT, type TaskEntry } from "../tasks/task-entry.js";
import { leastLoadedWorker, type PlacementPolicy } from "../scheduler/placement-policy.js";

/** How many forgotten actors' death errors are kept for calls through their old handles. */
const DEAD_ACTORS_KEPT = 4096;

export interface ActorEntry {
  id: ActorId;
  fnId: number;
  className: string;
  methods: string[];
  create: TaskEntry;
  options: ActorOptions & TaskOptions;
  /** Its worker thread here; -1 while it lives on another node of a cluster. */
  worker: number;
  /** The cluster node hosting it; undefined when it lives in this process. */
  node?: string;
  state: "alive" | "dead";
  restarts: number;
  /** Calls since the last checkpoint, in submission order. */
  log: TaskEntry[];
  checkpoint?: { seq: number; state: Uint8Array };
  seq: number;
  name?: string;
  lastCall?: TaskId;
  deathError?: WireError;
  resources: Resources;
  /** A handle of it may have gone to another process of a cluster: never terminated for lost handles. */
  escaped?: boolean;
  /** Its handles are all gone: it ends once its pending calls finish (see handlesGone). */
  terminateWhenIdle?: boolean;
  /**
   * Its resources did not fit when it was made: neither its constructor nor its calls are sent to a thread
   * until they do (they are held for its whole life, as in Ray), and calls wait in its log meanwhile.
   */
  awaitingResources?: boolean;
  /** Restarts that moved it off a draining node: they do not count against maxRestarts (as in Ray). */
  moves?: number;
}

/** What ActorManager reaches in the driver: its arrows in engine/README.md. */
export type ActorManagerDeps = Pick<DriverContext, "closed" | "core" | "dispatcher" | "events" | "functions" | "graph" | "i32" | "objects" | "parkWake" | "refs" | "resources" | "tasks" | "transport" | "workerCount" | "cluster">;

export class ActorManager {
  readonly actors = new Map<ActorId, ActorEntry>();
  readonly namedActors = new Map<string, ActorId>();
  /** Actors waiting for their resources, in creation order (see ActorEntry.awaitingResources). */
  actorsAwaitingResources: ActorEntry[] = [];
  /** Actors hosted per worker index (placement's input). */
  actorLoad: number[];

  constructor(private readonly d: ActorManagerDeps, private readonly place: PlacementPolicy = leastLoadedWorker) {
    this.actorLoad = new Array(d.workerCount).fill(0);
  }

  get(id: ActorId): ActorEntry | undefined { return this.actors.get(id); }
  set(id: ActorId, actor: ActorEntry): void { this.actors.set(id, actor); }
  delete(id: ActorId): boolean { return this.actors.delete(id); }
  values(): IterableIterator<ActorEntry> { return this.actors.values(); }
  get size(): number { return this.actors.size; }

  /** On a cluster, a handle names this process as the actor's owner: others send their calls here. */
  descriptorOf(actor: ActorEntry): ActorHandleDescriptor {
    const d: ActorHandleDescriptor = { actorId: actor.id, className: actor.className, methods: actor.methods };
    if (this.d.cluster) d.owner = this.d.cluster.owner;
    return d;
  }

  /** Starts the actors whose resources now fit, oldest first: the constructor, then every call they hold. */
  admitActors(): void {
    this.actorsAwaitingResources = this.actorsAwaitingResources.filter((actor) => {
      if (actor.state === "dead") return false;
      if (!this.d.resources.fits(actor.resources)) return true;
      actor.awaitingResources = false;
      this.d.resources.acquire(actor.resources);
      this.dispatchActorTask(actor.create);
      for (const call of actor.log) if (call.state === "pending") this.dispatchActorTask(call);
      return false;
    });
  }

  /**
   * As in Ray, an unnamed actor whose handles are all gone is terminated once its pending calls finish. Its
   * handles are counted wherever they are (ReferenceCounter.trackHandle): in the driver, in a worker that made
   * or borrowed one, in a running task's arguments, in a stored value. A named actor lives until killed.
   */
  handlesGone(id: ActorId): void {
    const actor = this.actors.get(this.byHandleCount.get(id) ?? id);
    if (!actor || this.d.closed || actor.state === "dead" || actor.escaped || actor.name !== undefined) return;
    actor.terminateWhenIdle = true;
    this.terminateIfIdle(actor);
  }

  terminateIfIdle(actor: ActorEntry): void {
    if (!actor.terminateWhenIdle || actor.state === "dead" || actor.escaped) return;
    const busy = actor.create.state === "pending" || actor.create.state === "running" ||
      actor.log.some((call) => call.state === "pending" || call.state === "running");
    if (!busy) this.killActor(actor.id, true, "its handles are all gone");
  }

  /** In a cluster: this process's actors by the id their handles are counted under (ids.ts: handleCountActor). */
  private readonly byHandleCount = new Map<ActorId, ActorId>();

  /** The id the handles of this process's actor `id` are counted under. */
  handleCountOf(id: ActorId): ActorId {
    return this.d.cluster ? handleCountActor({ actorId: id, owner: this.d.cluster.owner }) : id;
  }

  /** Files `actor` in the table (and, in a cluster, under the id its handles are counted under). */
  private file(actor: ActorEntry): void {
    this.actors.set(actor.id, actor);
    if (this.d.cluster) this.byHandleCount.set(this.handleCountOf(actor.id), actor.id);
  }

  /**
   * A handle of this actor is held by an encoded value (a task's arguments, a stored value, a borrow). On a
   * cluster that value may go to another process, whose handles are not counted here: the actor is kept
   * (never terminated for lost handles), as before handles were counted.
   */
  handleHeldByValue(id: ActorId): void {
    if (!this.d.cluster) return;
    const actor = this.actors.get(this.byHandleCount.get(id) ?? id);
    if (actor) actor.escaped = true;
  }

  createActorEntry(
    taskId: TaskId, parentId: TaskId, cls: FunctionDescriptor, methods: string[], payload: Uint8Array,
    deps: ObjectId[], nested: ObjectId[], options: ActorOptions & TaskOptions,
  ): ActorEntry {
    const actorId = taskId as unknown as ActorId;
    const resources = options.resources ?? {};
    if (!this.d.cluster) this.d.resources.noteIfInfeasible({ cpu: 0, ...resources }, taskId, cls.name);
    const fnId = this.d.functions.functionId(cls);
    // Refs nested in the constructor's arguments are held for the actor's life: a restart decodes them again.
    const create = this.d.tasks.newTask(taskId, parentId, "actor-create", fnId, cls.name, payload, deps, nested, resolveTaskOptions({}));
    create.actorId = actorId;
    if (options.name !== undefined && this.nameTaken(options.name)) {
      // A task made it (the driver's own creations are refused before this: see Runtime.createActor): its thread
      // already holds a handle, so the actor exists, dead, and calls through that handle fail saying why.
      const refused: ActorEntry = {
        id: actorId, fnId, className: cls.name, methods, create, options, worker: -1, node: undefined, state: "alive",
        restarts: 0, log: [], seq: 0, name: options.name, resources, awaitingResources: true,
      };
      this.file(refused);
      this.notStarted(refused, nameTakenMessage(options.name));
      return refused;
    }
    const node = this.d.cluster?.placeActor(resources);
    const actor: ActorEntry = {
      id: actorId, fnId, className: cls.name, methods, create, options, worker: node === undefined ? this.placeActor() : -1, node: node ?? undefined, state: "alive",
      restarts: 0, log: [], seq: 0, name: options.name, resources,
    };
    this.file(actor);
    if (options.name !== undefined) {
      this.namedActors.set(options.name, actorId);
      this.d.transport.broadcast({ t: "actor-name", name: options.name, actor: this.descriptorOf(actor) });
      if (this.d.cluster) {
        // Names are the cluster's: it starts once the head gave it the name (another process may hold it).
        actor.awaitingResources = true;
        this.claimName(actor, options.name, node);
        return actor;
      }
    }
    this.start(actor, node);
    return actor;
  }

  /** Whether a live actor this process knows of holds `name`: one of its own, or (on a cluster) another process's. */
  nameTaken(name: string): boolean {
    const existing = this.namedActors.get(name);
    if (existing !== undefined && this.actors.get(existing)?.state === "alive") return true;
    const elsewhere = this.d.cluster?.link.names.lookup(name);
    return elsewhere !== undefined && this.d.cluster!.foreign.isForeign(elsewhere);
  }

  /**
   * Claims the actor's name at the head, then starts it; a name another live process holds kills it, and its
   * calls fail with an ActorDiedError naming the holder (the constructor never runs).
   */
  private claimName(actor: ActorEntry, name: string, node: string | null | undefined): void {
    const cluster = this.d.cluster!;
    cluster.link.names.claim(name, this.descriptorOf(actor)).then((claim) => {
      if (actor.state === "dead" || this.d.closed) {
        if (claim.ok && !this.d.closed) cluster.link.names.release(name).catch(() => {}); // it died while claiming
        return;
      }
      if (claim.ok) { actor.awaitingResources = false; this.start(actor, node); return; }
      this.notStarted(actor, `the name ${JSON.stringify(name)} is held by another process of the cluster (${claim.holder.owner})`);
    }, (error: Error) => {
      if (actor.state === "dead" || this.d.closed) return;
      this.notStarted(actor, `claiming the name ${JSON.stringify(name)} at the head failed: ${error.message}`);
    });
  }

  /** An actor that never started (its name was refused) dies; the thread it was placed on hosts it no more. */
  private notStarted(actor: ActorEntry, why: string): void {
    if (actor.worker >= 0) this.actorLoad[actor.worker]--;
    this.actorDied(actor, new ActorDiedError(`actor ${actor.className} was not started: ${why}`));
  }

  /** Sends a new actor where it was placed (or holds it until its resources fit), then the calls it holds. */
  private start(actor: ActorEntry, node: string | null | undefined): void {
    const create = actor.create;
    const resources = actor.resources;
    const pendingCalls = () => { for (const call of actor.log) if (call.state === "pending") this.dispatchActorTask(call); };
    if (node === null) {
      // No node of the cluster offers its resources yet: it starts when one joins.
      actor.awaitingResources = true;
      this.d.cluster!.awaitNode(actor);
      return;
    }
    if (node !== undefined) {
      // Its node admits it (resources are the node's); the driver sends it there in order.
      this.d.cluster!.hostActor(actor, node);
      this.d.dispatcher.dispatch(create);
      pendingCalls();
      return;
    }
    if (this.d.resources.fits(resources)) {
      this.d.resources.acquire(resources);
      this.d.dispatcher.dispatch(create);
      pendingCalls();
    } else {
      actor.awaitingResources = true;
      this.actorsAwaitingResources.push(actor);
    }
  }

  /** A worker for an actor (the placement policy: by default the one hosting the fewest), counted in its load. */
  placeActor(exclude = -1): number {
    const best = this.place(this.actorLoad, exclude);
    this.actorLoad[best]++;
    return best;
  }


  dispatchActorTask(entry: TaskEntry): void {
    // A call on an actor another process owns goes to that owner.
    if (entry.kind === "actor-method" && this.d.cluster?.foreign.isCall(entry)) { this.d.cluster.foreign.call(entry); return; }
    const actor = this.actors.get(entry.actorId!);
    if (entry.kind === "actor-method") {
      if (!actor || actor.state === "dead") {
        // finishTask settles it (its state is still pending): it drops the holds newTask took on its arguments
        // and its in-flight count. Marked failed first, finishTask took it as settled already and kept both, so
        // every call on a dead actor kept its argument objects and their producers' rows for good.
        const death = actor?.deathError ?? this.deadActors.get(entry.actorId!);
        this.d.tasks.sealError(entry, death ? fromWire(death) : new ActorDiedError(`actor ${entry.name.split(".")[0]} is dead`));
        this.d.tasks.finishTask(entry, "failed", -1);
        return;
      }
      if (entry.seq === undefined) {
        entry.seq = ++actor.seq;
        actor.log.push(entry);
        if (actor.lastCall !== undefined) this.d.graph.recordEdge(actor.lastCall, entry.id, 2);
        actor.lastCall = entry.id;
      }
    }
    if (!actor) return;
    // Sent in order once it is admitted (a replayed call keeps its settled state meanwhile).
    if (actor.awaitingResources) { if (!entry.replay) entry.state = "pending"; return; }
    if (actor.node !== undefined) { this.d.cluster!.dispatchActorTask(actor, entry); return; }
    const slot = this.d.dispatcher.takeSlot(entry);
    if (slot === NO_SLOT) { this.d.dispatcher.toBacklog(entry); return; }
    // Actor tasks go straight to the hosting thread (not through the shared ready queue), in order.
    Atomics.store(this.d.i32, (this.d.core.plan.taskTable + slot * L.TASK_BYTES + L.TASK_STATE) >> 2, L.TASK_READY);
    if (!entry.replay) entry.state = "running"; // a replayed call keeps its settled state
    const segments = this.d.objects.segmentsFor(entry.deps);
    if (entry.kind === "actor-create") {
      this.d.transport.post(actor.worker, { t: "actor-create", actorId: actor.id, slot, fnId: actor.fnId, checkpoint: actor.checkpoint?.state, checkpointSeq: actor.checkpoint?.seq ?? 0, checkpointEvery: actor.options.checkpointEvery ?? 0, maxConcurrency: actor.options.maxConcurrency, segments });
    } else {
      this.d.transport.post(actor.worker, { t: "actor-call", actorId: actor.id, slot, replay: entry.replay ?? false, seq: entry.seq!, segments });
    }
  }

  onCheckpoint(actorId: ActorId, seq: number, state: Uint8Array): void {
    const actor = this.actors.get(actorId);
    if (!actor) return;
    actor.checkpoint = { seq, state };
    // Calls up to the checkpoint need not be replayed again: nor kept, unless something still reads them.
    while (actor.log.length && actor.log[0].seq! <= seq) this.d.tasks.forgetIfUnneeded(actor.log.shift()!);
  }

  killActor(actorId: ActorId, noRestart: boolean, why = "it was killed"): void {
    const actor = this.actors.get(actorId);
    if (!actor || actor.state === "dead") return;
    if (actor.awaitingResources && !noRestart) return; // never started: a crash has nothing to kill
    if (actor.node !== undefined) this.d.cluster!.dropActor(actor);
    else {
      this.d.transport.post(actor.worker, { t: "actor-drop", actorId });
      this.actorLoad[actor.worker]--;
    }
    if (noRestart) this.actorDied(actor, new ActorDiedError(`actor ${actor.className} was killed`));
    else this.restartActor(actor, why);
  }

  /**
   * Restarts an actor on another thread:
   * 1. If its restarts are spent, it dies: pending and future calls fail with ActorDiedError.
   * 2. Otherwise a fresh instance is created (restored from the last checkpoint, if any).
   * 3. Calls since that checkpoint are replayed in order: finished ones only to rebuild state (their results
   *    are kept), unfinished ones for real if their retries allow, else they fail with ActorDiedError.
   * `moved`: it leaves a draining node with none of its calls running there (see ClusterScheduler.nodeDraining):
   * not counted against maxRestarts, and its unfinished calls, which never ran, are sent as they are.
   */
  restartActor(actor: ActorEntry, why: string, threadAlive = true, nodeDied = false, moved = false): void {
    const limit = actor.options.maxRestarts ?? 0;
    const Died = nodeDied ? NodeDiedError : ActorDiedError;
    if (!moved && limit !== -1 && actor.restarts - (actor.moves ?? 0) >= limit) {
      this.actorDied(actor, new Died(`actor ${actor.className} died (${why}) and has no restarts left (maxRestarts=${limit})`), threadAlive);
      return;
    }
    actor.restarts++; // also names the new instance on its node (its actorKey)
    if (moved) actor.moves = (actor.moves ?? 0) + 1;
    const old = actor.worker;
    const oldNode = actor.node;
    if (this.d.cluster) {
      const node = this.d.cluster.placeActor(actor.resources, oldNode);
      actor.node = node ?? undefined;
      if (node === null) {
        // No live node offers its resources: it restarts when one joins (its calls wait in its log).
        actor.worker = -1;
        actor.awaitingResources = true;
        this.d.cluster.awaitNode(actor);
      } else if (node !== undefined) {
        actor.worker = -1;
        this.d.cluster.hostActor(actor, node);
      } else {
        actor.worker = this.placeActor(old);
      }
    } else {
      actor.worker = this.placeActor(old);
    }
    this.d.events.emit("actor:restarted", { actorId: actor.id, className: actor.className, worker: actor.worker, restarts: actor.restarts });
    this.abandonSlots(actor, threadAlive, old);
    const create = actor.create;
    if (create.state === "finished" || create.state === "failed" || create.state === "cancelled") {
      // It will finish again: hold its arguments again (finishing releases them) and count it in flight.
      for (const d of create.deps) this.d.refs.incRef(d);
      this.d.parkWake.inFlight++;
    }
    create.state = "pending";
    this.redispatch(create);
    const died = new Set<TaskEntry>();
    for (const call of actor.log) {
      // Its results sealed but its end not taken yet: callers may have read them, so it finished (it is replayed,
      // never run again as a retry, which would apply it to the state twice).
      const sealed = call.state === "running" ? this.d.tasks.returnsSealed(call) : undefined;
      if (sealed !== undefined) this.d.tasks.finishTask(call, sealed, old);
      const finished = call.state === "finished" || call.state === "failed";
      if (finished) {
        call.replay = true;
        this.redispatch(call);
        continue;
      }
      if (call.state === "cancelled") continue;
      if (moved) { this.redispatch(call); continue; }
      const retries = call.options.maxRetries;
      if (retries === -1 || call.attempts < retries) {
        call.attempts++;
        call.run = call.runs++;
        call.timedOut = false;
        this.redispatch(call);
      } else {
        this.d.tasks.sealError(call, new Died(`actor ${actor.className} died (${why}) while running ${call.name}; maxTaskRetries=${retries}`));
        this.d.tasks.finishTask(call, "failed", old);
        died.add(call);
      }
    }
    // A call that died with the old instance never touched the state the new one rebuilds: never replay it.
    if (died.size) actor.log = actor.log.filter((call) => !died.has(call));
  }

  private redispatch(entry: TaskEntry): void {
    if (entry.slot !== NO_SLOT) this.d.dispatcher.releaseSlot(entry.slot);
    this.dispatchActorTask(entry);
  }

  /** Slots of this actor's tasks that were sent to the dead thread will never be reported: free them. */
  private abandonSlots(actor: ActorEntry, threadAlive: boolean, worker: number): void {
    // Calls that finished but whose "done" record the driver has not taken yet: settle them before freeing slots.
    this.d.parkWake.drainDone();
    for (let slot = 0; slot < this.d.dispatcher.slotsTouched; slot++) {
      const e = this.d.dispatcher.slotOwner[slot];
      if (!e || e.actorId !== actor.id || (e.kind !== "actor-method" && e.kind !== "actor-create")) continue;
      if (!threadAlive) { this.d.dispatcher.releaseSlot(slot); continue; }
      // The old thread still holds this slot (queued, running, or its message not read yet): it reports it skipped
      // or done; until then nobody else may use it.
      this.d.dispatcher.tombstone(slot, worker);
    }
  }

  private actorDied(actor: ActorEntry, error: ActorDiedError | NodeDiedError, threadAlive = true): void {
    actor.state = "dead";
    actor.deathError = toWire(error);
    if (actor.node !== undefined) this.d.cluster!.dropActor(actor);
    else if (!actor.awaitingResources) this.d.resources.releaseResources(actor.resources);
    if (actor.name !== undefined && this.namedActors.get(actor.name) === actor.id) {
      this.namedActors.delete(actor.name);
      // While ours was claiming, another process may have won the name: the head's news of it was not passed on
      // to the workers then (the name was ours here), so they learn of the winner now rather than of no actor.
      const winner = this.d.cluster?.link.names.lookup(actor.name);
      this.d.transport.broadcast({ t: "actor-name", name: actor.name, actor: winner && this.d.cluster!.foreign.isForeign(winner) ? winner : null });
      // Released only if we hold it (one that was refused is another's): the head checks the owner.
      this.d.cluster?.link.names.release(actor.name).catch(() => {});
    }
    this.d.events.emit("actor:died", { actorId: actor.id, className: actor.className });
    this.abandonSlots(actor, threadAlive, actor.worker);
    for (const call of actor.log) {
      if (call.state === "pending" || call.state === "running") {
        this.d.tasks.sealError(call, error);
        this.d.tasks.finishTask(call, "failed", -1);
      }
    }
    if (actor.create.state === "pending" || actor.create.state === "running") {
      this.d.tasks.sealError(actor.create, error);
      this.d.tasks.finishTask(actor.create, "failed", -1);
    }
    // It will never be built again: the refs its constructor's arguments nested are free to go.
    for (const d of actor.create.nestedRefs) this.d.refs.decRef(d);
    actor.create.nestedRefs = NONE;
    if (!actor.awaitingResources) this.d.dispatcher.drainAdmissions(); // what it held may start actors and tasks that wait
    this.forgetActor(actor);
  }

  /**
   * A dead actor is forgotten, so the driver's tables do not grow with the actors ever made: its entry, its
   * constructor and its logged calls (those whose results something still reads go when those are freed).
   * Later calls through a handle still fail with its death error, kept for the most recent deaths.
   */
  private forgetActor(actor: ActorEntry): void {
    if (this.actors.get(actor.id) !== actor) return;
    this.actors.delete(actor.id);
    if (this.d.cluster) this.byHandleCount.delete(this.handleCountOf(actor.id));
    this.deadActors.set(actor.id, actor.deathError!);
    if (this.deadActors.size > DEAD_ACTORS_KEPT) this.deadActors.delete(this.deadActors.keys().next().value!);
    for (const call of actor.log) this.d.tasks.forgetIfUnneeded(call);
    actor.log = [];
    // Nobody holds a ref to the creation marker: freeing it releases the constructor's lineage.
    const marker = this.d.objects.get(objectIdOf(actor.create.id, 0));
    if (marker && marker.refs <= 0) this.d.objects.freeObject(marker);
    this.d.tasks.forgetIfUnneeded(actor.create);
  }

  /** Death errors of recently forgotten actors, oldest first (see forgetActor). */
  private readonly deadActors = new Map<ActorId, WireError>();
}
