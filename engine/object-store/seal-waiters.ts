// The waiters behind get/wait and the objects worker threads asked for: told when an object is sealed, or
// rejected when it cannot come back. Starting a rebuild is the recovery manager's.
import * as L from "../../core-wasm/shared/layout.js";
import { toWire } from "../errors.js";
import { RETURN_SLOTS, type ObjectId } from "../ids.js";
import { IdTable } from "../runtime/id-table.js";
import type { DriverContext } from "../runtime/driver-context.js";

/** Told when an object is sealed (with its id: one waiter can wait for many objects) or cannot come back. */
export interface SealWaiter {
  resolve(id: ObjectId): void;
  reject(error: Error): void;
}

/** What SealWaiters reaches in the driver: its arrows in engine/README.md. */
export type SealWaitersDeps = Pick<DriverContext, "core" | "objects" | "recovery" | "store" | "transport" | "cluster">;

export class SealWaiters {
  /**
   * Waiters by object id (an IdTable: a get of 100k refs registers 100k of them, in id order). One waiter is
   * kept as itself, more as a list: a list per id was an array per ref of every get.
   */
  readonly sealWaiters = new IdTable<SealWaiter | SealWaiter[]>(RETURN_SLOTS);
  /** Worker threads that asked for an object not readable yet (a "want"), by object id. */
  readonly workerWants = new Map<ObjectId, Set<number>>();

  constructor(private readonly d: SealWaitersDeps) {}

  /** Resolves when the object is sealed and readable in this thread (its segment known). */
  whenSealed(id: ObjectId): Promise<void> {
    this.d.objects.restoreIfSpilled(id);
    if (this.d.objects.isReadable(id)) return Promise.resolve();
    return new Promise((resolve, reject) => this.addSealWaiter(id, { resolve: () => resolve(), reject }));
  }

  /** Adds a waiter for an object not readable now, and starts its rebuild if it is lost or was freed. */
  addSealWaiter(id: ObjectId, waiter: SealWaiter): void {
    this.fileSealWaiter(id, waiter);
    if (this.d.cluster?.objects.fetchIfRemote(id)) return; // held by another node: pulled here
    const o = this.d.objects.get(id);
    if (!o || o.entry === 0 || this.d.core.exports.objState(o.entry) === L.OBJ_LOST) {
      try { this.d.recovery.recover(id); } catch (error) { this.rejectWaiters(id, error as Error); }
    }
  }

  onSealed(id: ObjectId): void {
    if (!this.d.objects.isReadable(id)) {
      // Lost while its task's end was still on its way to us: the waiters need a rebuild now.
      const o = this.d.objects.get(id);
      const waited = this.sealWaiters.has(id) || this.workerWants.has(id);
      if (waited && o && o.entry !== 0 && this.d.core.exports.objState(o.entry) === L.OBJ_LOST) {
        try { this.d.recovery.recover(id); } catch (error) { this.rejectWaiters(id, error as Error); }
      }
      return;
    }
    const o = this.d.objects.get(id)!;
    const waiting = this.sealWaiters.get(id);
    if (waiting) {
      this.sealWaiters.delete(id);
      if (Array.isArray(waiting)) for (const w of waiting) w.resolve(id);
      else waiting.resolve(id);
    }
    const wants = this.workerWants.get(id);
    if (wants) {
      this.workerWants.delete(id);
      for (const w of wants) this.d.transport.post(w, { t: "object", id, segment: this.d.store.segmentToSend(id) });
    }
    if (o.freeWhenSealed && o.refs <= 0) this.d.objects.freeObject(o);
  }

  rejectWaiters(id: ObjectId, error: Error): void {
    const waiting = this.sealWaiters.get(id);
    this.sealWaiters.delete(id);
    for (const w of listOf(waiting)) w.reject(error);
    const wants = this.workerWants.get(id);
    this.workerWants.delete(id);
    for (const w of wants ?? []) this.d.transport.post(w, { t: "object", id, error: toWire(error) });
  }

  whenSealedNoRecover(id: ObjectId): Promise<void> {
    if (this.d.objects.isReadable(id)) return Promise.resolve();
    return new Promise((resolve, reject) => this.fileSealWaiter(id, { resolve: () => resolve(), reject }));
  }

  /** Takes `waiter` off the object's list (a get that timed out): a waiter left there would keep its get's closure. */
  dropSealWaiter(id: ObjectId, waiter: SealWaiter): void {
    const waiting = this.sealWaiters.get(id);
    if (waiting === waiter) this.sealWaiters.delete(id);
    else if (Array.isArray(waiting)) {
      const rest = waiting.filter((w) => w !== waiter);
      if (rest.length === 0) this.sealWaiters.delete(id);
      else this.sealWaiters.set(id, rest.length === 1 ? rest[0]! : rest);
    }
  }

  private fileSealWaiter(id: ObjectId, waiter: SealWaiter): void {
    const waiting = this.sealWaiters.get(id);
    if (waiting === undefined) this.sealWaiters.set(id, waiter);
    else if (Array.isArray(waiting)) waiting.push(waiter);
    else this.sealWaiters.set(id, [waiting, waiter]);
  }

  /** Rejects every waiter (shutdown). */
  rejectAll(error: Error): void {
    for (const waiting of this.sealWaiters.values()) for (const w of listOf(waiting)) w.reject(error);
    this.sealWaiters.clear();
  }
}

function listOf(waiting: SealWaiter | SealWaiter[] | undefined): SealWaiter[] {
  return waiting === undefined ? [] : Array.isArray(waiting) ? waiting : [waiting];
}
