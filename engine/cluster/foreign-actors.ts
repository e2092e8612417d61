// Actors this process holds handles to but did not create: their owner (the process that created them) is
// another driver or node of the cluster. A call through such a handle goes to the owner, which submits it to
// the actor as one of its own calls: the owner keeps the actor's log, restarts and replay, so a call made here
// is replayed after a restart like any other, and a restart on another node changes nothing for callers.
// Calls from this process to one actor go out in submission order, on one connection. This process owns the
// results: they are its objects, held by the owner until this process has pulled or freed them.
//
// A row lives while calls or kills through it are in flight, and is forgotten when the last one ends: what it
// holds then (the order of the calls, which all went out) is not needed any more, and whether the owner died
// is the scheduler's to say again (isDead) when a later call makes a new row. So actors that died, or whose
// handles this process dropped, leave nothing here, however many it called.
import { ActorDiedError, LoomError, fromWire, type WireError } from "../errors.js";
import { childTaskId, DRIVER_TASK_ID, type ActorId } from "../ids.js";
import type { ActorHandleDescriptor, ActorOwner } from "../refs.js";
import type { DriverContext } from "../runtime/driver-context.js";
import type { TaskEntry } from "../tasks/task-entry.js";
import type { RemoteObjects } from "./remote-objects.js";
import type { ObjectPuller } from "./object-transfer.js";
import type { ObjectSource, RemoteTaskOptions } from "./messages.js";
import type { Frame } from "./wire.js";

type ForeignDeps = Pick<DriverContext, "tasks" | "closed">;

/** An actor owned by another process, as this process calls it. */
interface ForeignActor {
  /** The id this process's task table files its calls under (entry.actorId); never an actor of its own. */
  localId: ActorId;
  owner: ActorOwner;
  /** The id the owner gave it. */
  actorId: ActorId;
  className: string;
  /** Settles once the last call submitted here is on the wire: the next one goes out after it. */
  tail: Promise<void>;
  /** Set when its owner died: every call fails with this. */
  ownerDied?: string;
  /** Calls filed on it that have not ended, and kills not yet sent: the row is kept while there are any. */
  inFlight: number;
}

/** What the foreign table needs of the cluster scheduler. */
export interface ForeignLink {
  readonly nodeId: string;
  readonly puller: ObjectPuller;
  readonly objects: RemoteObjects;
  /** Remembers `owner` as a process whose address is known (to pull the results it holds). */
  notePeer(owner: ActorOwner): void;
  /** Whether the head declared `nodeId` dead. */
  isDead(nodeId: string): boolean;
  /** How a task ended whose returns are stored here or held elsewhere. */
  settled(entry: TaskEntry): "finished" | "failed";
  options(entry: TaskEntry): RemoteTaskOptions;
}

export class ForeignActors {
  private readonly byKey = new Map<string, ForeignActor>();
  /** The row each call was filed under (every call on a foreign actor is here, also after its row is forgotten). */
  private readonly rowOfCall = new WeakMap<TaskEntry, ForeignActor>();
  /** Calls whose end was counted (taskEnded), so that a second end of one call counts for nothing. */
  private readonly ended = new WeakSet<TaskEntry>();

  constructor(private readonly d: ForeignDeps, private readonly link: ForeignLink) {}

  /** Whether `desc` names an actor another process owns. */
  isForeign(desc: ActorHandleDescriptor): desc is ActorHandleDescriptor & { owner: ActorOwner } {
    return desc.owner !== undefined && desc.owner.nodeId !== this.link.nodeId;
  }

  /** The row calls on a foreign actor are filed under (made when none is in flight). */
  private rowOf(desc: ActorHandleDescriptor & { owner: ActorOwner }): ForeignActor {
    const key = `${desc.owner.nodeId}/${desc.actorId}`;
    let actor = this.byKey.get(key);
    if (!actor) {
      const localId = childTaskId(DRIVER_TASK_ID, this.d.tasks.driverChildren++) as unknown as ActorId;
      actor = { localId, owner: { nodeId: desc.owner.nodeId, address: desc.owner.address }, actorId: desc.actorId, className: desc.className, tail: Promise.resolve(), inFlight: 0 };
      if (this.link.isDead(desc.owner.nodeId)) actor.ownerDied = `its owner ${desc.owner.nodeId} died`;
      this.link.notePeer(actor.owner);
      this.byKey.set(key, actor);
    }
    return actor;
  }

  /** Whether `entry` is a call on an actor another process owns (filed by fileCall). */
  isCall(entry: TaskEntry): boolean {
    return this.rowOfCall.has(entry);
  }

  /** Rows held now: one per foreign actor with calls or kills in flight (for tests that check the table empties). */
  get size(): number {
    return this.byKey.size;
  }

  /** One call or kill through `actor` is over: with none left, its row is forgotten. */
  private settle(actor: ForeignActor): void {
    if (--actor.inFlight > 0) return;
    const key = `${actor.owner.nodeId}/${actor.actorId}`;
    if (this.byKey.get(key) === actor) this.byKey.delete(key);
  }

  /** The task manager ends every task through here (ClusterScheduler.taskEnded): a call's end may free its row. */
  taskEnded(entry: TaskEntry): void {
    const actor = this.rowOfCall.get(entry);
    if (!actor || this.ended.has(entry)) return;
    this.ended.add(entry);
    this.settle(actor);
  }

  /** Calls whose caller named maxRetries; the others get the actor's maxTaskRetries, which only the owner knows. */
  private readonly retriesGiven = new WeakSet<TaskEntry>();

  /** Files a new call on a foreign actor: `maxRetries` as the caller gave it (undefined: the actor's default). */
  fileCall(entry: TaskEntry, desc: ActorHandleDescriptor & { owner: ActorOwner }, maxRetries: number | undefined): void {
    const actor = this.rowOf(desc);
    actor.inFlight++;
    this.rowOfCall.set(entry, actor);
    entry.actorId = actor.localId;
    if (maxRetries !== undefined) this.retriesGiven.add(entry);
  }

  /** Sends one call to the actor's owner once the calls submitted before it are on the wire, and stores its results here. */
  call(entry: TaskEntry): void {
    const actor = this.rowOfCall.get(entry)!;
    if (actor.ownerDied !== undefined) { this.fail(entry, new ActorDiedError(`actor ${actor.className} is dead: ${actor.ownerDied}`)); return; }
    entry.state = "running";
    const previous = actor.tail;
    let sent!: () => void;
    actor.tail = new Promise<void>((resolve) => { sent = resolve; });
    void this.send(actor, entry, previous, sent).finally(sent);
  }

  private async send(actor: ForeignActor, entry: TaskEntry, previous: Promise<void>, sent: () => void): Promise<void> {
    let reply: Frame;
    try {
      const refs: Record<string, ObjectSource> = {};
      for (const id of entry.deps) refs[String(id)] = await this.link.objects.sourceOf(id);
      for (const id of entry.nestedRefs) refs[String(id)] = await this.link.objects.sourceOf(id);
      await previous;
      if (this.d.closed || entry.state !== "running") return;
      if (actor.ownerDied !== undefined) throw new ActorDiedError(`actor ${actor.className} is dead: ${actor.ownerDied}`);
      const c = await this.link.puller.connection(actor.owner.address);
      this.link.objects.sentTo(refs, actor.owner.address);
      const replied = c.request({
        t: "owned-actor-call", caller: this.link.nodeId, actorId: actor.actorId, taskId: entry.id, method: entry.method!,
        options: this.link.options(entry), retriesGiven: this.retriesGiven.has(entry), refs,
      }, entry.payload);
      sent();
      reply = await replied;
    } catch (error) {
      const e = error as Error;
      // Its owner is gone (or cannot be reached): the actor went with it, as in Ray.
      this.fail(entry, e.name === "ConnectionError" ? new ActorDiedError(`actor ${actor.className} cannot be reached through its owner ${actor.owner.nodeId} at ${actor.owner.address}: ${e.message}`, { cause: e }) : e);
      return;
    }
    if (this.d.closed) return;
    try {
      if (reply.h.error) throw fromWire(reply.h.error as WireError);
      // Also when it was cancelled meanwhile: what the owner holds for it is released there.
      await this.link.objects.storeResults(actor.owner.nodeId, actor.owner.address, entry, reply);
    } catch (error) {
      this.fail(entry, error as Error);
      return;
    }
    if (entry.state !== "running") return;
    this.d.tasks.finishTask(entry, this.link.settled(entry), -1);
  }

  /**
   * Asks the owner to kill the actor (noRestart) or crash it (a restart within its maxRestarts), after the calls
   * this process submitted before (and before those it submits after).
   */
  kill(desc: ActorHandleDescriptor & { owner: ActorOwner }, noRestart: boolean): void {
    const actor = this.rowOf(desc);
    actor.inFlight++;
    const previous = actor.tail;
    let sent!: () => void;
    actor.tail = new Promise<void>((resolve) => { sent = resolve; });
    void previous.then(() => this.link.puller.connection(actor.owner.address))
      .then((c) => c.send({ t: "owned-actor-kill", actorId: actor.actorId, noRestart }))
      .catch(() => {}).finally(() => { sent(); this.settle(actor); });
  }

  /** The head declared `nodeId` dead: the actors it owned died with it; calls waiting to go fail. */
  ownerDied(nodeId: string, why: string): void {
    for (const actor of this.byKey.values()) if (actor.owner.nodeId === nodeId) actor.ownerDied = `its owner ${nodeId} died (${why})`;
  }

  private fail(entry: TaskEntry, error: Error): void {
    if (entry.state === "finished" || entry.state === "failed" || entry.state === "cancelled") return;
    this.d.tasks.sealError(entry, error instanceof LoomError ? error : new LoomError(error.message, { cause: error }));
    this.d.tasks.finishTask(entry, "failed", -1);
  }
}
