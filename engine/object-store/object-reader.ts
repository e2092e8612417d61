// The driver's reads behind get(): the fast path for readable objects, the latency-mode poll, and the
// one-promise wait for many refs. Each pending read holds its objects through the reference counter.
import * as L from "../../core-wasm/shared/layout.js";
import type { DecodeHooks } from "../serialization/value-codec.js";
import { GetTimeoutError, ObjectLostError, userStack } from "../errors.js";
import { startTimer } from "../wait.js";
import { handleCountActor, type ObjectId } from "../ids.js";
import { ObjectRef, isObjectRef } from "../refs.js";
import { makeActorHandle } from "../remote.js";
import type { DriverContext } from "../runtime/driver-context.js";
import type { SealWaiter } from "./seal-waiters.js";

/** How long a latency-mode get polls shared memory before it waits (see pollSealed). */
const POLL_US = 150;
const POLL_MAX_MISSES = 4;
const POLL_PROBE_EVERY = 16;

/** What ObjectReader reaches in the driver: its arrows in engine/README.md. */
export type ObjectReaderDeps = Pick<DriverContext, "core" | "immutability" | "objects" | "parkWake" | "refs" | "runtime" | "spill" | "store" | "waiters" | "workerCount">;

export class ObjectReader {
  /** How values read in the driver make refs and actor handles: owned by the runtime. */
  readonly hooks: DecodeHooks;

  constructor(private readonly d: ObjectReaderDeps) {
    this.hooks = {
      ref: (id) => new ObjectRef(id, d.runtime),
      actor: (desc) => d.refs.trackHandle(makeActorHandle(d.runtime, desc), handleCountActor(desc)),
    };
  }

  /** The values of refs that are all readable right now (settled promise), or undefined if any must wait. */
  readAllNow(refs: ObjectRef | readonly ObjectRef[]): Promise<unknown> | undefined {
    const list = Array.isArray(refs) ? refs : [refs];
    if (list.length > 256) return undefined;
    for (const r of list) if (!isObjectRef(r) || !this.d.objects.isReadable(r.id)) return undefined;
    const values: unknown[] = [];
    for (const r of list) {
      this.d.spill.touch(r.id);
      const o = this.d.objects.get(r.id)!;
      const got = this.d.store.read(r.id, o.entry, this.hooks);
      if (got.error) return Promise.reject(got.error);
      const mutated = this.d.immutability?.read(r.id, this.d.store.segments.get(r.id), userStack);
      if (mutated) return Promise.reject(mutated);
      values.push(got.value);
    }
    return Promise.resolve(Array.isArray(refs) ? values : values[0]);
  }

  /**
   * Latency mode: with no more tasks in flight than workers, a get polls the object's state in shared memory
   * for up to POLL_US before it waits. A worker seals straight into shared memory, so a short task's result
   * is read here without two thread wake-ups through event loops (the done record is taken later, as usual).
   * Polls that keep missing (long tasks) back off to one probe in POLL_PROBE_EVERY gets.
   */
  pollSealed(id: ObjectId): boolean {
    if (this.d.parkWake.inFlight > this.d.workerCount) return false;
    if (this.pollMisses >= POLL_MAX_MISSES && ++this.pollSkipped % POLL_PROBE_EVERY !== 0) return false;
    const o = this.d.objects.get(id);
    if (!o || o.entry === 0) return false;
    if (this.d.parkWake.wakeScheduled) this.d.parkWake.wake(); // the workers must hear of the task now, not after this poll
    const ex = this.d.core.exports;
    const deadline = performance.now() + POLL_US / 1000;
    do {
      if (ex.objState(o.entry) === L.OBJ_SEALED) { this.pollMisses = 0; return true; }
    } while (performance.now() < deadline);
    this.pollMisses++;
    return false;
  }

  private pollMisses = 0;
  private pollSkipped = 0;
  /**
   * Reads many objects behind one promise (a get of 100k refs should not cost 100k promises): each object is
   * held until the get settles; it rejects as soon as one of them is an error, else resolves once all are sealed.
   * `timeoutMs` (undefined or Infinity: none): rejects with GetTimeoutError then, and lets go of the objects and of
   * its waiters at once, so that a timed-out get keeps nothing alive once the caller drops its refs.
   */
  getMany(ids: ObjectId[], timeoutMs?: number): Promise<unknown[]> {
    for (const id of ids) { this.d.refs.incRef(id); this.d.spill.touch(id); }
    return new Promise<unknown[]>((resolve, reject) => {
      let pending = 1; // the registration loop below holds one, so a synchronous settle cannot finish early
      let settled = false;
      let cancelTimer: (() => void) | undefined;
      const release = () => {
        cancelTimer?.();
        for (const id of ids) this.d.refs.decRef(id);
      };
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        release();
        reject(error);
      };
      const oneDone = () => {
        if (settled || --pending > 0) return;
        settled = true;
        try {
          resolve(ids.map((id) => this.readNow(id)));
        } catch (error) {
          reject(error);
        } finally {
          release();
        }
      };
      // One waiter for all of them: it is told which object was sealed.
      /** Rejects the get at once if the readable object `id` holds an error; true when it did. */
      const failedOn = (id: ObjectId): boolean => {
        if (!this.d.objects.isErrorValue(id)) return false;
        try { this.readNow(id); } catch (error) { fail(error as Error); }
        return true;
      };
      const waiter: SealWaiter = {
        resolve: (id) => {
          if (settled || failedOn(id)) return;
          oneDone();
        },
        reject: fail,
      };
      for (const id of ids) {
        if (settled) break;
        this.d.objects.restoreIfSpilled(id);
        if (this.d.objects.isReadable(id)) {
          failedOn(id);
          continue;
        }
        pending++;
        this.d.waiters.addSealWaiter(id, waiter);
      }
      oneDone();
      if (!settled && timeoutMs !== undefined && timeoutMs !== Infinity) {
        cancelTimer = startTimer(timeoutMs, () => {
          for (const id of ids) this.d.waiters.dropSealWaiter(id, waiter);
          fail(new GetTimeoutError(`get() timed out after ${timeoutMs} ms`));
        });
      }
    });
  }

  /** The value of a readable object (restored from disk if it was spilled since); throws its error. */
  private readNow(id: ObjectId): unknown {
    this.d.objects.restoreIfSpilled(id); // other reads may have spilled it again since it became readable
    const o = this.d.objects.get(id);
    if (!o || o.entry === 0) throw new ObjectLostError(`object ${id} was freed before it could be read`);
    const r = this.d.store.read(id, o.entry, this.hooks);
    if (r.error) throw r.error;
    const mutated = this.d.immutability?.read(id, this.d.store.segments.get(id), userStack);
    if (mutated) throw mutated;
    return r.value;
  }

  /**
   * Reads one object; a pending get holds the object, so dropping the last ref meanwhile cannot free it.
   * `timeoutMs`: as getMany's.
   */
  async getOne(id: ObjectId, timeoutMs?: number): Promise<unknown> {
    if (timeoutMs !== undefined && timeoutMs !== Infinity) return (await this.getMany([id], timeoutMs))[0];
    this.d.refs.incRef(id);
    this.d.spill.touch(id);
    try {
      await this.d.waiters.whenSealed(id);
      return this.readNow(id);
    } finally {
      this.d.refs.decRef(id);
    }
  }
}
