// Sending a task or an actor's message to a node: where each of its arguments is (their sources), its module's
// hash, the connection, then the request on the wire. What its reply means, and which attempt is current, are
// the ClusterScheduler's (cluster-scheduler.ts): it hands those in as hooks.
import { isActorHandleObject, type ObjectId } from "../ids.js";
import type { TaskEntry } from "../tasks/task-entry.js";
import type { FunctionDescriptor } from "../remote.js";
import type { RemoteObjects } from "./remote-objects.js";
import { ModuleHashes } from "./module-hashes.js";
import type { ObjectPuller } from "./object-transfer.js";
import type { Connection, Frame } from "./wire.js";
import type { RemoteNode } from "./node-placement.js";
import type { ObjectSource } from "./messages.js";
import { merged } from "../merged.js";

/** What a task needs to go on the wire: where each of its arguments is, its module's hash, the connection. */
interface ReadyToSend {
  refs: Record<string, ObjectSource>;
  moduleHash: string | undefined;
  c: Connection;
}

/** The scheduler's side of a send. */
export interface SendHooks {
  /** Whether `attempt` is still the task's current one (not replaced, the runtime not closed). */
  isCurrent(entry: TaskEntry, attempt: number): boolean;
  /** The node's answer to a task or call: its results stored here, or its failure handled. */
  received(node: RemoteNode, entry: TaskEntry, attempt: number, reply: Frame): Promise<void>;
  /** A send or its reply failed. */
  failed(node: RemoteNode, entry: TaskEntry, error: Error): void;
  /** Whether another node has a free worker for `entry` (a node may then hand it back: spillback). */
  roomElsewhere(entry: TaskEntry, node: RemoteNode): boolean;
}

/**
 * The objects a node pulls for `entry`: its arguments, then the refs nested in them (an actor handle's count is no
 * object to pull: ids.ts, actorHandleObjectId).
 */
function* pulledIds(entry: TaskEntry): Iterable<ObjectId> {
  yield* entry.deps;
  for (const id of entry.nestedRefs) if (!isActorHandleObject(id)) yield id;
}

/**
 * The module whose hash goes with a message, so that a node with another copy refuses it (SPEC: code); none for
 * inline functions and actor calls.
 */
function hashedModuleUrl(message: Record<string, unknown>): string | undefined {
  const fn = (message.fn ?? message.cls) as FunctionDescriptor | undefined;
  return fn?.kind === "module" && fn.url.startsWith("file:") ? fn.url : undefined;
}

export class TaskSender {
  private readonly moduleHashes = new ModuleHashes();

  constructor(private readonly puller: ObjectPuller, private readonly objects: RemoteObjects, private readonly hooks: SendHooks) {}

  /**
   * Sends a task or call once its arguments are sealed here, and stores what comes back. When nothing needs a
   * wait (its arguments are available, its module's hash known, the connection open, no call before it), it goes
   * on the wire now: a burst of tasks then holds one pending request each while in flight, not a suspended
   * function with its locals and a promise per step.
   */
  send(
    node: RemoteNode, entry: TaskEntry, attempt: number, message: Record<string, unknown> & { t: string },
    before?: Promise<void>, onSent?: () => void,
  ): Promise<void> {
    const ready = before === undefined ? this.readyNow(node, entry, message) : undefined;
    let replied: Promise<Frame | undefined>;
    try {
      replied = ready ? this.transmit(node, entry, message, ready, onSent) : this.prepare(node, entry, attempt, message, before, onSent);
    } catch (error) {
      replied = Promise.reject(error);
    }
    return replied.then(
      (reply) => (reply ? this.hooks.received(node, entry, attempt, reply) : undefined),
      (error) => { if (this.hooks.isCurrent(entry, attempt)) this.hooks.failed(node, entry, error as Error); },
    );
  }

  /** What send needs, when all of it is at hand now; undefined when something must be waited for. */
  private readyNow(node: RemoteNode, entry: TaskEntry, message: Record<string, unknown>): ReadyToSend | undefined {
    const refs: Record<string, ObjectSource> = {};
    for (const id of pulledIds(entry)) {
      const source = this.objects.sourceIfAvailable(id);
      if (!source) return undefined;
      refs[String(id)] = source;
    }
    const url = hashedModuleUrl(message);
    const moduleHash = url === undefined ? undefined : this.moduleHashes.hashNow(url);
    if (url !== undefined && moduleHash === undefined) return undefined;
    const c = this.puller.openConnection(node.info.address);
    return c ? { refs, moduleHash, c } : undefined;
  }

  /** What send needs, waited for; undefined when the attempt was replaced meanwhile. */
  private async prepare(
    node: RemoteNode, entry: TaskEntry, attempt: number, message: Record<string, unknown> & { t: string }, before?: Promise<void>, onSent?: () => void,
  ): Promise<Frame | undefined> {
    const refs: Record<string, ObjectSource> = {};
    for (const id of pulledIds(entry)) refs[String(id)] = await this.objects.sourceOf(id);
    const url = hashedModuleUrl(message);
    const moduleHash = url === undefined ? undefined : await this.moduleHashes.hashOf(url).catch(() => undefined);
    if (before) await before;
    if (!this.hooks.isCurrent(entry, attempt)) return undefined;
    const c = await this.puller.connection(node.info.address);
    if (!this.hooks.isCurrent(entry, attempt)) return undefined;
    return this.transmit(node, entry, message, { refs, moduleHash, c }, onSent);
  }

  private transmit(node: RemoteNode, entry: TaskEntry, message: Record<string, unknown> & { t: string }, ready: ReadyToSend, onSent?: () => void): Promise<Frame> {
    this.objects.sentTo(ready.refs, node.info.address);
    // A node may hand a task back when it has no free worker only while another node has one (spilledBack in
    // cluster-scheduler.ts).
    const spill = message.t === "run-task" && this.hooks.roomElsewhere(entry, node);
    const replied = ready.c.request(merged(message, { refs: ready.refs, moduleHash: ready.moduleHash, spill }), entry.payload);
    onSent?.(); // on the wire: an actor's next call may follow it
    return replied;
  }
}
