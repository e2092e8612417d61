// The work server of a cluster node: runs the tasks and hosts the actors that drivers send it, on the node's
// local Runtime, and serves the results it holds to whoever pulls them. Arguments are pulled from the processes
// the messages name (imported-objects.ts). It does not place work, retry it elsewhere, restart actors on other
// nodes or talk to the head: the driver and the node's process do.
import { LoomError, toWire } from "../errors.js";
import { ACTOR_BRAND, ObjectRef } from "../refs.js";
import { isObjectRefGenerator, type ObjectRefGenerator } from "../streaming/object-ref-generator.js";
import type { ActorId, ObjectId } from "../ids.js";
import { makeActorHandle, type ActorHandle } from "../remote.js";
import type { Resources } from "../options.js";
import type { Runtime } from "../runtime/runtime.js";
import { decodeValue } from "../serialization/value-codec.js";
import type { CallActor, CancelTask, CreateActor, OwnedActorCall, OwnedActorKill, RunTask } from "./messages.js";
import { SPILLBACK } from "./messages.js";
import { answerPull, ObjectPuller, type RawSource } from "./object-transfer.js";
import { listen, isLoopback, type Connection, type Frame, type Header } from "./wire.js";
import { ImportedObjects } from "./imported-objects.js";
import { HandedBack, WorkerGate } from "./worker-gate.js";
import { HeldResults, type Answer } from "./held-results.js";
import { ModuleHashes } from "./module-hashes.js";
import { checkCallActor, checkCancel, checkCreateActor, checkKillActor, checkOwnedActorCall, checkOwnedActorKill, checkRelease, checkRunTask, checkStreamAck, localTaskOptions } from "./work-messages.js";
import { merged } from "../merged.js";

export interface NodeServiceOptions {
  runtime: Runtime;
  host: string;
  port: number;
  token?: string;
  /** The node's id, once the head has given it one (used in error messages). */
  nodeId: () => string;
}

export interface NodeService {
  /** host:port this service listens on. */
  address: string;
  /** Stops listening and pulling; the runtime stays up (its owner shuts it down). */
  close(): Promise<void>;
  /** Refuses new tasks and actors, and resolves once the work in flight has been answered. */
  drain(): Promise<void>;
  /**
   * Resolves once every result held here for another process has been released (their owners took them back:
   * see RemoteObjects.takeBackFrom), or after `timeoutMs`; with the number still held.
   */
  handedOver(timeoutMs: number): Promise<number>;
  /** Results held here for pulls (not yet released). */
  held(): number;
  /** Tasks of other processes waiting here for a worker (not yet in the runtime). */
  waiting(): number;
  /** Also answers pulls of the objects this node's own runtime owns, by key (see Runtime.joinAsNode). */
  serveOwnObjects(objectOfKey: (key: string) => ObjectId | undefined): void;
  /** Drops the results and kills the actors a dead owner left here. */
  releaseOwner(owner: string): { results: number; actors: number };
}

/** An actor hosted here, from actor-create until actor-kill. */
interface HostedActor {
  /** The driver that created it: it owns the results of its calls. */
  owner: string;
  methods: Set<string>;
  /** Settles once the constructor has been submitted (rejects when the creation failed). */
  handle: Promise<ActorHandle>;
  /** The last call submitted or waiting to be: calls chain on it so they reach the runtime in arrival order. */
  tail: Promise<unknown>;
}

const noop = () => {};


class NodeWork {
  /** Results held for pulls, by key, until released; the answers that hold them (held-results.ts). */
  readonly held: HeldResults;
  readonly puller: ObjectPuller;
  readonly imports: ImportedObjects;
  private readonly hashes = new ModuleHashes();
  /** actorKey → the actor hosted here. */
  private readonly actors = new Map<string, HostedActor>();
  /** Requests received and not yet answered; drain() waits for 0. */
  private inFlight = 0;
  private idle: Array<() => void> = [];
  draining = false;

  /** What the local runtime offers, fixed for its life: work that needs more would wait here forever. */
  private readonly offered: Resources;
  /** When tasks of other processes go into the local runtime (see worker-gate.ts). */
  readonly gate: WorkerGate;

  constructor(private readonly runtime: Runtime, token: string | undefined, private readonly nodeId: () => string) {
    this.offered = runtime.inspect().resources;
    this.gate = new WorkerGate(runtime, this.offered.cpu ?? 0, () => this.draining ? `node ${nodeId()} is draining` : undefined);
    this.held = new HeldResults(runtime, nodeId);
    this.puller = new ObjectPuller(token);
    this.imports = new ImportedObjects(runtime, this.puller, (key) => this.held.get(key));
  }

  /** Pulls are served from held results, pulled copies kept here, and objects this node's runtime owns. */
  readonly source: RawSource = (key) => {
    const ref = this.held.get(key) ?? this.imports.get(key);
    if (ref) return this.runtime.exportObject(ref.id);
    const own = this.ownObjects?.(key);
    return own === undefined ? undefined : this.runtime.exportOwnObject(own);
  };

  /** Set once the node's runtime places its tasks' tasks across the cluster (Runtime.joinAsNode). */
  ownObjects: ((key: string) => ObjectId | undefined) | undefined;

  /** Every frame a peer sends: nothing it sends may throw out of here. */
  onFrame(frame: Frame, c: Connection): void {
    const h = frame.h;
    try {
      switch (h.t) {
        case "pull": answerPull(c, frame, this.source); return;
        case "release": this.release(checkRelease(h).keys); return;
        case "run-task": {
          const msg = checkRunTask(h);
          if (this.handsBack(c, h, msg)) return;
          this.tasks++;
          this.answer(c, h, () => this.runTask(msg, frame.body, c).finally(() => { this.tasks--; }), true);
          return;
        }
        case "stream-ack": this.held.streamAck(checkStreamAck(h)); return;
        case "actor-create": this.answer(c, h, () => this.createActor(checkCreateActor(h), frame.body), true); return;
        case "actor-call": this.answer(c, h, () => this.callActor(checkCallActor(h), frame.body, c), false); return;
        case "actor-kill": this.killActor(checkKillActor(h).actorKey); return;
        case "owned-actor-call": this.answer(c, h, () => this.callOwnedActor(checkOwnedActorCall(h), frame.body), false); return;
        case "owned-actor-kill": this.killOwnedActor(checkOwnedActorKill(h)); return;
        case "cancel": this.cancel(checkCancel(h)); return;
        default: throw new LoomError(`node ${this.nodeId()} does not serve messages of type ${JSON.stringify(h.t).slice(0, 60)}`);
      }
    } catch (e) {
      // A malformed release or kill, or an unknown type: answered only when the peer waits for a reply.
      c.reply(h, { error: toWire(e) });
    }
  }

  /** Tasks received (run-task) and not yet answered: what spillback compares with the workers. */
  private tasks = 0;

  /**
   * Spillback: a task this node would only queue goes back to its submitter unstarted, to be placed elsewhere,
   * when the submitter says another node has a free worker (`spill`); every task does while this node drains.
   * Nothing of it ran here, so placing it again runs it once.
   */
  private handsBack(c: Connection, h: Header, msg: RunTask): boolean {
    const workers = this.offered.cpu ?? 0;
    let why: string;
    if (this.draining) why = "is draining";
    else if (msg.spill && this.tasks >= workers) why = `has no free worker (${this.tasks} tasks for ${workers} workers)`;
    else return false;
    c.reply(h, this.handBack(new HandedBack(`node ${this.nodeId()} ${why}: task ${msg.name} handed back to be placed elsewhere`)));
    return true;
  }

  /** The reply that gives a task back to its submitter unstarted (see spilledBack in cluster-scheduler.ts). */
  private handBack(error: HandedBack): Record<string, unknown> {
    return { error: merged(toWire(error), { code: SPILLBACK }), draining: this.draining };
  }

  /**
   * The node drains: tasks received here that no worker has taken yet (waiting for a worker, or still pulling
   * their arguments) go back to their submitters unstarted, to run elsewhere at once rather than here before
   * the node may leave. What runs finishes.
   */
  handBackQueued(): void {
    this.gate.letIn(); // while draining, it hands every waiting task back
    for (const [key, out] of this.running) {
      if (this.runtime.withdraw(Array.isArray(out) ? out[0]! : out)) this.withdrawn.add(key);
    }
  }

  /** Tasks withdrawn from the local runtime by handBackQueued, by `owner/taskId`: their replies hand them back. */
  private readonly withdrawn = new Set<string>();

  /** Runs one request's handler and replies with its answer or its error; counted until answered (drain). */
  private answer(c: Connection, h: Header, handler: () => Promise<Answer>, isNewWork: boolean): void {
    if (isNewWork && this.draining) {
      c.reply(h, { error: toWire(new LoomError(`node ${this.nodeId()} is draining`)) });
      return;
    }
    this.inFlight++;
    let work: Promise<Answer>;
    try {
      // Called now, not on a later turn: actor calls join their actor's chain in arrival order.
      work = handler();
    } catch (e) {
      work = Promise.reject(e);
    }
    work.then(
      (a) => {
        // Nobody will hear of results held for a peer that has gone: drop them rather than keep them forever.
        if (c.closed && a.held) this.release(a.held);
        c.reply(h, a.header, a.body);
      },
      (e) => c.reply(h, e instanceof HandedBack ? this.handBack(e) : { error: toWire(e) }),
    ).catch(noop).finally(() => {
      if (--this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
    });
  }

  /**
   * One task: 1. its module must be the driver's copy; 2. its arguments' objects are pulled (or found here);
   * 3. the payload decodes with its refs naming the local copies; 4. it is submitted to the local runtime;
   * 5. its returns are answered once they settle (a failure is a value: its error bytes travel as they are).
   */
  private async runTask(msg: RunTask, body: Uint8Array, c: Connection): Promise<Answer> {
    this.checkFits(msg.options.resources, `task ${msg.name}`);
    if (msg.fn.kind === "module" && msg.moduleHash !== undefined && this.hashes.hashNow(msg.fn.url) !== msg.moduleHash) await this.hashes.check(msg.fn.url, msg.moduleHash, this.nodeId());
    const args = this.decodeArgs(body, await this.imports.localRefs(msg.refs));
    const running = `${msg.owner}/${msg.taskId}`;
    // No worker is free for it: it waits here, unsubmitted, and its submitter knows it has not started.
    const admitted = this.gate.admit(msg, c);
    if (admitted) await admitted;
    let out: ReturnType<Runtime["submitTask"]>;
    try {
      // The node began to drain while the arguments came: the task was never submitted here.
      if (this.draining) throw new HandedBack(`node ${this.nodeId()} is draining: task ${msg.name} handed back to be placed elsewhere`);
      out = this.runtime.runHere(() => this.runtime.submitTask(msg.fn, args, localTaskOptions(msg.options, msg.name)));
    } catch (e) {
      this.gate.left();
      throw e;
    }
    this.running.set(running, out);
    // Cancelled while its arguments were pulled: cancelled now (its reply carries the cancellation).
    const early = this.cancelledEarly.get(running);
    if (early !== undefined) { this.cancelledEarly.delete(running); this.runtime.cancel(Array.isArray(out) ? out[0]! : out, { force: early }); }
    try {
      const answer = isObjectRefGenerator(out)
        ? await this.held.stream(msg.owner, msg.taskId, msg.attempt ?? 0, msg.options.streaming ?? 0, out, c)
        : await this.held.results(msg.owner, msg.taskId, out as ObjectRef | ObjectRef[]);
      if (!this.withdrawn.has(running)) return answer;
      if (answer.held) this.release(answer.held); // the withdrawal's cancellation, which nobody reads
      throw new HandedBack(`node ${this.nodeId()} drains: task ${msg.name} had not started and is handed back to be placed elsewhere`);
    } finally {
      this.running.delete(running);
      this.withdrawn.delete(running);
      this.gate.left();
    }
  }

  /** Cancels that came before their task was submitted here, by `owner/taskId` (force or not). */
  private readonly cancelledEarly = new Map<string, boolean>();

  /** Tasks running here for their submitters, by `owner/taskId`: what a cancel names. */
  private readonly running = new Map<string, ObjectRef | ObjectRef[] | ObjectRefGenerator>();

  /** The submitter cancelled a task running here: cancelled here too (its reply then carries the cancellation). */
  private cancel(msg: CancelTask): void {
    const key = `${msg.owner}/${msg.taskId}`;
    const out = this.running.get(key);
    if (!out) {
      // Waiting for a worker: it leaves the queue, never submitted (its submitter already settled it).
      if (this.gate.cancel(msg.owner, msg.taskId)) return;
      // Not submitted here yet (its arguments are being pulled): remembered for when it is. Bounded: a cancel
      // for a task that never comes is forgotten among the oldest.
      this.cancelledEarly.set(key, msg.force);
      if (this.cancelledEarly.size > 1024) this.cancelledEarly.delete(this.cancelledEarly.keys().next().value!);
      return;
    }
    if (this.runtime.isShutdown) return;
    this.runtime.cancel(Array.isArray(out) ? out[0]! : out, { force: msg.force });
  }

  /** Creates the actor (registered at once, so the calls that follow chain behind its creation). */
  private createActor(msg: CreateActor, body: Uint8Array): Promise<Answer> {
    if (this.actors.has(msg.actorKey)) return Promise.reject(new LoomError(`actor ${msg.actorKey} already lives on node ${this.nodeId()}`));
    this.checkFits(msg.options.resources, `actor ${msg.actorKey} (${msg.cls.name})`);
    const handle = (async () => {
      if (msg.cls.kind === "module" && msg.moduleHash !== undefined) await this.hashes.check(msg.cls.url, msg.moduleHash, this.nodeId());
      const args = this.decodeArgs(body, await this.imports.localRefs(msg.refs));
      // No local restarts: the driver restarts its actors itself, on this node or another.
      return this.runtime.runHere(() => this.runtime.createActor(msg.cls, msg.methods, args, { ...msg.options, maxRestarts: 0 }));
    })();
    const actor: HostedActor = { owner: msg.owner, methods: new Set(msg.methods), handle, tail: handle.catch(noop) };
    this.actors.set(msg.actorKey, actor);
    return handle.then(
      () => ({ header: {} }),
      (e) => {
        if (this.actors.get(msg.actorKey) === actor) this.actors.delete(msg.actorKey);
        throw e;
      },
    );
  }

  /**
   * One actor call. Its arguments are pulled at once, but it is submitted only after the calls that arrived
   * before it (and the actor's creation): the local runtime runs an actor's calls in submission order.
   */
  private async callActor(msg: CallActor, body: Uint8Array, c: Connection): Promise<Answer> {
    const actor = this.actors.get(msg.actorKey);
    if (!actor) throw new LoomError(`actor ${msg.actorKey} is not hosted on node ${this.nodeId()} (never created here, killed, or its creation failed)`);
    if (!actor.methods.has(msg.method)) throw new LoomError(`actor ${msg.actorKey} has no method ${JSON.stringify(msg.method)}; its methods: ${[...actor.methods].join(", ")}`);
    const local = this.imports.localRefs(msg.refs);
    local.catch(noop); // its error is this call's, reported below once its turn comes
    const submitted = actor.tail.then(async () => {
      const handle = await actor.handle;
      const args = this.decodeArgs(body, await local);
      return this.runtime.runHere(() => this.runtime.submitActorCall(handle[ACTOR_BRAND], msg.method, args, localTaskOptions(msg.options)));
    });
    actor.tail = submitted.catch(noop);
    const out = await submitted;
    if (isObjectRefGenerator(out)) return this.held.stream(actor.owner, msg.taskId, msg.attempt ?? 0, msg.options.streaming ?? 0, out, c);
    return this.held.results(actor.owner, msg.taskId, out);
  }

  /** Per caller and actor this process owns, the last call submitted or waiting to be (see callOwnedActor). */
  private readonly callerTails = new Map<string, Promise<unknown>>();

  /**
   * A call another process made on an actor this process owns: submitted as a call of our own (its arguments
   * pulled first, and after the calls that caller made before it), its results held for the caller.
   */
  private callOwnedActor(msg: OwnedActorCall, body: Uint8Array): Promise<Answer> {
    const local = this.imports.localRefs(msg.refs);
    local.catch(noop); // its error is this call's, reported below once its turn comes
    const key = `${msg.caller}/${msg.actorId}`;
    const submitted = (this.callerTails.get(key) ?? Promise.resolve()).then(async () => {
      const args = this.decodeArgs(body, await local);
      const options = localTaskOptions(msg.options);
      if (!msg.retriesGiven) delete options.maxRetries;
      return this.runtime.submitActorCall(this.ownHandle(msg.actorId)[ACTOR_BRAND], msg.method, args, options) as ObjectRef | ObjectRef[]; // never streaming (checked)
    });
    const tail = submitted.catch(noop);
    this.callerTails.set(key, tail);
    void tail.then(() => { if (this.callerTails.get(key) === tail) this.callerTails.delete(key); });
    return submitted.then((out) => this.held.results(msg.caller, msg.taskId, out));
  }

  /** A handle of this runtime on one of its own actors, by id (the runtime knows its class and methods). */
  private ownHandle(actorId: number): ActorHandle {
    return makeActorHandle(this.runtime, { actorId: actorId as ActorId, className: "actor", methods: [] });
  }

  /** Another process killed (noRestart) or crashed, through a handle, an actor this process owns. */
  private killOwnedActor(msg: OwnedActorKill): void {
    if (this.runtime.isShutdown) return;
    const handle = this.ownHandle(msg.actorId);
    if (msg.noRestart) this.runtime.kill(handle); else this.runtime.faults.killActor(handle);
  }

  /** Kills the actor once the calls that arrived before the kill have been submitted, and forgets it. */
  private killActor(actorKey: string): void {
    const actor = this.actors.get(actorKey);
    if (!actor) return;
    this.actors.delete(actorKey);
    actor.tail.then(() => actor.handle).then((handle) => {
      if (!this.runtime.isShutdown) this.runtime.kill(handle);
    }).catch(noop);
  }

  /** Throws unless `needs` fits what this node offers (a task's `cpu` is 1 unless named). */
  private checkFits(needs: Resources, what: string): void {
    const all = { cpu: 1, ...needs };
    for (const [name, amount] of Object.entries(all)) {
      if (amount > (this.offered[name] ?? 0)) {
        throw new LoomError(`${what} needs ${JSON.stringify(needs)} but node ${this.nodeId()} offers ${JSON.stringify(this.offered)} (${name}: ${this.offered[name] ?? 0})`);
      }
    }
  }

  /**
   * `owner` (a driver, or a node whose tasks placed work here) died: nothing will release what it left here,
   * so its results go and its actors are killed. Returns how many results and actors went.
   */
  releaseOwner(owner: string): { results: number; actors: number } {
    const results = this.held.releaseOwner(owner);
    let actors = 0;
    for (const [key, actor] of [...this.actors]) if (actor.owner === owner) { this.killActor(key); actors++; }
    return { results, actors };
  }

  private release(keys: string[]): void {
    this.held.release(keys);
    for (const key of keys) this.imports.release(key);
  }

  handedOver(timeoutMs: number): Promise<number> {
    return this.held.handedOver(timeoutMs);
  }

  /** The payload's argument list, its refs made the local copies' (top-level ones resolve before the task runs). */
  private decodeArgs(body: Uint8Array, local: Map<string, ObjectRef>): unknown[] {
    if (body.length < 16) throw new LoomError(`the argument payload has ${body.length} bytes; a payload has at least 16`);
    let args: unknown;
    try {
      args = decodeValue(body, 0, {
        ref: (id) => {
          const ref = local.get(String(id));
          if (!ref) throw new LoomError(`the argument payload names object ${id}, which the message's refs do not list`);
          return ref;
        },
        // A handle names its actor's owner: calls through it go there (or stay here, when that is this process).
        actor: (d) => makeActorHandle(this.runtime, d),
      }, false);
    } catch (e) {
      if (e instanceof LoomError) throw e;
      throw new LoomError(`the argument payload cannot be decoded: ${(e as Error).message}`, { cause: e });
    }
    if (!Array.isArray(args)) throw new LoomError("the argument payload is not a list of arguments");
    return args;
  }

  /** Resolves once every request received has been answered. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async close(): Promise<void> {
    this.gate.close(`node ${this.nodeId()} closed`);
    await this.puller.close();
    this.held.clear();
    this.imports.clear();
  }
}

/**
 * Starts a node's work server on host:port (port 0: any free one): tasks, actors and pulls of the results it
 * holds, for any peer that proves the cluster token.
 */
export async function startNodeService(options: NodeServiceOptions): Promise<NodeService> {
  if (!isLoopback(options.host) && !options.token) {
    throw new LoomError(`a node may not listen on ${options.host} without a cluster token: pass --token or LOOM_TOKEN, or bind to 127.0.0.1`);
  }
  const work = new NodeWork(options.runtime, options.token, options.nodeId);
  const server = await listen({ host: options.host, port: options.port, token: options.token }, (c) => {
    c.onFrame = (frame, connection) => work.onFrame(frame, connection);
  });
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    address: `${host}:${server.port}`,
    held: () => work.held.size,
    waiting: () => work.gate.waiting,
    serveOwnObjects: (objectOfKey) => { work.ownObjects = objectOfKey; },
    releaseOwner: (owner) => work.releaseOwner(owner),
    drain: () => {
      work.draining = true;
      work.handBackQueued();
      return work.whenIdle();
    },
    handedOver: (timeoutMs) => work.handedOver(timeoutMs),
    close: () => closing ??= Promise.all([server.close(), work.close()]).then(noop),
  };
}
