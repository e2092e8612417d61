// A worker thread's Loom: wires its owners to the shared core and to the driver's link, starts the pump, and
// routes the driver's messages to the owner of each. Owns no table itself beyond the shared buffers that task
// arguments name; tasks run in TaskExecutor, actors in ActorHost, current() is WorkerApi.
import { handleCountActor } from "../ids.js";
import type { MessagePort } from "node:worker_threads";
import { Core, type CoreHandle } from "../wasm/core.js";
import { ObjectStore } from "../object-store/object-store.js";
import type { DecodeHooks } from "../serialization/value-codec.js";
import { LoomError } from "../errors.js";
import { ObjectRef } from "../refs.js";
import { makeActorHandle } from "../remote.js";
import type { DriverToWorker } from "../transport/messages.js";
import { PortDriverLink, type DriverLink } from "../transport/driver-link.js";
import { setCurrent } from "../current.js";
import { FunctionCache } from "./function-cache.js";
import { WorkerRefCounter } from "./worker-ref-counter.js";
import { PayloadReader } from "./payload-reader.js";
import { ObjectReader } from "./object-reader.js";
import { TaskCompleter } from "./task-completer.js";
import { TaskPump } from "./task-pump.js";
import { TaskExecutor } from "./task-executor.js";
import { ResourceLoan } from "./resource-loan.js";
import { ActorHost } from "./actor-host.js";
import { WorkerApi } from "./worker-api.js";
import { StreamRunner } from "./stream-runner.js";

export type { TaskPayload } from "./payload-reader.js";

/** Longest a fresh thread waits for its module imports before taking tasks: a hung import must not idle it. */
const WARM_LIMIT_MS = 5_000;

export class WorkerRuntime {
  readonly core: Core;
  readonly store: ObjectStore;
  readonly link: DriverLink;
  private readonly functions = new FunctionCache();
  private readonly hooks: DecodeHooks;
  private readonly refs: WorkerRefCounter;
  private readonly objects: ObjectReader;
  private readonly completer: TaskCompleter;
  private readonly pump: TaskPump;
  private readonly executor: TaskExecutor;
  private readonly loan: ResourceLoan;
  private readonly actors: ActorHost;
  private readonly streams: StreamRunner;
  readonly api: WorkerApi;
  /** SharedArrayBuffers shared with task arguments, by key (see Runtime.encodeArgs). */
  private readonly sharedBuffers = new Map<number, SharedArrayBuffer[]>();

  constructor(handle: CoreHandle, readonly index: number, port: MessagePort, capacityBytes: number, checksums = false) {
    this.core = Core.attach(handle);
    this.store = new ObjectStore(this.core, capacityBytes, undefined, checksums, index);
    this.link = new PortDriverLink(port);
    this.refs = new WorkerRefCounter(this.link);
    this.hooks = {
      ref: (id) => new ObjectRef(id, this.refs),
      actor: (d) => this.refs.trackHandle(makeActorHandle(this.api, d), handleCountActor(d)),
      shared: (key, i) => this.sharedBuffer(key, i),
    };
    const payloads = new PayloadReader(this.core, this.hooks, this.refs);
    this.completer = new TaskCompleter(this.core, this.store, this.link, index);
    this.pump = new TaskPump(this.core, index, this.completer);
    this.objects = new ObjectReader(this.core, this.store, this.hooks, this.link, this.pump);
    this.streams = new StreamRunner(this.core, this.store, this.link, this.pump);
    this.loan = new ResourceLoan(this.link);
    this.executor = new TaskExecutor(this.core, this.functions, payloads, this.completer, this.objects, this.pump, this.streams, this.loan);
    this.pump.runner = this.executor;
    this.actors = new ActorHost(this.core, index, this.functions, payloads, this.executor, this.completer, this.hooks, this.link, this.streams);
    this.api = new WorkerApi(this.core, this.store, index, this.link, this.refs, this.objects, this.pump);
    this.link.onMessage((m) => this.onMessage(m));
    setCurrent(this.api.api);
  }

  /**
   * Starts taking tasks once warm. A replacement thread has been sent every known function before it runs
   * (the definitions wait in its port): it reads them now and imports their modules first, so that a retried
   * task does not sit out an import (through tsx: 0.1 to over 1 s) holding this thread's slot, when a warm
   * thread could run it. A failed import is left in the cache, to fail the tasks that use it.
   */
  start(): void {
    this.link.post({ t: "ready" });
    this.link.drain();
    const warm = this.functions.warmModules();
    if (!warm) { this.pump.pump(); return; }
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => { timer = setTimeout(resolve, WARM_LIMIT_MS); });
    void Promise.race([warm, limit]).then(() => { clearTimeout(timer); this.pump.pump(); });
  }

  private sharedBuffer(key: number, index: number): SharedArrayBuffer {
    // Posted before the task was submitted, but tasks come through shared memory: the message may still wait.
    if (!this.sharedBuffers.has(key)) this.link.drainInTask();
    const sab = this.sharedBuffers.get(key)?.[index];
    if (!sab) throw new LoomError(`a task argument names shared buffer ${key}.${index}, which this worker never received`);
    return sab;
  }

  // ---- messages from the driver ----

  private onMessage(m: DriverToWorker): void {
    switch (m.t) {
      case "fn": this.functions.define(m.id, m.fn); break;
      case "object": this.objects.onObject(m); break;
      case "abort": this.executor.abort(m.taskId, m.timeoutMs); break;
      case "resume": this.loan.onResume(m.taskId); break;
      // The segments of sealed arguments come with the task (see Runtime.segmentsFor): no "want" round trip.
      case "actor-create":
        this.store.adoptSegments(m.segments);
        this.actors.hostActor(m.actorId, m.slot, m.fnId, m.checkpointEvery, m.maxConcurrency ?? 1, m.checkpoint, m.checkpointSeq);
        break;
      case "actor-call":
        this.store.adoptSegments(m.segments);
        this.actors.enqueueActorCall(m.actorId, m.slot, m.replay);
        break;
      case "actor-drop": this.actors.dropActor(m.actorId); break;
      case "stream-ack": this.streams.onAck(m.taskId, m.taken); break;
      case "drop-segments": for (const id of m.ids) this.store.dropSegment(id); break;
      case "shared": this.sharedBuffers.set(m.key, m.buffers); break;
      case "shared-drop": this.sharedBuffers.delete(m.key); break;
      case "actor-name": this.api.setActorName(m.name, m.actor); break;
      case "cluster-identity": this.api.setOwner(m.owner); break;
    }
  }
}
