// The Loom API that current() returns in a worker: from inside a task, submit tasks, actors and actor calls (ids
// derived from the task's), put/get/wait/cancel, find named actors. Does not run tasks (see TaskExecutor).
import { encodeArgs, type EncodedArgs } from "../serialization/arg-codec.js";
import type { Core } from "../wasm/core.js";
import type { ObjectStore } from "../object-store/object-store.js";
import { encodeValue, type EncodedValue } from "../serialization/value-codec.js";
import { LoomError } from "../errors.js";
import { childTaskId, objectIdOf, actorHandleObjectId, handleCountActor, formatTaskId, type TaskId, type ActorId } from "../ids.js";
import { ObjectRef, isObjectRef, ACTOR_BRAND, type ActorHandleDescriptor, type ActorOwner, type RefOwner } from "../refs.js";
import {
  RemoteFunction, makeActorHandle, wrapModule, type Backend, type FunctionDescriptor, type ActorHandle,
} from "../remote.js";
import { checkTaskOptions, type TaskOptions, type ActorOptions } from "../options.js";
import type { WireSubmission } from "../transport/messages.js";
import type { DriverLink } from "../transport/driver-link.js";
import { ensureTypeScriptLoader } from "./function-cache.js";
import { taskContext, type TaskContext } from "./task-context.js";
import { crashPoint, CRASH_PUTTING } from "./crash-points.js";
import type { WorkerRefCounter } from "./worker-ref-counter.js";
import type { ObjectReader, CpuReleaser } from "./object-reader.js";
import { checkWaitArgs, checkTimeout, checkGetOptions, describeArgument, nameTakenMessage } from "../api-checks.js";
import { withTimeout, waitForReady } from "../wait.js";

export class WorkerApi implements Backend {
  private readonly i32: Int32Array;
  private rootChildren = 0;
  /** Live named actors, as the driver announced them (see api.getActor). */
  private readonly namedActors = new Map<string, ActorHandleDescriptor>();

  constructor(
    core: Core, private readonly store: ObjectStore, readonly index: number, private readonly link: DriverLink,
    private readonly refs: WorkerRefCounter, private readonly objects: ObjectReader, private readonly cpu: CpuReleaser,
  ) {
    this.i32 = core.i32;
    thisWorkerIndex = index;
  }

  /** This process on its cluster (the driver's "cluster-identity"): the owner of the actors this thread creates. */
  private owner: ActorOwner | undefined;

  setOwner(owner: ActorOwner): void {
    this.owner = owner;
  }

  /** The driver's "actor-name": a named actor was made (descriptor) or died (null). */
  setActorName(name: string, actor: ActorHandleDescriptor | null): void {
    if (actor) this.namedActors.set(name, actor); else this.namedActors.delete(name);
  }

  private context(): TaskContext | undefined {
    return taskContext.getStore();
  }

  private nextChildId(): TaskId {
    const ctx = this.context();
    if (ctx) return childTaskId(ctx.taskId, ctx.nextChild++, ctx.run);
    // Outside any task (module top level in a worker): a root private to this worker.
    return childTaskId((2 ** 44 + this.index) as TaskId, this.rootChildren++);
  }

  /**
   * Encodes an argument list; big or buffer-carrying arguments are put as objects and passed by ref.
   * SharedArrayBuffers are shared with the task, not copied, under the key `taskId` (see ArgumentEncoder.share).
   */
  private encodeArgs(args: unknown[], taskId: TaskId): EncodedArgs & { shared?: SharedArrayBuffer[] } {
    const shared = { key: taskId as number, buffers: [] as SharedArrayBuffer[] };
    const encoded: EncodedArgs & { shared?: SharedArrayBuffer[] } = encodeArgs(args, (e) => this.putEncoded(e), undefined, undefined, shared);
    if (shared.buffers.length) encoded.shared = shared.buffers;
    return encoded;
  }

  private putEncoded(e: EncodedValue): ObjectRef {
    const id = objectIdOf(this.nextChildId(), 0);
    const where = this.store.writeEncoded(id, e, 0);
    crashPoint(this.i32, CRASH_PUTTING, this.context()?.taskId ?? (0 as TaskId));
    this.link.post({ t: "put", id, parentId: this.context()?.taskId ?? (0 as TaskId), location: where.location, size: where.size, flags: where.flags, segment: where.segment, sum: where.sum, refs: e.refs });
    this.refs.expectRefs(id);
    return new ObjectRef(id, this.refs);
  }

  /**
   * Refs to the results of a task this thread submitted: counted like refs to its puts, since the driver holds
   * those results for this thread (see "submit" there) until told that no ref to them is left here.
   */
  private childRefs(taskId: TaskId, n: number): ObjectRef | ObjectRef[] {
    for (let i = 0; i < n; i++) this.refs.expectRefs(objectIdOf(taskId, i));
    return returnRefs(taskId, n, this.refs);
  }

  /**
   * rt.module inside a task: a .ts module waits for this thread's tsx registration, like the function cache's
   * imports. Imported during the registration (say, while a replacement thread warms up), a task's rt.module
   * was seen to fail in CI with "Cannot read properties of undefined (reading 'status')".
   */
  async importModule(href: string): Promise<Record<string, unknown>> {
    await ensureTypeScriptLoader(href);
    return (await import(href)) as Record<string, unknown>;
  }

  submitTask(fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[] {
    refuseStreaming(options);
    const taskId = this.nextChildId();
    const { payload, deps, nested, shared } = this.encodeArgs(args, taskId);
    this.link.post({ t: "submit", spec: { taskId, parentId: this.context()?.taskId ?? (0 as TaskId), fn, payload, deps, nested, options, shared } });
    return this.childRefs(taskId, (options.numReturns as number | undefined) ?? 1);
  }

  createActor(cls: FunctionDescriptor, methods: string[], args: unknown[], options: ActorOptions & TaskOptions): ActorHandle {
    if (options.name !== undefined) {
      // Refused at once when this thread knows the name is held, as in the driver (its table may lag the driver's:
      // then the driver refuses it, and calls through the handle fail saying why).
      this.link.drainInTask();
      if (this.namedActors.has(options.name)) throw new LoomError(nameTakenMessage(options.name));
    }
    const taskId = this.nextChildId();
    const actorId = taskId as unknown as ActorId;
    const { payload, deps, nested, shared } = this.encodeArgs(args, taskId);
    const spec: WireSubmission = { taskId, parentId: this.context()?.taskId ?? (0 as TaskId), fn: cls, payload, deps, nested, options: {}, actorCreate: { actorId, methods, options }, shared };
    this.link.post({ t: "submit", spec });
    // The driver holds the actor for this thread (see WorkerProtocol.submitFromWorker) while its handles live here.
    const descriptor = this.owner ? { actorId, className: cls.name, methods, owner: this.owner } : { actorId, className: cls.name, methods };
    this.refs.expectRefs(actorHandleObjectId(handleCountActor(descriptor)));
    return this.refs.trackHandle(makeActorHandle(this, descriptor), handleCountActor(descriptor));
  }

  submitActorCall(actor: ActorHandleDescriptor, method: string, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[] {
    refuseStreaming(options);
    const taskId = this.nextChildId();
    const { payload, deps, nested, shared } = this.encodeArgs(args, taskId);
    this.link.post({ t: "submit", spec: { taskId, parentId: this.context()?.taskId ?? (0 as TaskId), fn: { kind: "inline", source: "", name: actor.className }, payload, deps, nested, options, actorCall: { actorId: actor.actorId, method, owner: actor.owner, className: actor.className }, shared } });
    return this.childRefs(taskId, (options.numReturns as number | undefined) ?? 1);
  }

  /** What current() returns in this thread. */
  readonly api = {
    remote: <F extends (...args: any[]) => any>(fn: F): RemoteFunction<F> => {
      if (typeof fn !== "function") throw new LoomError(`remote(): expected a function, got ${typeof fn}`);
      return new RemoteFunction<F>(this, { kind: "inline", source: fn.toString(), name: fn.name || "anonymous" });
    },
    module: (url: URL | string) => wrapModule(this, url),
    put: <T>(value: T): ObjectRef<T> => this.putEncoded(encodeValue(value, "value")) as ObjectRef<T>,
    get: (refs: unknown, options: { timeoutMs?: number } = {}): Promise<unknown> => {
      checkGetOptions(options);
      const one = (r: unknown) => {
        if (!isObjectRef(r)) throw new LoomError(`get(): expected an ObjectRef, got ${describeArgument(r)}`);
        return this.objects.getOne(r.id, false);
      };
      // One CPU release for the whole get, however many refs it waits on.
      checkTimeout("get()", options.timeoutMs);
      const all = Array.isArray(refs) ? Promise.all(refs.map(one)) : one(refs);
      return withTimeout(this.cpu.blocked(all), options.timeoutMs);
    },
    wait: async (refs: ObjectRef[], options: { numReturns?: number; timeoutMs?: number } = {}) => {
      const want = checkWaitArgs(refs, options);
      if (want === 0) return { ready: [], pending: [] };
      return this.cpu.blocked(waitForReady(refs, want, options.timeoutMs, (r) => this.objects.getOne(r.id, false)));
    },
    cancel: (ref: ObjectRef, options: { force?: boolean } = {}) => {
      if (!isObjectRef(ref)) throw new LoomError(`cancel(): expected an ObjectRef, got ${describeArgument(ref)}`);
      this.link.post({ t: "cancel", id: ref.id, force: options.force ?? false });
    },
    getActor: <T = any>(name: string): ActorHandle<T> => {
      if (typeof name !== "string") throw new LoomError(`getActor(): expected a name (string), got ${describeArgument(name)}`);
      // The driver announces a name (and its actor's death) before it submits any task that could look it up,
      // but tasks come through shared memory and those messages through the port: they may still be queued
      // behind the task that runs now. Read them first, or a killed actor's stale name is found.
      this.link.drainInTask();
      const actor = this.namedActors.get(name);
      if (!actor) throw new LoomError(`getActor(): no live actor named ${JSON.stringify(name)}`);
      return makeActorHandle<T>(this, actor);
    },
    kill: (handle: ActorHandle, options: { noRestart?: boolean } = {}) => {
      this.link.post({ t: "kill-actor", actorId: handle.actorId, noRestart: options.noRestart ?? true, owner: handle[ACTOR_BRAND].owner });
    },
    get signal(): AbortSignal {
      const ctx = taskContext.getStore();
      if (!ctx) throw new LoomError("current().signal is only defined inside a task");
      return (ctx.controller ??= new AbortController()).signal;
    },
    get workerIndex(): number {
      return workerIndexOf();
    },
    get taskId(): string | undefined {
      const ctx = taskContext.getStore();
      return ctx ? formatTaskId(ctx.taskId) : undefined;
    },
    options: checkTaskOptions,
  };
}

let thisWorkerIndex = -1;
function workerIndexOf(): number {
  return thisWorkerIndex;
}

function returnRefs(taskId: TaskId, n: number, owner: RefOwner): ObjectRef | ObjectRef[] {
  if (n === 1) return new ObjectRef(objectIdOf(taskId, 0), owner);
  return Array.from({ length: n }, (_, i) => new ObjectRef(objectIdOf(taskId, i), owner));
}

/** Streaming calls are consumed in the driver, which receives the yields; a task cannot iterate one yet. */
function refuseStreaming(options: TaskOptions): void {
  if (options.numReturns === "streaming") {
    throw new LoomError(`numReturns: "streaming" works for calls made by the driver; inside a task, return an array or pass refs instead`);
  }
}
