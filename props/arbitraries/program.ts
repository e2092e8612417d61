// Random programs as plain data: ops that refer to earlier results (and actors) by index modulo those made so
// far, so every op applies and shrinks well; `resolve` turns a program and its faults into steps over absolute
// slots, which the serial interpreter and the Loom runner (props/models/) both run. Runs nothing itself.
import fc from "fast-check";
import { faultSchedule, describeFault, MAX_WORKER_KILLS, type Fault, type ScheduledFault, type FaultArbitraryOptions } from "./faults.js";

export type Value = number | string;

/** An argument: a literal, or the `ref`-th result made so far (mod their count; a literal 0 while there is none). */
export type Arg = { lit: Value } | { ref: number };

export type TaskFn = "add" | "mul" | "concat";
/** addBoxed returns its answer as a ref nested in `{ inner }` (a ref returned from an actor). */
export type ActorMethodName = "add" | "addOrThrow" | "get" | "addBoxed";

export type ProgramOp =
  /** rt.put(value). */
  | { op: "put"; value: Value }
  /** add / mul / concat with two top-level arguments (refs are data edges); pinned: needs the custom resource `slotA`. */
  | { op: "call"; fn: TaskFn; args: [Arg, Arg]; pinned?: boolean }
  /** A task that throws a RangeError when its argument's digest is divisible by `mod`; retry: retryExceptions. */
  | { op: "throwIf"; arg: Arg; mod: number; retry?: boolean }
  /** Busy for `ms` then returns its argument: a task that is running when a fault lands. */
  | { op: "spin"; arg: Arg; ms: number }
  /** numReturns = n: n results [a+1, …, a+n]. */
  | { op: "split"; arg: Arg; n: number }
  /** numReturns "streaming": a generator yielding [a+1, …, a+n], its refs taken as they come. */
  | { op: "stream"; arg: Arg; n: number }
  /** Refs passed nested in an object: the task gets them itself. */
  | { op: "nestedSum"; refs: number[] }
  /** A task that submits n tasks from its worker (control edges) and sums them. */
  | { op: "fanOut"; arg: Arg; n: number }
  /** Nested recursion `depth` deep. */
  | { op: "chain"; arg: Arg; depth: number }
  /** A task that creates an actor from its worker and calls it once per x. */
  | { op: "actorInTask"; arg: Arg; xs: number[] }
  /**
   * Creates an Accumulator actor (constructor argument may be a ref). named: called through rt.getActor(name);
   * checkpointEvery: restarts restore the last checkpoint and replay only what followed; fragile: maxRestarts 0
   * (its death is final: ActorDiedError).
   */
  | { op: "actor"; init: Arg; concurrent?: boolean; named?: boolean; checkpointEvery?: number; fragile?: boolean }
  /** A method call on the `actor`-th actor made so far (skipped while there is none). */
  | { op: "method"; actor: number; method: ActorMethodName; arg: Arg; mod: number }
  /** The driver awaits a get of the `ref`-th result mid-program (skipped while there is none). */
  | { op: "get"; ref: number }
  /** Refs nested in a box through `depth` tasks, each returning the ref of the next; the last sums them. */
  | { op: "nestedChain"; refs: number[]; depth: number }
  /** The driver drops its own ref to the `ref`-th live result: only what the engine holds keeps it now. */
  | { op: "drop"; ref: number }
  /** The driver forces a garbage collection, so dropped refs are finalized and their holds released. */
  | { op: "collect" }
  /** A task puts a + 1 from its worker and returns the ref (boxed: nested in `{ inner }`). */
  | { op: "putInTask"; arg: Arg; boxed: boolean }
  /** A task returns a Float64Array of n elements (a store segment; the store is small, so they spill). */
  | { op: "big"; arg: Arg; n: number }
  /** The driver puts such an array itself. */
  | { op: "putBig"; value: number; n: number }
  /** A task sums the `ref`-th big array made so far. */
  | { op: "bigSum"; ref: number }
  /** A task that ends its thread: with retries 0 or 1 it is spent, WorkerCrashedError. */
  | { op: "crash"; arg: Arg; maxRetries: number }
  /** The `actor`-th actor's addNested: refs nested in an actor argument. */
  | { op: "methodNested"; actor: number; refs: number[] }
  /** A task handed the `actor`-th actor's handle calls add(arg) on it (the runner lets earlier calls settle first). */
  | { op: "viaTask"; actor: number; arg: Arg }
  /** The `actor`-th fragile actor's crash(): it dies for good. */
  | { op: "actorCrash"; actor: number }
  /** rt.kill of the `actor`-th actor: later calls reject with ActorDiedError. */
  | { op: "killActorForGood"; actor: number }
  /** rt.cancel of the `ref`-th cancellable task result (one nothing an actor reads derives from). */
  | { op: "cancel"; ref: number }
  /** rt.wait on these results for k of them: ready and pending split them, k ready. */
  | { op: "wait"; refs: number[]; k: number };

export type Program = ProgramOp[];

export interface ProgramArbitraryOptions {
  /** Most ops (default 12). */
  maxOps?: number;
}

export const value: fc.Arbitrary<Value> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 99 }), weight: 4 },
  { arbitrary: fc.constantFrom("a", "bc", "xyz"), weight: 1 },
);
const ref = fc.nat({ max: 63 });
export const arg: fc.Arbitrary<Arg> = fc.oneof(
  { arbitrary: ref.map((r) => ({ ref: r })), weight: 3 },
  { arbitrary: value.map((v) => ({ lit: v })), weight: 1 },
);
const mod = fc.constantFrom(2, 3, 5, 7);

export const programOp: fc.Arbitrary<ProgramOp> = fc.oneof(
  { arbitrary: value.map((v) => ({ op: "put" as const, value: v })), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("call" as const), fn: fc.constantFrom<TaskFn>("add", "mul", "concat"), args: fc.tuple(arg, arg), pinned: fc.boolean() }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant("throwIf" as const), arg, mod, retry: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("spin" as const), arg, ms: fc.integer({ min: 1, max: 8 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("split" as const), arg, n: fc.integer({ min: 2, max: 3 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("stream" as const), arg, n: fc.integer({ min: 1, max: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("nestedSum" as const), refs: fc.array(ref, { minLength: 1, maxLength: 3 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("fanOut" as const), arg, n: fc.integer({ min: 1, max: 4 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("chain" as const), arg, depth: fc.integer({ min: 1, max: 3 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("actorInTask" as const), arg, xs: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 3 }) }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant("actor" as const), init: arg, concurrent: fc.boolean(), named: fc.boolean(),
      checkpointEvery: fc.constantFrom(0, 0, 2, 3), fragile: fc.boolean(),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("method" as const), actor: fc.nat({ max: 7 }),
      method: fc.constantFrom<ActorMethodName>("add", "addOrThrow", "get", "addBoxed"), arg, mod,
    }),
    weight: 5,
  },
  { arbitrary: ref.map((r) => ({ op: "get" as const, ref: r })), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("nestedChain" as const), refs: fc.array(ref, { minLength: 1, maxLength: 3 }), depth: fc.integer({ min: 1, max: 4 }) }), weight: 2 },
  { arbitrary: ref.map((r) => ({ op: "drop" as const, ref: r })), weight: 2 },
  { arbitrary: fc.constant({ op: "collect" as const }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("putInTask" as const), arg, boxed: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("big" as const), arg, n: fc.integer({ min: 140_000, max: 420_000 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("putBig" as const), value: fc.integer({ min: 0, max: 99 }), n: fc.integer({ min: 140_000, max: 420_000 }) }), weight: 1 },
  { arbitrary: ref.map((r) => ({ op: "bigSum" as const, ref: r })), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("crash" as const), arg, maxRetries: fc.constantFrom(0, 1) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("methodNested" as const), actor: fc.nat({ max: 7 }), refs: fc.array(ref, { minLength: 1, maxLength: 3 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("viaTask" as const), actor: fc.nat({ max: 7 }), arg }), weight: 2 },
  { arbitrary: fc.nat({ max: 7 }).map((actor) => ({ op: "actorCrash" as const, actor })), weight: 2 },
  { arbitrary: fc.nat({ max: 7 }).map((actor) => ({ op: "killActorForGood" as const, actor })), weight: 1 },
  { arbitrary: ref.map((r) => ({ op: "cancel" as const, ref: r })), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("wait" as const), refs: fc.array(ref, { minLength: 1, maxLength: 4 }), k: fc.integer({ min: 1, max: 4 }) }), weight: 1 },
);

export function program(options: ProgramArbitraryOptions = {}): fc.Arbitrary<Program> {
  return fc.array(programOp, { minLength: 1, maxLength: options.maxOps ?? 12 });
}

/** A program and the faults interleaved with it. */
export interface ProgramUnderFaults {
  program: Program;
  faults: ScheduledFault[];
}

export function programUnderFaults(options: ProgramArbitraryOptions & FaultArbitraryOptions = {}): fc.Arbitrary<ProgramUnderFaults> {
  return fc.record({ program: program(options), faults: faultSchedule({ maxAt: options.maxOps ?? 12, ...options }) });
}

// ---- resolution: absolute slots ----

/** A resolved argument: a literal, or the result in slot `slot`. */
export type RArg = { lit: Value } | { slot: number };

/** Error classes a slot may show besides its reference outcome (cancels, deaths a schedule cannot predict). */
export type MayFail = "TaskCancelledError" | "ActorDiedError" | "WorkerCrashedError";

export type Step =
  | { s: "put"; out: number; value: Value }
  | { s: "call"; fn: TaskFn; out: number; args: [RArg, RArg]; pinned: boolean }
  | { s: "throwIf"; out: number; arg: RArg; mod: number; retry: boolean }
  | { s: "spin"; out: number; arg: RArg; ms: number }
  | { s: "split"; outs: number[]; arg: RArg; n: number }
  | { s: "stream"; outs: number[]; arg: RArg; n: number }
  | { s: "nestedSum"; out: number; refs: number[] }
  | { s: "fanOut"; out: number; arg: RArg; n: number }
  | { s: "chain"; out: number; arg: RArg; depth: number }
  | { s: "actorInTask"; out: number; arg: RArg; xs: number[] }
  /**
   * maxConcurrency: 4 for an actor asked to be concurrent whose method calls all take literals: its methods are
   * synchronous, so calls whose arguments are ready at once still run one after the other in submission order,
   * and the interpreter's serial order holds. A call waiting on a ref could be overtaken by a later one (as in
   * Ray's async actors), which the interpreter does not model: such actors keep maxConcurrency 1.
   */
  | { s: "actor"; actor: number; init: RArg; maxConcurrency: number; named: boolean; checkpointEvery: number; fragile: boolean }
  | { s: "method"; out: number; actor: number; method: ActorMethodName; arg: RArg; mod: number }
  | { s: "get"; slot: number }
  | { s: "nestedChain"; out: number; refs: number[]; depth: number }
  | { s: "drop"; slot: number }
  | { s: "collect" }
  | { s: "putInTask"; out: number; arg: RArg; boxed: boolean }
  | { s: "big"; out: number; arg: RArg; n: number }
  | { s: "putBig"; out: number; value: number; n: number }
  | { s: "bigSum"; out: number; src: number }
  | { s: "crash"; out: number; arg: RArg; maxRetries: number }
  | { s: "methodNested"; out: number; actor: number; refs: number[] }
  | { s: "viaTask"; out: number; actor: number; arg: RArg }
  | { s: "actorCrash"; out: number; actor: number }
  | { s: "killActorForGood"; actor: number }
  | { s: "cancel"; slot: number }
  | { s: "wait"; slots: number[]; k: number }
  | { s: "evict"; slot: number }
  | { s: "killWorker"; worker: number | "busy" }
  | { s: "crashAt"; point: string }
  | { s: "killActor"; actor: number }
  | { s: "pause"; ms: number };

export interface SlotInfo {
  /**
   * Who made it: a put (cannot be rebuilt), a task (rebuilt from lineage), an actor (rebuilt by replaying the
   * actor's chain: an actor method's result, or a task whose value comes from actor calls it made).
   */
  made: "put" | "task" | "actor";
  /** Slots it was computed from: top-level and nested ref arguments, and for actor results every input of the actor so far. */
  deps: number[];
  /** True when some actor input (constructor or method argument) derives from it. */
  feedsActor: boolean;
  /** The driver dropped its ref to it at this step (never read or evicted by the driver after). */
  droppedAt?: number;
  /** A Float64Array (big, putBig): only bigSum takes it as an argument. */
  big?: boolean;
  /** The driver actor whose call made it. */
  actor?: number;
  /** A plain task result the property may cancel (call, throwIf, spin, fanOut, chain, putInTask, big). */
  cancellable?: boolean;
  /** Errors it may also give (itself and, through its lineage, everything computed from it). */
  mayAlso?: MayFail[];
}

export interface Resolved {
  steps: Step[];
  slots: SlotInfo[];
  actors: number;
}

/** What resolution knows of a driver actor. */
interface ActorMeta {
  inputs: number[];
  fragile: boolean;
  checkpointEvery: number;
  /** Killed with rt.kill or crashed with no restarts left (at this point of the program). */
  dead: boolean;
  /** Ever dead, fragile or checkpointing: its results cannot all be replayed, so they are never evicted. */
  unreplayable: boolean;
  /** Its calls' slots, in order. */
  calls: number[];
  /** It takes refs nested in an argument (addNested): async, so it keeps maxConcurrency 1. */
  nested: boolean;
}

/**
 * Turns a program and its faults into steps over absolute slots. Refs resolve modulo the results so far,
 * actors modulo the actors so far; ops with nothing to refer to are dropped. Evictions pick among the
 * `evictable` results so far (everything except un-rebuildable results that feed an actor; see faults.ts);
 * with none, they are dropped too. Thread deaths (worker kills, crash points, crash ops, a fragile actor's
 * crash) are at most MAX_THREAD_DEATHS per program: a crash op past the budget becomes spin(arg, 0), a fault
 * past it is dropped.
 */
export function resolve(input: ProgramUnderFaults): Resolved {
  const { program: ops, faults } = input;
  const steps: Step[] = [];
  const slots: SlotInfo[] = [];
  const actors: ActorMeta[] = [];
  const byStep: ScheduledFault[][] = Array.from({ length: ops.length + 1 }, () => []);
  for (const f of faults) byStep[f.at % (ops.length + 1)].push(f);
  // Evictions and cancels are resolved after the whole program is known (feedsActor looks ahead); keep their place.
  const pendingEvicts: Array<{ index: number; target: number; made: number }> = [];
  const pendingCancels: Array<{ index: number; target: number; made: number }> = [];
  let deaths = 0;
  const death = (n = 1): boolean => (deaths + n <= MAX_THREAD_DEATHS ? ((deaths += n), true) : false);

  // Refs pick among the results the driver still holds (all of them in programs without drops).
  const live: number[] = [];
  const bigLive: number[] = [];
  const pick = (r: number): number => live[r % live.length]!;
  const rarg = (a: Arg): RArg => ("lit" in a ? { lit: a.lit } : live.length ? { slot: pick(a.ref) } : { lit: 0 });
  const depsOf = (...as: RArg[]): number[] => as.flatMap((a) => ("slot" in a ? [a.slot] : []));
  /** `usable`: later ops may take it as an argument (a slot whose value is a ref is only read by the final gets). */
  const newSlot = (made: SlotInfo["made"], deps: number[], usable = true, extra: Partial<SlotInfo> = {}): number => {
    slots.push({ made, deps: [...new Set(deps)], feedsActor: false, ...extra });
    if (usable) live.push(slots.length - 1);
    return slots.length - 1;
  };
  const actorCall = (actor: number, deps: number[], usable = true): number => {
    const a = actors[actor];
    a.inputs.push(...deps);
    const out = newSlot("actor", a.inputs, usable, { actor });
    a.calls.push(out);
    return out;
  };
  const liveActors = (filter: (a: ActorMeta) => boolean): number[] => actors.flatMap((a, i) => (filter(a) ? [i] : []));
  const placeFaults = (list: ScheduledFault[]): void => {
    for (const { fault } of list) {
      switch (fault.fault) {
        case "evict":
          pendingEvicts.push({ index: steps.length, target: fault.target, made: slots.length });
          steps.push({ s: "evict", slot: -1 });
          break;
        case "killWorker": if (death()) steps.push({ s: "killWorker", worker: fault.worker }); break;
        case "crashAt": if (death()) steps.push({ s: "crashAt", point: fault.point }); break;
        case "killActor": {
          // A crash a restart survives: only actors that may restart, while they live.
          const ok = liveActors((a) => !a.fragile && !a.dead);
          if (ok.length) steps.push({ s: "killActor", actor: ok[fault.actor % ok.length]! });
          break;
        }
        case "pause": steps.push({ s: "pause", ms: fault.ms }); break;
      }
    }
  };

  ops.forEach((op, i) => {
    placeFaults(byStep[i]);
    switch (op.op) {
      case "put": steps.push({ s: "put", out: newSlot("put", []), value: op.value }); break;
      case "call": {
        const args: [RArg, RArg] = [rarg(op.args[0]), rarg(op.args[1])];
        steps.push({ s: "call", fn: op.fn, out: newSlot("task", depsOf(...args), true, { cancellable: true }), args, pinned: op.pinned ?? false });
        break;
      }
      case "throwIf": {
        const a = rarg(op.arg);
        steps.push({ s: "throwIf", out: newSlot("task", depsOf(a), true, { cancellable: true }), arg: a, mod: op.mod, retry: op.retry ?? false });
        break;
      }
      case "spin": { const a = rarg(op.arg); steps.push({ s: "spin", out: newSlot("task", depsOf(a), true, { cancellable: true }), arg: a, ms: op.ms }); break; }
      case "split": {
        const a = rarg(op.arg);
        const outs = Array.from({ length: op.n }, () => newSlot("task", depsOf(a)));
        steps.push({ s: "split", outs, arg: a, n: op.n });
        break;
      }
      case "stream": {
        const a = rarg(op.arg);
        const outs = Array.from({ length: op.n }, () => newSlot("task", depsOf(a)));
        steps.push({ s: "stream", outs, arg: a, n: op.n });
        break;
      }
      case "nestedSum": {
        if (!live.length) break;
        const refs = op.refs.map(pick);
        steps.push({ s: "nestedSum", out: newSlot("task", refs), refs });
        break;
      }
      case "nestedChain": {
        if (!live.length) break;
        const refs = op.refs.map(pick);
        // Its value is a ref (to the next level's result): as an argument it would reach a task as that ref.
        steps.push({ s: "nestedChain", out: newSlot("task", refs, false), refs, depth: op.depth });
        break;
      }
      case "drop": {
        if (!live.length) break;
        const slot = live.splice(op.ref % live.length, 1)[0]!;
        slots[slot].droppedAt = steps.length;
        steps.push({ s: "drop", slot });
        break;
      }
      case "collect": steps.push({ s: "collect" }); break;
      case "fanOut": { const a = rarg(op.arg); steps.push({ s: "fanOut", out: newSlot("task", depsOf(a), true, { cancellable: true }), arg: a, n: op.n }); break; }
      case "chain": { const a = rarg(op.arg); steps.push({ s: "chain", out: newSlot("task", depsOf(a), true, { cancellable: true }), arg: a, depth: op.depth }); break; }
      case "actorInTask": {
        // Its value comes from an actor's calls: rebuilding it re-runs the task, which reuses those finished
        // calls (deterministic ids) and needs their objects, made by an actor. So it counts as actor-made.
        const a = rarg(op.arg);
        steps.push({ s: "actorInTask", out: newSlot("actor", depsOf(a)), arg: a, xs: op.xs });
        break;
      }
      case "actor": {
        const init = rarg(op.init);
        const fragile = op.fragile ?? false;
        const checkpointEvery = op.checkpointEvery ?? 0;
        actors.push({ inputs: depsOf(init), fragile, checkpointEvery, dead: false, unreplayable: fragile || checkpointEvery > 0, calls: [], nested: false });
        steps.push({
          s: "actor", actor: actors.length - 1, init, maxConcurrency: op.concurrent ? 4 : 1,
          named: op.named ?? false, checkpointEvery, fragile,
        });
        break;
      }
      case "method": {
        if (!actors.length) break;
        const actor = op.actor % actors.length;
        const a: RArg = op.method === "get" ? { lit: 0 } : rarg(op.arg); // get() takes no argument
        // addBoxed's value is a box holding a ref: only the final gets read it.
        const out = actorCall(actor, depsOf(a), op.method !== "addBoxed");
        steps.push({ s: "method", out, actor, method: op.method, arg: a, mod: op.mod });
        break;
      }
      case "get": if (live.length) steps.push({ s: "get", slot: pick(op.ref) }); break;
      case "putInTask": {
        const a = rarg(op.arg);
        // Its value is a ref (or a box holding one): usable by no later op.
        steps.push({ s: "putInTask", out: newSlot("task", depsOf(a), false, { cancellable: true }), arg: a, boxed: op.boxed });
        break;
      }
      case "big": {
        const a = rarg(op.arg);
        const out = newSlot("task", depsOf(a), false, { cancellable: true, big: true });
        bigLive.push(out);
        steps.push({ s: "big", out, arg: a, n: op.n });
        break;
      }
      case "putBig": {
        const out = newSlot("put", [], false, { big: true });
        bigLive.push(out);
        steps.push({ s: "putBig", out, value: op.value, n: op.n });
        break;
      }
      case "bigSum": {
        if (!bigLive.length) break;
        const src = bigLive[op.ref % bigLive.length]!;
        steps.push({ s: "bigSum", out: newSlot("task", [src], true, { cancellable: true }), src });
        break;
      }
      case "crash": {
        const a = rarg(op.arg);
        // Each attempt ends a thread: past the budget it becomes a task that returns its argument.
        if (death(op.maxRetries + 1)) steps.push({ s: "crash", out: newSlot("task", depsOf(a)), arg: a, maxRetries: op.maxRetries });
        else steps.push({ s: "spin", out: newSlot("task", depsOf(a), true, { cancellable: true }), arg: a, ms: 0 });
        break;
      }
      case "methodNested": {
        if (!actors.length || !live.length) break;
        const actor = op.actor % actors.length;
        const refs = op.refs.map(pick);
        actors[actor].nested = true;
        steps.push({ s: "methodNested", out: actorCall(actor, refs), actor, refs });
        break;
      }
      case "viaTask": {
        const ok = liveActors((a) => !a.dead);
        if (!ok.length) break;
        const actor = ok[op.actor % ok.length]!;
        const a = rarg(op.arg);
        steps.push({ s: "viaTask", out: actorCall(actor, depsOf(a)), actor, arg: a });
        break;
      }
      case "actorCrash": {
        const ok = liveActors((a) => a.fragile && !a.dead);
        if (!ok.length || !death()) break;
        const actor = ok[op.actor % ok.length]!;
        const out = actorCall(actor, [], false);
        actors[actor].dead = true;
        steps.push({ s: "actorCrash", out, actor });
        break;
      }
      case "killActorForGood": {
        const ok = liveActors((a) => !a.dead);
        if (!ok.length) break;
        const actor = ok[op.actor % ok.length]!;
        const a = actors[actor];
        a.dead = true;
        a.unreplayable = true;
        // Calls already submitted may be cut off by the kill: each may reject with ActorDiedError.
        for (const s of a.calls) slots[s].mayAlso = [...new Set([...(slots[s].mayAlso ?? []), "ActorDiedError" as const])];
        steps.push({ s: "killActorForGood", actor });
        break;
      }
      case "cancel": {
        pendingCancels.push({ index: steps.length, target: op.ref, made: slots.length });
        steps.push({ s: "cancel", slot: -1 });
        break;
      }
      case "wait": {
        if (!live.length) break;
        const waited = [...new Set(op.refs.map(pick))];
        steps.push({ s: "wait", slots: waited, k: Math.min(op.k, waited.length) });
        break;
      }
    }
  });
  placeFaults(byStep[ops.length]);

  // An actor whose calls wait on refs keeps maxConcurrency 1 (see the "actor" step).
  const waitsOnRefs = new Set<number>();
  for (const st of steps) if (st.s === "method" && "slot" in st.arg) waitsOnRefs.add(st.actor);
  for (const st of steps) if (st.s === "actor" && (waitsOnRefs.has(st.actor) || actors[st.actor].nested)) st.maxConcurrency = 1;
  // A fragile actor dies with any thread it shares: each of its calls may reject with ActorDiedError.
  actors.forEach((a) => {
    if (!a.fragile) return;
    for (const s of a.calls) slots[s].mayAlso = [...new Set([...(slots[s].mayAlso ?? []), "ActorDiedError" as const])];
  });
  // A task that retries its exceptions may run out of attempts on a thread death instead.
  if (deaths > 0) {
    for (const st of steps) if (st.s === "throwIf" && st.retry) slots[st.out].mayAlso = [...new Set([...(slots[st.out].mayAlso ?? []), "WorkerCrashedError" as const])];
  }

  // feedsActor: every ancestor of an actor input.
  const mark = (slot: number): void => {
    if (slots[slot].feedsActor) return;
    slots[slot].feedsActor = true;
    for (const d of slots[slot].deps) mark(d);
  };
  for (const a of actors) for (const s of a.inputs) mark(s);

  const dropped = new Set<number>();
  for (const e of pendingEvicts) {
    // The driver cannot evict what it no longer holds a ref to.
    const candidates = evictable(slots, e.made, actors).filter((s) => slots[s].droppedAt === undefined || slots[s].droppedAt! > e.index);
    if (candidates.length === 0) dropped.add(e.index);
    else steps[e.index] = { s: "evict", slot: candidates[e.target % candidates.length] };
  }
  // Cancels: task results nothing an actor reads derives from, and that no task reads nested (a nested read of
  // a cancelled ref fails inside the reader, which the model does not describe). The target and everything
  // computed from it may then reject with TaskCancelledError.
  const nestedRead = new Set<number>();
  for (const st of steps) if (st.s === "nestedSum" || st.s === "nestedChain" || st.s === "methodNested") st.refs.forEach((r) => nestedRead.add(r));
  const descendants = (slot: number): number[] => {
    const out = new Set<number>([slot]);
    for (let s = slot + 1; s < slots.length; s++) if (slots[s].deps.some((d) => out.has(d))) out.add(s);
    return [...out];
  };
  for (const c of pendingCancels) {
    const candidates: number[] = [];
    for (let s = 0; s < c.made; s++) {
      const info = slots[s];
      if (!info.cancellable || info.feedsActor || (info.droppedAt !== undefined && info.droppedAt <= c.index)) continue;
      if (descendants(s).some((d) => nestedRead.has(d))) continue;
      candidates.push(s);
    }
    if (candidates.length === 0) { dropped.add(c.index); continue; }
    const slot = candidates[c.target % candidates.length]!;
    steps[c.index] = { s: "cancel", slot };
    for (const d of descendants(slot)) slots[d].mayAlso = [...new Set([...(slots[d].mayAlso ?? []), "TaskCancelledError" as const])];
  }
  return { steps: steps.filter((_, i) => !dropped.has(i)), slots, actors: actors.length };
}

/** Thread deaths per program: the worker-kill budget (the default task maxRetries), whatever kills them. */
export const MAX_THREAD_DEATHS = MAX_WORKER_KILLS;

/**
 * Results made before this point that may be evicted: all but puts and actor-made results that feed an actor,
 * and the results of actors that cannot replay them all (fragile, checkpointing, or killed for good).
 */
export function evictable(slots: SlotInfo[], madeSoFar: number, actors: ReadonlyArray<{ unreplayable: boolean }> = []): number[] {
  const out: number[] = [];
  for (let s = 0; s < madeSoFar; s++) {
    const info = slots[s];
    if (info.actor !== undefined && actors[info.actor]?.unreplayable) continue;
    if (info.made === "task" || !info.feedsActor) out.push(s);
  }
  return out;
}

/**
 * The shapes a step exercises (its kind, and the options that change what the engine does), for the counts
 * the property and the soak report and the summary's check that none went missing.
 */
export function shapesOf(st: Step): string[] {
  const shapes: string[] = [st.s];
  switch (st.s) {
    case "call": if (st.pinned) shapes.push("call:resource"); break;
    case "throwIf": if (st.retry) shapes.push("throwIf:retryExceptions"); break;
    case "putInTask": if (st.boxed) shapes.push("putInTask:boxed"); break;
    case "method": shapes.push(`method:${st.method}`); break;
    case "actor":
      if (st.named) shapes.push("actor:named");
      if (st.fragile) shapes.push("actor:fragile");
      if (st.checkpointEvery > 0) shapes.push("actor:checkpointing");
      if (st.maxConcurrency > 1) shapes.push("actor:concurrent");
      break;
  }
  return shapes;
}

/** Every shape the generator must produce (the property's summary fails when one never appeared). */
export const EXPECTED_SHAPES: readonly string[] = [
  "put", "call", "call:resource", "throwIf", "throwIf:retryExceptions", "spin", "split", "stream", "nestedSum",
  "fanOut", "chain", "actorInTask", "actor", "actor:named", "actor:fragile", "actor:checkpointing", "actor:concurrent",
  "method", "method:add", "method:addOrThrow", "method:get", "method:addBoxed", "get", "nestedChain", "drop",
  "collect", "putInTask", "putInTask:boxed", "big", "putBig", "bigSum", "crash", "methodNested", "viaTask",
  "actorCrash", "killActorForGood", "cancel", "wait", "evict", "killWorker", "crashAt", "killActor", "pause",
];

const showArg = (a: RArg): string => ("lit" in a ? JSON.stringify(a.lit) : `$${a.slot}`);

/** One line per step, for failure reports: `$3 = add($1, 2)`. */
export function describeSteps(steps: Step[]): string {
  return steps.map((st) => {
    switch (st.s) {
      case "put": return `$${st.out} = put(${JSON.stringify(st.value)})`;
      case "call": return `$${st.out} = ${st.fn}(${st.args.map(showArg).join(", ")})${st.pinned ? " (slotA)" : ""}`;
      case "throwIf": return `$${st.out} = throwIf(${showArg(st.arg)}, ${st.mod})${st.retry ? " (retryExceptions)" : ""}`;
      case "spin": return `$${st.out} = spin(${showArg(st.arg)}, ${st.ms}ms)`;
      case "split": return `${st.outs.map((o) => `$${o}`).join(", ")} = split(${showArg(st.arg)}, ${st.n})`;
      case "stream": return `${st.outs.map((o) => `$${o}`).join(", ")} = streamRange(${showArg(st.arg)}, ${st.n}) (streaming)`;
      case "nestedSum": return `$${st.out} = nestedSum({ refs: [${st.refs.map((r) => `$${r}`).join(", ")}] })`;
      case "fanOut": return `$${st.out} = fanOut(${showArg(st.arg)}, ${st.n})`;
      case "chain": return `$${st.out} = chain(${showArg(st.arg)}, ${st.depth})`;
      case "actorInTask": return `$${st.out} = actorInTask(${showArg(st.arg)}, [${st.xs.join(", ")}])`;
      case "actor": {
        const opts = [st.maxConcurrency > 1 ? `maxConcurrency ${st.maxConcurrency}` : "", st.named ? "named" : "",
          st.checkpointEvery ? `checkpointEvery ${st.checkpointEvery}` : "", st.fragile ? "maxRestarts 0" : ""].filter(Boolean);
        return `A${st.actor} = Accumulator(${showArg(st.init)})${opts.length ? ` (${opts.join(", ")})` : ""}`;
      }
      case "method": return `$${st.out} = A${st.actor}.${st.method}(${showArg(st.arg)}${st.method === "addOrThrow" ? `, ${st.mod}` : ""})`;
      case "putInTask": return `$${st.out} = putInTask(${showArg(st.arg)}${st.boxed ? ", boxed" : ""})`;
      case "big": return `$${st.out} = big(${showArg(st.arg)}, ${st.n})`;
      case "putBig": return `$${st.out} = put(big(${st.value}, ${st.n}))`;
      case "bigSum": return `$${st.out} = bigSum($${st.src})`;
      case "crash": return `$${st.out} = crash(${showArg(st.arg)}) (maxRetries ${st.maxRetries})`;
      case "methodNested": return `$${st.out} = A${st.actor}.addNested({ refs: [${st.refs.map((r) => `$${r}`).join(", ")}] })`;
      case "viaTask": return `$${st.out} = viaTask(A${st.actor}, ${showArg(st.arg)})`;
      case "actorCrash": return `$${st.out} = A${st.actor}.crash()`;
      case "killActorForGood": return `kill(A${st.actor})`;
      case "cancel": return `cancel($${st.slot})`;
      case "wait": return `wait([${st.slots.map((r) => `$${r}`).join(", ")}], ${st.k})`;
      case "get": return `get($${st.slot})`;
      case "nestedChain": return `$${st.out} = nestedChain({ refs: [${st.refs.map((r) => `$${r}`).join(", ")}] }, ${st.depth})`;
      case "drop": return `drop($${st.slot})`;
      case "collect": return "collect()";
      case "evict": return `!! evict($${st.slot})`;
      case "killWorker": return `!! killWorker(${st.worker})`;
      case "crashAt": return `!! crashAt(${st.point})`;
      case "killActor": return `!! killActor(A${st.actor})`;
      case "pause": return `!! pause(${st.ms}ms)`;
    }
  }).join("\n");
}

export { describeFault, type Fault, type ScheduledFault };
