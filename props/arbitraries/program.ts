// Random programs as plain data: ops that refer to earlier results (and actors) by index modulo those made so
// far, so every op applies and shrinks well; `resolve` turns a program and its faults into steps over absolute
// slots, which the serial interpreter and the Loom runner (props/models/) both run. Runs nothing itself.
import fc from "fast-check";
import { faultSchedule, describeFault, type Fault, type ScheduledFault, type FaultArbitraryOptions } from "./faults.js";

export type Value = number | string;

/** An argument: a literal, or the `ref`-th result made so far (mod their count; a literal 0 while there is none). */
export type Arg = { lit: Value } | { ref: number };

export type TaskFn = "add" | "mul" | "concat";
export type ActorMethodName = "add" | "addOrThrow" | "get";

export type ProgramOp =
  /** rt.put(value). */
  | { op: "put"; value: Value }
  /** add / mul / concat with two top-level arguments (refs are data edges). */
  | { op: "call"; fn: TaskFn; args: [Arg, Arg] }
  /** A task that throws a RangeError when its argument's digest is divisible by `mod`. */
  | { op: "throwIf"; arg: Arg; mod: number }
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
  /** Creates an Accumulator actor (constructor argument may be a ref). */
  | { op: "actor"; init: Arg; concurrent?: boolean }
  /** A method call on the `actor`-th actor made so far (skipped while there is none). */
  | { op: "method"; actor: number; method: ActorMethodName; arg: Arg; mod: number }
  /** The driver awaits a get of the `ref`-th result mid-program (skipped while there is none). */
  | { op: "get"; ref: number }
  /** Refs nested in a box through `depth` tasks, each returning the ref of the next; the last sums them. */
  | { op: "nestedChain"; refs: number[]; depth: number }
  /** The driver drops its own ref to the `ref`-th live result: only what the engine holds keeps it now. */
  | { op: "drop"; ref: number }
  /** The driver forces a garbage collection, so dropped refs are finalized and their holds released. */
  | { op: "collect" };

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
  { arbitrary: fc.record({ op: fc.constant("call" as const), fn: fc.constantFrom<TaskFn>("add", "mul", "concat"), args: fc.tuple(arg, arg) }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant("throwIf" as const), arg, mod }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("spin" as const), arg, ms: fc.integer({ min: 1, max: 8 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("split" as const), arg, n: fc.integer({ min: 2, max: 3 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("stream" as const), arg, n: fc.integer({ min: 1, max: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("nestedSum" as const), refs: fc.array(ref, { minLength: 1, maxLength: 3 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("fanOut" as const), arg, n: fc.integer({ min: 1, max: 4 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("chain" as const), arg, depth: fc.integer({ min: 1, max: 3 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("actorInTask" as const), arg, xs: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 3 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("actor" as const), init: arg, concurrent: fc.boolean() }), weight: 2 },
  {
    arbitrary: fc.record({
      op: fc.constant("method" as const), actor: fc.nat({ max: 7 }),
      method: fc.constantFrom<ActorMethodName>("add", "addOrThrow", "get"), arg, mod,
    }),
    weight: 4,
  },
  { arbitrary: ref.map((r) => ({ op: "get" as const, ref: r })), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("nestedChain" as const), refs: fc.array(ref, { minLength: 1, maxLength: 3 }), depth: fc.integer({ min: 1, max: 4 }) }), weight: 2 },
  { arbitrary: ref.map((r) => ({ op: "drop" as const, ref: r })), weight: 2 },
  { arbitrary: fc.constant({ op: "collect" as const }), weight: 1 },
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

export type Step =
  | { s: "put"; out: number; value: Value }
  | { s: "call"; fn: TaskFn; out: number; args: [RArg, RArg] }
  | { s: "throwIf"; out: number; arg: RArg; mod: number }
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
  | { s: "actor"; actor: number; init: RArg; maxConcurrency: number }
  | { s: "method"; out: number; actor: number; method: ActorMethodName; arg: RArg; mod: number }
  | { s: "get"; slot: number }
  | { s: "nestedChain"; out: number; refs: number[]; depth: number }
  | { s: "drop"; slot: number }
  | { s: "collect" }
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
}

export interface Resolved {
  steps: Step[];
  slots: SlotInfo[];
  actors: number;
}

/**
 * Turns a program and its faults into steps over absolute slots. Refs resolve modulo the results so far,
 * actors modulo the actors so far; ops with nothing to refer to are dropped. Evictions pick among the
 * `evictable` results so far (everything except un-rebuildable results that feed an actor; see faults.ts);
 * with none, they are dropped too.
 */
export function resolve(input: ProgramUnderFaults): Resolved {
  const { program: ops, faults } = input;
  const steps: Step[] = [];
  const slots: SlotInfo[] = [];
  /** Per actor: every slot its state derives from. */
  const actorInputs: number[][] = [];
  const byStep: ScheduledFault[][] = Array.from({ length: ops.length + 1 }, () => []);
  for (const f of faults) byStep[f.at % (ops.length + 1)].push(f);
  // Evictions are resolved after the whole program is known (feedsActor looks ahead); keep their place.
  const pendingEvicts: Array<{ index: number; target: number; made: number }> = [];

  // Refs pick among the results the driver still holds (all of them in programs without drops).
  const live: number[] = [];
  const pick = (r: number): number => live[r % live.length]!;
  const rarg = (a: Arg): RArg => ("lit" in a ? { lit: a.lit } : live.length ? { slot: pick(a.ref) } : { lit: 0 });
  const depsOf = (...as: RArg[]): number[] => as.flatMap((a) => ("slot" in a ? [a.slot] : []));
  /** `usable`: later ops may take it as an argument (a slot whose value is a ref is only read by the final gets). */
  const newSlot = (made: SlotInfo["made"], deps: number[], usable = true): number => {
    slots.push({ made, deps: [...new Set(deps)], feedsActor: false });
    if (usable) live.push(slots.length - 1);
    return slots.length - 1;
  };
  const placeFaults = (list: ScheduledFault[]): void => {
    for (const { fault } of list) {
      switch (fault.fault) {
        case "evict":
          pendingEvicts.push({ index: steps.length, target: fault.target, made: slots.length });
          steps.push({ s: "evict", slot: -1 });
          break;
        case "killWorker": steps.push({ s: "killWorker", worker: fault.worker }); break;
        case "crashAt": steps.push({ s: "crashAt", point: fault.point }); break;
        case "killActor": if (actorInputs.length) steps.push({ s: "killActor", actor: fault.actor % actorInputs.length }); break;
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
        steps.push({ s: "call", fn: op.fn, out: newSlot("task", depsOf(...args)), args });
        break;
      }
      case "throwIf": { const a = rarg(op.arg); steps.push({ s: "throwIf", out: newSlot("task", depsOf(a)), arg: a, mod: op.mod }); break; }
      case "spin": { const a = rarg(op.arg); steps.push({ s: "spin", out: newSlot("task", depsOf(a)), arg: a, ms: op.ms }); break; }
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
      case "fanOut": { const a = rarg(op.arg); steps.push({ s: "fanOut", out: newSlot("task", depsOf(a)), arg: a, n: op.n }); break; }
      case "chain": { const a = rarg(op.arg); steps.push({ s: "chain", out: newSlot("task", depsOf(a)), arg: a, depth: op.depth }); break; }
      case "actorInTask": {
        // Its value comes from an actor's calls: rebuilding it re-runs the task, which reuses those finished
        // calls (deterministic ids) and needs their objects, made by an actor. So it counts as actor-made.
        const a = rarg(op.arg);
        steps.push({ s: "actorInTask", out: newSlot("actor", depsOf(a)), arg: a, xs: op.xs });
        break;
      }
      case "actor": {
        const init = rarg(op.init);
        actorInputs.push(depsOf(init));
        steps.push({ s: "actor", actor: actorInputs.length - 1, init, maxConcurrency: op.concurrent ? 4 : 1 });
        break;
      }
      case "method": {
        if (!actorInputs.length) break;
        const actor = op.actor % actorInputs.length;
        const a: RArg = op.method === "get" ? { lit: 0 } : rarg(op.arg); // get() takes no argument
        actorInputs[actor].push(...depsOf(a));
        steps.push({ s: "method", out: newSlot("actor", actorInputs[actor]), actor, method: op.method, arg: a, mod: op.mod });
        break;
      }
      case "get": if (live.length) steps.push({ s: "get", slot: pick(op.ref) }); break;
    }
  });
  placeFaults(byStep[ops.length]);

  // An actor whose calls wait on refs keeps maxConcurrency 1 (see the "actor" step).
  const waitsOnRefs = new Set<number>();
  for (const st of steps) if (st.s === "method" && "slot" in st.arg) waitsOnRefs.add(st.actor);
  for (const st of steps) if (st.s === "actor" && waitsOnRefs.has(st.actor)) st.maxConcurrency = 1;

  // feedsActor: every ancestor of an actor input.
  const mark = (slot: number): void => {
    if (slots[slot].feedsActor) return;
    slots[slot].feedsActor = true;
    for (const d of slots[slot].deps) mark(d);
  };
  for (const inputs of actorInputs) for (const s of inputs) mark(s);

  const dropped = new Set<number>();
  for (const e of pendingEvicts) {
    // The driver cannot evict what it no longer holds a ref to.
    const candidates = evictable(slots, e.made).filter((s) => slots[s].droppedAt === undefined || slots[s].droppedAt! > e.index);
    if (candidates.length === 0) dropped.add(e.index);
    else steps[e.index] = { s: "evict", slot: candidates[e.target % candidates.length] };
  }
  return { steps: steps.filter((_, i) => !dropped.has(i)), slots, actors: actorInputs.length };
}

/** Results made before this point that may be evicted: all but puts and actor-made results that feed an actor. */
export function evictable(slots: SlotInfo[], madeSoFar: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < madeSoFar; s++) if (slots[s].made === "task" || !slots[s].feedsActor) out.push(s);
  return out;
}

const showArg = (a: RArg): string => ("lit" in a ? JSON.stringify(a.lit) : `$${a.slot}`);

/** One line per step, for failure reports: `$3 = add($1, 2)`. */
export function describeSteps(steps: Step[]): string {
  return steps.map((st) => {
    switch (st.s) {
      case "put": return `$${st.out} = put(${JSON.stringify(st.value)})`;
      case "call": return `$${st.out} = ${st.fn}(${st.args.map(showArg).join(", ")})`;
      case "throwIf": return `$${st.out} = throwIf(${showArg(st.arg)}, ${st.mod})`;
      case "spin": return `$${st.out} = spin(${showArg(st.arg)}, ${st.ms}ms)`;
      case "split": return `${st.outs.map((o) => `$${o}`).join(", ")} = split(${showArg(st.arg)}, ${st.n})`;
      case "stream": return `${st.outs.map((o) => `$${o}`).join(", ")} = streamRange(${showArg(st.arg)}, ${st.n}) (streaming)`;
      case "nestedSum": return `$${st.out} = nestedSum({ refs: [${st.refs.map((r) => `$${r}`).join(", ")}] })`;
      case "fanOut": return `$${st.out} = fanOut(${showArg(st.arg)}, ${st.n})`;
      case "chain": return `$${st.out} = chain(${showArg(st.arg)}, ${st.depth})`;
      case "actorInTask": return `$${st.out} = actorInTask(${showArg(st.arg)}, [${st.xs.join(", ")}])`;
      case "actor": return `A${st.actor} = Accumulator(${showArg(st.init)})${st.maxConcurrency > 1 ? ` (maxConcurrency ${st.maxConcurrency})` : ""}`;
      case "method": return `$${st.out} = A${st.actor}.${st.method}(${showArg(st.arg)}${st.method === "addOrThrow" ? `, ${st.mod}` : ""})`;
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
