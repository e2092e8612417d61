// ActorPool (SPEC "More task and actor options"), as Ray's ray.util.ActorPool: work spread over a fixed set of
// actors, one value per actor at a time. An actor is idle when it has no call from the pool in flight; a value
// submitted while none is idle waits in order for the next one. Results come back in input order (getNext) or
// in completion order (getNextUnordered).
import { requireCurrent } from "../current.js";
import { LoomError } from "../errors.js";
import { isObjectRef, isActorHandle, type ObjectRef } from "../refs.js";
import { describeArgument } from "../api-checks.js";
import type { ActorHandle } from "../remote.js";

/** Calls one actor with one value: returns the ref of that call's result. */
export type ActorPoolFn<A, V, R> = (actor: A, value: V) => ObjectRef<R>;

interface Submission<A, R> {
  index: number;
  /** Settles with the call's outcome; made at submit time, even while the value waits for an actor. */
  result: Promise<R>;
  settle(outcome: { ok: true; value: R } | { ok: false; error: unknown }): void;
  start(actor: A): void;
  settled: boolean;
  taken: boolean;
}

interface Getter {
  get(ref: ObjectRef): Promise<unknown>;
}

export class ActorPool<A = ActorHandle, R = unknown> {
  private readonly idle: A[] = [];
  private readonly waiting: Array<Submission<A, R>> = [];
  /** Submitted and not yet taken, by submission index. */
  private readonly untaken = new Map<number, Submission<A, R>>();
  /** Settled and not yet taken, in completion order (for getNextUnordered). */
  private finishedOrder: number[] = [];
  private nextIndex = 0;
  private nextToReturn = 0;
  private settleWaiters: Array<() => void> = [];

  constructor(actors: readonly A[]) {
    if (!Array.isArray(actors)) throw new LoomError(`ActorPool: expected an array of actor handles, got ${describeArgument(actors)}`);
    actors.forEach((a, i) => {
      if (!isActorHandle(a)) throw new LoomError(`ActorPool: actors[${i}] is not an actor handle (${describeArgument(a)})`);
    });
    this.idle.push(...actors);
  }

  /** Calls `fn(actor, value)` on an idle actor now, or once one is idle (in submission order). */
  submit<V>(fn: ActorPoolFn<A, V, R>, value: V): void {
    if (typeof fn !== "function") throw new LoomError(`ActorPool.submit: expected a function (actor, value) => ObjectRef, got ${describeArgument(fn)}`);
    let settle!: Submission<A, R>["settle"];
    const result = new Promise<R>((resolve, reject) => {
      settle = (o) => (o.ok ? resolve(o.value) : reject(o.error));
    });
    result.catch(() => {}); // rejections surface through getNext; an untaken one must not crash the process
    const sub: Submission<A, R> = {
      index: this.nextIndex++, result, settled: false, taken: false,
      settle: (o) => {
        sub.settled = true;
        settle(o);
        if (!sub.taken) this.finishedOrder.push(sub.index);
        const waiters = this.settleWaiters;
        this.settleWaiters = [];
        for (const w of waiters) w();
      },
      start: (actor) => this.run(sub, actor, fn, value),
    };
    this.untaken.set(sub.index, sub);
    const actor = this.idle.shift();
    if (actor === undefined) this.waiting.push(sub);
    else sub.start(actor);
  }

  private run<V>(sub: Submission<A, R>, actor: A, fn: ActorPoolFn<A, V, R>, value: V): void {
    let ref: ObjectRef<R>;
    try {
      ref = fn(actor, value);
      if (!isObjectRef(ref)) throw new LoomError(`ActorPool: the function must return the ObjectRef of an actor call, got ${describeArgument(ref)}`);
    } catch (error) {
      sub.settle({ ok: false, error });
      this.returnActor(actor);
      return;
    }
    (requireCurrent<Getter>()).get(ref).then(
      (v) => { this.returnActor(actor); sub.settle({ ok: true, value: v as R }); },
      (error: unknown) => { this.returnActor(actor); sub.settle({ ok: false, error }); },
    );
  }

  /** An actor whose call settled: the oldest waiting value goes to it, else it is idle. */
  private returnActor(actor: A): void {
    const next = this.waiting.shift();
    if (next) next.start(actor);
    else this.idle.push(actor);
  }

  /** True while some submitted result has not been taken by getNext or getNextUnordered. */
  hasNext(): boolean {
    return this.untaken.size > 0;
  }

  /** The oldest result not yet taken (input order); rejects with the call's error, or a LoomError when none is pending. */
  getNext(): Promise<R> {
    while (this.nextToReturn < this.nextIndex && !this.untaken.has(this.nextToReturn)) this.nextToReturn++;
    const sub = this.untaken.get(this.nextToReturn);
    if (!sub) return Promise.reject(new LoomError("ActorPool.getNext: no result is pending; submit a value first"));
    this.take(sub);
    return sub.result;
  }

  /** The first result to finish among those not yet taken; rejects with its error, or a LoomError when none is pending. */
  async getNextUnordered(): Promise<R> {
    if (this.untaken.size === 0) throw new LoomError("ActorPool.getNextUnordered: no result is pending; submit a value first");
    for (;;) {
      while (this.finishedOrder.length) {
        const sub = this.untaken.get(this.finishedOrder.shift()!);
        if (sub) { this.take(sub); return sub.result; }
      }
      await new Promise<void>((resolve) => this.settleWaiters.push(resolve));
    }
  }

  private take(sub: Submission<A, R>): void {
    sub.taken = true;
    this.untaken.delete(sub.index);
  }

  /** Adds an actor; it takes the oldest waiting value at once, if any. */
  push(actor: A): void {
    if (!isActorHandle(actor)) throw new LoomError(`ActorPool.push: expected an actor handle, got ${describeArgument(actor)}`);
    this.returnActor(actor);
  }

  /** Removes and returns an idle actor, or null when every actor has a call in flight. */
  popIdle(): A | null {
    return this.idle.shift() ?? null;
  }

  /** Results in input order; a failed call's error is thrown at its position. */
  async *map<V>(fn: ActorPoolFn<A, V, R>, values: Iterable<V>): AsyncGenerator<R> {
    for (const v of values) this.submit(fn, v);
    while (this.hasNext()) yield await this.getNext();
  }

  /** Results as they finish; a failed call's error is thrown when it finishes. */
  async *mapUnordered<V>(fn: ActorPoolFn<A, V, R>, values: Iterable<V>): AsyncGenerator<R> {
    for (const v of values) this.submit(fn, v);
    while (this.hasNext()) yield await this.getNextUnordered();
  }
}
