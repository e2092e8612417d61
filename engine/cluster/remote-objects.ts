// The driver's view of results that other nodes hold. Small results come back with their task's reply and are
// stored here at once. Big ones stay on the node that made them until something here needs them (a get, a
// wait, a task on this process's workers), and a task on another node pulls them from that node directly. When
// a node dies, what only it held is marked lost, and the lineage path rebuilds it when it is needed, as for an
// evicted object. Where tasks run is the ClusterScheduler's; this class knows objects and holders only.
import * as L from "../../core-wasm/shared/layout.js";
import { LoomError } from "../errors.js";
import { objectIdOf, formatTaskId, streamItemId, type ObjectId, type TaskId } from "../ids.js";
import type { DriverContext } from "../runtime/driver-context.js";
import type { TaskEntry } from "../tasks/task-entry.js";
import { importRaw, importEncodedInto, pullTarget } from "../object-store/raw-objects.js";
import type { ObjectRef } from "../refs.js";
import type { ContainedSource } from "../object-store/raw-object.js";
import { localizeRefs } from "./ref-translation.js";
import type { ObjectPuller } from "./object-transfer.js";
import type { Frame } from "./wire.js";
import type { ObjectSource, ResultInfo } from "./messages.js";

export type RemoteObjectsDeps = Pick<DriverContext, "core" | "events" | "objects" | "parkWake" | "recovery" | "refs" | "runtime" | "spill" | "store" | "streams" | "tasks" | "waiters">;

/** What RemoteObjects asks of the scheduler: the live address of a node, and whether a remote task is making `id`. */
export interface HolderLookup {
  /** This driver's node id and the address where it serves its own objects. */
  readonly nodeId: string;
  readonly address: string;
  readonly puller: ObjectPuller;
  /** The address of `nodeId` while it is alive (and not suspect), else undefined. */
  liveAddress(nodeId: string): string | undefined;
  /** Whether the task making `id` runs (or waits to run) on another node. */
  madeRemotely(id: ObjectId): boolean;
  /** Whether `nodeId` drains: what it holds for this process comes back here before it leaves. */
  draining(nodeId: string): boolean;
}

/** A result that stays on the node that made it. */
interface HeldRemotely { node: string; key: string; size: number; flags: number; pulling?: Promise<void> }

export class RemoteObjects {
  private readonly held = new Map<ObjectId, HeldRemotely>();
  /** Remote dependents waiting for an object to be sealed here or held somewhere. */
  private readonly availableWaiters = new Map<ObjectId, Array<() => void>>();
  /**
   * Per object, the processes this one sent work naming it to (address → the key they pull it under). Each may
   * keep a copy for later tasks (ImportedObjects) and is told to drop it when the object is freed here: else dead
   * copies fill its cache, and their memory stays out of its segment pool until they are evicted.
   */
  private readonly readers = new Map<ObjectId, Map<string, string>>();

  constructor(private readonly d: RemoteObjectsDeps, private readonly link: HolderLookup) {}

  /** The key under which this driver serves its object `id`. */
  objectKey(id: ObjectId): string {
    return `${this.link.nodeId}/o/${id}`;
  }

  /** The object id of one of this driver's keys, or undefined. */
  objectOfKey(key: string): ObjectId | undefined {
    const prefix = `${this.link.nodeId}/o/`;
    if (!key.startsWith(prefix)) return undefined;
    const id = Number(key.slice(prefix.length));
    return Number.isSafeInteger(id) && id >= 0 ? id as ObjectId : undefined;
  }

  /** Bytes of `deps` each node holds (placement prefers the node with most). */
  bytesHeldByNode(deps: readonly ObjectId[]): Map<string, number> | undefined {
    let out: Map<string, number> | undefined;
    for (const id of deps) {
      const held = this.held.get(id);
      if (held) (out ??= new Map()).set(held.node, (out.get(held.node) ?? 0) + held.size);
    }
    return out;
  }

  /** Whether `id` is held by a node and holds a failure. */
  heldError(id: ObjectId): boolean | undefined {
    const held = this.held.get(id);
    return held && (held.flags & L.FLAG_ERROR) !== 0;
  }

  /** Where a node pulls `id` from, once it is sealed here or held by a live node (waiting until then). */
  async sourceOf(id: ObjectId): Promise<ObjectSource> {
    return this.sourceIfAvailable(id) ?? (await this.untilAvailable(id), this.sourceAvailable(id));
  }

  /** sourceOf without waiting: undefined while the object is neither readable here nor held on a live node. */
  sourceIfAvailable(id: ObjectId): ObjectSource | undefined {
    const held = this.held.get(id);
    if (held ? this.link.liveAddress(held.node) === undefined : !this.d.objects.isReadable(id)) return undefined;
    return this.sourceAvailable(id);
  }

  private sourceAvailable(id: ObjectId): ObjectSource {
    const held = this.held.get(id);
    const from = held && !this.d.objects.isReadable(id) ? this.link.liveAddress(held.node) : undefined;
    return from ? { key: held!.key, from, size: held!.size } : { key: this.objectKey(id), from: this.link.address };
  }

  /** Work naming the objects of `refs` (id → where to pull it) goes to the process at `address`. */
  sentTo(refs: Record<string, ObjectSource>, address: string): void {
    for (const [id, source] of Object.entries(refs)) {
      if (source.from === address) continue; // its holder: released as such (objectFreed)
      const objectId = Number(id) as ObjectId;
      let at = this.readers.get(objectId);
      if (!at) this.readers.set(objectId, at = new Map());
      at.set(address, source.key);
    }
  }

  /** Where `id` can be pulled from now: the live node holding it, else this process (see answerPull). */
  sourceNow(id: ObjectId): { key: string; from: string } {
    const held = this.held.get(id);
    const from = held && !this.d.objects.isReadable(id) ? this.link.liveAddress(held.node) : undefined;
    return from ? { key: held!.key, from } : { key: this.objectKey(id), from: this.link.address };
  }

  /**
   * Waits until `id` is sealed here or held by a live node. An object a remote task is still making is waited
   * for here, not through the seal waiters, which would pull it to this process when it ends.
   */
  private async untilAvailable(id: ObjectId): Promise<void> {
    for (let tries = 0; tries < 4; tries++) {
      const held = this.held.get(id);
      if (held) {
        if (this.link.liveAddress(held.node)) return;
        this.lost(id, "its holder is not alive");
      }
      if (this.d.objects.isReadable(id)) return;
      const o = this.d.objects.get(id);
      const pending = o !== undefined && o.entry !== 0 && this.d.core.exports.objState(o.entry) === L.OBJ_PENDING;
      if (!pending || !this.link.madeRemotely(id)) break;
      await new Promise<void>((resolve) => {
        const list = this.availableWaiters.get(id);
        if (list) list.push(resolve); else this.availableWaiters.set(id, [resolve]);
      });
    }
    if (!this.held.has(id)) await this.d.waiters.whenSealed(id);
  }

  /** A task ended (stored, failed, cancelled): its returns' remote dependents look again. */
  taskEnded(entry: TaskEntry): void {
    if (this.availableWaiters.size === 0) return;
    for (let i = 0; i < entry.options.numReturns; i++) this.wakeAvailable(objectIdOf(entry.id, i));
  }

  private wakeAvailable(id: ObjectId): void {
    const list = this.availableWaiters.get(id);
    if (!list) return;
    this.availableWaiters.delete(id);
    for (const wake of list) wake();
  }

  /**
   * Stores a remote task's results from its reply: small ones here at once, big ones recorded where they are
   * (pulled now if something here waits for them). Results nothing wants any more are released on the node.
   */
  async storeResults(nodeId: string, address: string, entry: TaskEntry, reply: Frame): Promise<void> {
    const results = reply.h.results as ResultInfo[] | undefined;
    if (!Array.isArray(results)) throw new LoomError(`node ${nodeId} answered ${entry.name} without results`);
    let offset = 0;
    const unwanted: string[] = [];
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      const id = objectIdOf(entry.id, i);
      const o = this.d.objects.get(id);
      // Sealed already (a cancel, or an earlier attempt), or freed: nothing to store.
      const pending = o !== undefined && o.entry !== 0 && this.d.core.exports.objState(o.entry) === L.OBJ_PENDING;
      const dropped = pending && o.freeWhenSealed && o.refs <= 0;
      const wanted = pending && !entry.replay && !dropped;
      if (r.key === undefined) {
        const bytes = reply.body.subarray(offset, offset + r.size);
        offset += r.size;
        if (wanted) importRaw(this.d, id, r.flags, bytes);
        continue;
      }
      if (!wanted) {
        unwanted.push(r.key);
        if (dropped) this.d.objects.freeObject(o); // its refs went while it ran
        continue;
      }
      const held: HeldRemotely = { node: nodeId, key: r.key, size: r.size, flags: r.flags };
      this.held.set(id, held);
      if (this.link.draining(nodeId)) this.takeBack(id, held);
      else if (this.d.waiters.sealWaiters.has(id) || this.d.waiters.workerWants.has(id)) this.fetchIfRemote(id);
    }
    if (unwanted.length) this.release(address, unwanted);
  }

  /**
   * A streaming generator's yield that a node sent (its frame): registered under the generator's lineage, stored
   * here when it came inline or recorded where it is held, and handed to its stream. One sealed by an earlier
   * attempt stays; one its stream does not keep (nobody consumes) is freed again.
   */
  storeYield(nodeId: string, address: string, taskId: TaskId, frame: Frame): void {
    const { index, flags, size, key } = frame.h as unknown as { index: number; flags: number; size: number; key?: string };
    const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
    if (!count(index) || !count(flags) || !count(size) || (key !== undefined && typeof key !== "string") || (key === undefined && size > frame.body.length)) {
      throw new LoomError(`node ${nodeId} sent a malformed yield of task ${formatTaskId(taskId)}`);
    }
    const id = streamItemId(taskId, index);
    this.d.streams.noteItem(taskId, id);
    const o = this.d.objects.registerObject(id, false);
    if (this.d.core.exports.objState(o.entry) !== L.OBJ_PENDING || this.held.has(id)) {
      if (key !== undefined) this.release(address, [key]);
      return;
    }
    if (key === undefined) importRaw(this.d, id, flags, frame.body.subarray(0, size));
    else this.held.set(id, { node: nodeId, key, size, flags });
    const kept = this.d.streams.arrived(taskId, index);
    if (!kept && o.refs <= 0 && this.d.objects.get(id) === o) this.d.objects.freeObject(o);
  }

  /**
   * Something here needs `id` (a get, a wait, a task on this process's workers): when a node holds it, it is
   * pulled into this store and sealed. True when a pull is under way (or the copy was found lost).
   */
  fetchIfRemote(id: ObjectId): boolean {
    const held = this.held.get(id);
    if (!held || this.d.objects.isReadable(id)) return false;
    if (held.pulling) return true;
    const from = this.link.liveAddress(held.node);
    if (!from) { this.lost(id, "its holder is not alive"); return true; }
    let target: { segment: SharedArrayBuffer; view: Uint8Array } | undefined;
    held.pulling = this.link.puller.pull(from, held.key, (size) => (target = pullTarget(this.d, size))?.view ?? new Uint8Array(size)).then(async (raw) => {
      // A value holding refs: the objects it names are pulled and become this process's own first.
      const encoded = raw.hasRefs ? await localizeRefs(raw, this.d.runtime, (c) => this.pullAsObject(c)) : undefined;
      held.pulling = undefined;
      const o = this.d.objects.get(id);
      if (!o || o.entry === 0 || this.d.core.exports.objState(o.entry) !== L.OBJ_PENDING) return;
      if (encoded) importEncodedInto(this.d, id, encoded);
      else importRaw(this.d, id, raw.flags, raw.bytes, target?.view === raw.bytes ? target.segment : undefined);
    }, (error: Error) => {
      held.pulling = undefined;
      if (this.held.get(id) === held) this.lost(id, `pulling it from node ${held.node} failed: ${error.message}`);
    });
    return true;
  }

  /** An object a pulled value names, pulled from where its holder said and stored here as a new object. */
  private async pullAsObject(source: ContainedSource): Promise<ObjectRef> {
    const raw = await this.link.puller.pull(source.from, source.key);
    if (raw.hasRefs) return this.d.runtime.importEncoded(await localizeRefs(raw, this.d.runtime, (c) => this.pullAsObject(c)));
    return this.d.runtime.importObject(raw.flags, raw.bytes);
  }

  /** The dispatcher arms a task of this process's workers on `id`: a copy a node holds (or will) comes here. */
  wantLocally(id: ObjectId): void {
    if (this.fetchIfRemote(id)) return;
    const o = this.d.objects.get(id);
    if (o && o.entry !== 0 && this.d.core.exports.objState(o.entry) === L.OBJ_PENDING && this.link.madeRemotely(id)) {
      // A waiter marks it wanted here: storeResults pulls it as soon as it is held.
      void this.d.waiters.whenSealedNoRecover(id).catch(() => {});
    }
  }

  /** The driver freed `id`: the node holding it drops its copy, and so do the processes that pulled one. */
  objectFreed(id: ObjectId): void {
    const readers = this.readers.get(id);
    if (readers) {
      this.readers.delete(id);
      for (const [address, key] of readers) this.release(address, [key]);
    }
    const held = this.held.get(id);
    if (!held) return;
    this.held.delete(id);
    const from = this.link.liveAddress(held.node);
    if (from) this.release(from, [held.key]);
  }

  /**
   * `nodeId` drains: every result it holds for this process is pulled here (the owner is a live node) and its
   * copy there released, so the node can leave without anything being lost or rebuilt. The node waits for these
   * releases before it leaves (node-service handedOver).
   */
  takeBackFrom(nodeId: string): void {
    for (const [id, held] of [...this.held]) if (held.node === nodeId) this.takeBack(id, held);
  }

  private takeBack(id: ObjectId, held: HeldRemotely): void {
    this.fetchIfRemote(id);
    void (held.pulling ?? Promise.resolve()).then(() => {
      // A failed pull marked it lost (and dropped it from `held`): the node's copy is gone with that.
      if (this.held.get(id) !== held || !this.d.objects.isReadable(id)) return;
      this.held.delete(id);
      const from = this.link.liveAddress(held.node);
      if (from) this.release(from, [held.key]);
    });
  }

  /** Every copy `nodeId` held is lost (it died). */
  lostWith(nodeId: string, why: string): void {
    for (const [id, held] of [...this.held]) if (held.node === nodeId) this.lost(id, why);
  }

  /**
   * A node could not pull some of `ids` from their holders: those whose holder is gone are lost; if every
   * holder lives, one of them no longer has its copy, so all the copies named are treated as lost (rebuilt).
   */
  holdersFailed(ids: readonly ObjectId[], why: string): void {
    const named = ids.filter((id) => this.held.has(id));
    const gone = named.filter((id) => !this.link.liveAddress(this.held.get(id)!.node));
    for (const id of gone.length ? gone : named) this.lost(id, why);
  }

  /** The only copy of `id` was on a lost node: marked lost here, and rebuilt now if something waits for it. */
  private lost(id: ObjectId, why: string): void {
    this.held.delete(id);
    const o = this.d.objects.get(id);
    if (!o || o.entry === 0) return;
    const ex = this.d.core.exports;
    if (ex.objState(o.entry) !== L.OBJ_PENDING) return; // a copy was pulled here: nothing is lost
    ex.objSetState(o.entry, L.OBJ_LOST);
    this.d.events.emit("object:lost", { objectId: id, taskId: formatTaskId(this.d.streams.producerOf(id)), reason: why });
    if (this.d.waiters.sealWaiters.has(id) || this.d.waiters.workerWants.has(id) || this.availableWaiters.has(id)) {
      try { this.d.recovery.recover(id); } catch (error) { this.d.waiters.rejectWaiters(id, error as Error); }
    }
    this.wakeAvailable(id);
  }

  private release(address: string, keys: string[]): void {
    void this.link.puller.connection(address).then((c) => c.send({ t: "release", keys }), () => {});
  }
}
