// The reference: runs resolved steps in plain TypeScript, without Loom, and says what every result slot must
// be. It ignores faults (they must not change a correct engine's values); what a fault may legitimately change
// (a lost put) is `allowedUnderLoss`, applied per get with what was lost before it.
import type { Resolved, RArg, Value, SlotInfo } from "../arbitraries/program.js";

/** The Loom error classes the model speaks about (by `name`, which equals the class name). */
export type ErrorName = "TaskError" | "ObjectLostError" | "ReconstructionError" | "ActorDiedError" | "WorkerCrashedError" | "TaskCancelledError";

/** What a slot must hold: a value, or an error of one of these classes (several when two failing inputs race). */
export type Outcome = { ok: true; value: Value } | { ok: false; errors: ErrorName[] };

// The same arithmetic as props/fixtures/ops.ts, written again on purpose: the model must not share code with
// what it checks.
const MOD = 1_000_003;
const MAX_STRING = 40;
const norm = (n: number): number => ((n % MOD) + MOD) % MOD;
const num = (v: Value): number => (typeof v === "number" ? v : v.length);
function digest(v: Value): number {
  if (typeof v === "number") return v;
  let h = 0;
  for (const ch of v) h = (h * 31 + ch.charCodeAt(0)) % MOD;
  return h;
}
const throwsFor = (v: Value, mod: number): boolean => digest(v) % mod === 0;

/** A big array's elements are (base + i) mod this; it is compared by digest (see bigDigest). */
const BIG_MOD = 997;
function bigElementsSum(base: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += (base + i) % BIG_MOD;
  return s;
}
/** How a Float64Array result is compared: its length and the exact sum of its elements. */
export function bigDigest(x: Float64Array): string {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return `f64[${x.length}] sum ${s}`;
}

/** An actor's state; `dead`: killed for good or crashed with no restarts left, so later calls reject. */
type ActorState = ({ total: number } | { createErrors: ErrorName[] }) & { dead?: boolean };

/** Every result slot's outcome when the program runs undisturbed. */
export function interpret(r: Resolved): Outcome[] {
  const out: Outcome[] = new Array(r.slots.length);
  const actors: ActorState[] = [];
  /** The arguments' values, or the union of their error classes (any failing argument may be seen first). */
  const args = (...as: RArg[]): Value[] | ErrorName[] & { failed: true } => {
    const errors = new Set<ErrorName>();
    const values: Value[] = [];
    for (const a of as) {
      if ("lit" in a) { values.push(a.lit); continue; }
      const o = out[a.slot];
      if (o.ok) values.push(o.value); else o.errors.forEach((e) => errors.add(e));
    }
    return errors.size ? Object.assign([...errors], { failed: true as const }) : values;
  };
  const failed = (x: unknown): x is ErrorName[] & { failed: true } => (x as { failed?: boolean }).failed === true;
  const ok = (value: Value): Outcome => ({ ok: true, value });
  const err = (errors: ErrorName[]): Outcome => ({ ok: false, errors });
  const refArgs = (slots: number[]): RArg[] => slots.map((slot) => ({ slot }));
  /** Big arrays by slot: base and length, or the errors that kept them from being made. */
  const bigs = new Map<number, { base: number; n: number } | ErrorName[]>();
  /** A call on a dead actor: ActorDiedError (or a failed constructor's or argument's error, whichever is seen first). */
  const deadCall = (actor: ActorState, argErrors: ErrorName[] = []): Outcome =>
    err([...new Set<ErrorName>(["ActorDiedError", ...("createErrors" in actor ? actor.createErrors : []), ...argErrors])]);
  /** An actor adds x: its new total. */
  const addTo = (actor: { total: number }, x: number): Outcome => { actor.total = norm(actor.total + x); return ok(actor.total); };

  for (const st of r.steps) {
    switch (st.s) {
      case "put": out[st.out] = ok(st.value); break;
      case "call": {
        const a = args(...st.args);
        if (failed(a)) { out[st.out] = err(a); break; }
        const [x, y] = a as Value[];
        out[st.out] = ok(st.fn === "add" ? norm(num(x) + num(y)) : st.fn === "mul" ? norm(num(x) * num(y)) : `${x}.${y}`.slice(-MAX_STRING));
        break;
      }
      case "throwIf": {
        const a = args(st.arg);
        out[st.out] = failed(a) ? err(a) : throwsFor(a[0], st.mod) ? err(["TaskError"]) : ok(a[0]);
        break;
      }
      case "spin": { const a = args(st.arg); out[st.out] = failed(a) ? err(a) : ok(a[0]); break; }
      case "split": case "stream": {
        const a = args(st.arg);
        st.outs.forEach((o, i) => { out[o] = failed(a) ? err(a) : ok(norm(num(a[0]) + i + 1)); });
        break;
      }
      case "nestedSum": case "nestedChain": {
        const a = args(...refArgs(st.refs));
        out[st.out] = failed(a) ? err(a) : ok(norm((a as Value[]).reduce<number>((s, v) => s + num(v), 0)));
        break;
      }
      case "fanOut": {
        const a = args(st.arg);
        if (failed(a)) { out[st.out] = err(a); break; }
        let s = 0;
        for (let j = 0; j < st.n; j++) s += norm(num(a[0]) + j);
        out[st.out] = ok(norm(s));
        break;
      }
      case "chain": {
        const a = args(st.arg);
        if (failed(a)) { out[st.out] = err(a); break; }
        let c = norm(num(a[0]));
        for (let d = 0; d < st.depth; d++) c = norm(c * 2 + 1);
        out[st.out] = ok(c);
        break;
      }
      case "actorInTask": {
        const a = args(st.arg);
        if (failed(a)) { out[st.out] = err(a); break; }
        let total = norm(num(a[0]));
        for (const x of st.xs) total = norm(total + x);
        out[st.out] = ok(total);
        break;
      }
      case "actor": {
        const a = args(st.init);
        actors[st.actor] = failed(a) ? { createErrors: a } : { total: norm(num(a[0])) };
        break;
      }
      case "method": {
        const actor = actors[st.actor];
        if (actor.dead) { const a = st.method === "get" ? [] : args(st.arg); out[st.out] = deadCall(actor, failed(a) ? a : []); break; }
        // A failed constructor fails every call with its error, before the call's own arguments are looked at.
        if ("createErrors" in actor) { out[st.out] = err(actor.createErrors); break; }
        if (st.method === "get") { out[st.out] = ok(actor.total); break; }
        const a = args(st.arg);
        if (failed(a)) { out[st.out] = err(a); break; } // the method never ran: the total is unchanged
        if (st.method === "addOrThrow" && throwsFor(a[0], st.mod)) { out[st.out] = err(["TaskError"]); break; }
        out[st.out] = addTo(actor, num(a[0]));
        break;
      }
      case "methodNested": {
        const actor = actors[st.actor];
        const a = args(...refArgs(st.refs));
        if (actor.dead) { out[st.out] = deadCall(actor, failed(a) ? a : []); break; }
        if ("createErrors" in actor) { out[st.out] = err(actor.createErrors); break; }
        // It gets its refs itself: one failed, the get rejects with its error and the total stays.
        if (failed(a)) { out[st.out] = err(a); break; }
        out[st.out] = addTo(actor, (a as Value[]).reduce<number>((s, v) => s + num(v), 0));
        break;
      }
      case "viaTask": {
        // The task's argument is ready before it runs; the actor's error passes through the task's get.
        const actor = actors[st.actor];
        const a = args(st.arg);
        if (failed(a)) { out[st.out] = err(a); break; }
        if ("createErrors" in actor) { out[st.out] = err(actor.createErrors); break; }
        out[st.out] = addTo(actor, num(a[0]));
        break;
      }
      case "actorCrash": {
        const actor = actors[st.actor];
        out[st.out] = deadCall(actor);
        actor.dead = true;
        break;
      }
      case "killActorForGood": actors[st.actor].dead = true; break;
      case "putInTask": { const a = args(st.arg); out[st.out] = failed(a) ? err(a) : ok(norm(num(a[0]) + 1)); break; }
      case "big": {
        const a = args(st.arg);
        if (failed(a)) { out[st.out] = err(a); bigs.set(st.out, a); break; }
        const base = num(a[0]);
        bigs.set(st.out, { base, n: st.n });
        out[st.out] = ok(`f64[${st.n}] sum ${bigElementsSum(base, st.n)}`);
        break;
      }
      case "putBig": {
        bigs.set(st.out, { base: st.value, n: st.n });
        out[st.out] = ok(`f64[${st.n}] sum ${bigElementsSum(st.value, st.n)}`);
        break;
      }
      case "bigSum": {
        const b = bigs.get(st.src)!;
        out[st.out] = Array.isArray(b) ? err(b) : ok(norm(bigElementsSum(b.base, b.n)));
        break;
      }
      case "crash": { const a = args(st.arg); out[st.out] = failed(a) ? err(a) : err(["WorkerCrashedError"]); break; }
      case "get": case "evict": case "cancel": case "wait": case "killWorker": case "killActor": case "pause": case "drop": case "collect": case "crashAt": break;
    }
  }
  return out;
}

/** Every slot a slot was computed from, transitively. */
export function ancestors(slots: SlotInfo[]): Set<number>[] {
  const memo: Set<number>[] = new Array(slots.length);
  const walk = (s: number): Set<number> => {
    if (memo[s]) return memo[s];
    const set = new Set<number>();
    memo[s] = set;
    for (const d of slots[s].deps) { set.add(d); for (const x of walk(d)) set.add(x); }
    return set;
  };
  for (let s = 0; s < slots.length; s++) walk(s);
  return memo;
}

/**
 * What a get of `slot` may give once the objects in `lost` (evicted puts, task- and actor-made objects) are gone:
 * - a lost put itself: exactly ObjectLostError (SPEC: put objects cannot be rebuilt);
 * - anything computed from a lost put: its value, or ObjectLostError / ReconstructionError if its rebuild
 *   or its first run needed the lost put.
 * Task-made objects are rebuilt from lineage and actor-made ones by replaying the actor's chain (SPEC; results
 * of actors that checkpoint, die for good or may, are never evicted, so every evicted call stays replayable):
 * losing them allows nothing new. Besides, a slot may give the errors a cancel or an unpredictable death left
 * on it or on what it was computed from (SlotInfo.mayAlso).
 */
export function allowedUnderLoss(
  slot: number, reference: Outcome, slots: SlotInfo[], anc: Set<number>[], lost: ReadonlySet<number>,
): { outcome: Outcome; alsoErrors: ErrorName[] } {
  if (lost.has(slot) && slots[slot].made === "put") return { outcome: { ok: false, errors: ["ObjectLostError"] }, alsoErrors: [] };
  const also = new Set<ErrorName>();
  for (const a of anc[slot]) {
    if (lost.has(a) && slots[a].made === "put") { also.add("ObjectLostError"); also.add("ReconstructionError"); }
  }
  // What a cancel or an unpredictable death may do to it or to what it was computed from.
  for (const s of [slot, ...anc[slot]]) for (const e of slots[s].mayAlso ?? []) also.add(e);
  return { outcome: reference, alsoErrors: [...also] };
}
