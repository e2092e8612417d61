// Runs resolved program steps on a Loom runtime with the ops fixture (props/fixtures/ops.ts), injecting the
// faults in place, and records what every get returned. Nothing is checked here: the property compares the
// observations with the serial interpreter (props/models/check.ts).
import { GetTimeoutError, isObjectRef, type Runtime, type ObjectRef, type ActorHandle } from "loom-dag";
import type { Resolved, RArg, Step, Value } from "../arbitraries/program.js";
import { bigDigest } from "./serial-interpreter.js";
import { BIG_ELEMENT_MOD } from "../fixtures/ops.js";

/** The ops module as the runner uses it (rt.module wrappers, typed loosely: the runner builds calls from data). */
export type OpsModule = Record<string, any>;

/** The fixture as TypeScript source (workers load it through tsx). */
export const OPS_TS_URL = new URL("../fixtures/ops.ts", import.meta.url);

export async function loadOps(rt: Runtime, url: URL = OPS_TS_URL): Promise<OpsModule> {
  return (await rt.module(url)) as OpsModule;
}

/** What a get gave: a value, or an error's class (`name`) and, for TaskError, the remote error's class. */
export type Observed =
  | { ok: true; value: unknown }
  | { ok: false; name: string; remoteName?: string; message: string; loomError: boolean; hung: boolean; classes?: string[] };

export interface Observation {
  /** Index of the step that made the get (steps.length for the final gets). */
  step: number;
  slot: number;
  observed: Observed;
  /** Slots evicted for good (puts and actor-made objects whose evict() returned true) before this get; only lost puts allow errors. */
  lost: number[];
}

/** Faults that took effect in a run (an eviction of a stored object, a kill, a crash point that fired). */
export interface EffectiveFaults {
  evictions: number;
  workerKills: number;
  actorKills: number;
  crashes: number;
}

export interface RunReport {
  observations: Observation[];
  /** Broken promises that are not a slot's value: a wait that did not split its refs as asked. */
  violations: string[];
  effective: EffectiveFaults;
  /** What happened, step by step, for failure reports. */
  log: string[];
  /**
   * viaTask slots whose task was retried: a retry runs the task again from the start, so its call on the actor
   * may be made twice (at least once, as in Ray). Their actor's state is unknown from there on.
   */
  retriedViaTasks: number[];
}

export interface RunOptions {
  /** Per get: longer than this is a hang (default 10 s). */
  getTimeoutMs?: number;
  /**
   * What becomes of the run's actors at its end: "kill" them (default), or "drop" the driver's handles, so the
   * engine ends them as their handles are collected (unnamed actors with no handle left are terminated).
   */
  actorsAtEnd?: "kill" | "drop";
}

/** Actors survive any number of kills, and a call in flight when they die is retried after the replay. */
export const ACTOR_OPTIONS = { maxRestarts: -1, maxTaskRetries: -1 } as const;
/** A fragile actor's first death is its last. */
export const FRAGILE_ACTOR_OPTIONS = { maxRestarts: 0, maxTaskRetries: 0 } as const;
/** The custom resource the runtime offers one of (propsRuntimeOptions): pinned tasks take turns on it. */
export const PINNED_RESOURCE = "slotA";

/**
 * The runtime the property runs on: `workers` threads, a store small enough that big arrays spill, and one
 * `slotA` for pinned tasks.
 */
export function propsRuntimeOptions(workers: number): { workers: number; objectStoreBytes: number; resources: Record<string, number> } {
  return { workers, objectStoreBytes: 16 * 2 ** 20, resources: { [PINNED_RESOURCE]: 1 } };
}

/** Named actors' names stay unique across the runs that share a runtime. */
let namedActors = 0;

export async function runOnLoom(rt: Runtime, m: OpsModule, program: Resolved, options: RunOptions = {}): Promise<RunReport> {
  const timeoutMs = options.getTimeoutMs ?? 10_000;
  const refs: (ObjectRef<Value> | undefined)[] = new Array(program.slots.length);
  const actors: ActorHandle[] = [];
  /** Per actor: its name when named and callable by it (not killed, not fragile), and its calls' refs. */
  const actorNames: (string | undefined)[] = [];
  const actorCalls: ObjectRef[][] = [];
  /** The actors made with a name (dropping their handles does not end them). */
  const namedActorIndices = new Set<number>();
  const lost = new Set<number>();
  const observations: Observation[] = [];
  const violations: string[] = [];
  const log: string[] = [];
  const crashes: Promise<{ fired: number }>[] = [];
  const effective: EffectiveFaults = { evictions: 0, workerKills: 0, actorKills: 0, crashes: 0 };
  /** viaTask tasks by their task id (as events name it), and those that were retried. */
  const viaTaskSlots = new Map<string, number>();
  const retriedViaTasks = new Set<number>();
  const onRetried = (e: { taskId: string }): void => {
    const slot = viaTaskSlots.get(e.taskId);
    if (slot !== undefined && !retriedViaTasks.has(slot)) { retriedViaTasks.add(slot); log.push(`$${slot} (viaTask) retried: its call on the actor may have been made twice`); }
  };
  rt.events.on("task:retried", onRetried);
  const v = (a: RArg): unknown => ("lit" in a ? a.lit : refs[a.slot]);
  type Methods = Record<string, { remote(...args: unknown[]): ObjectRef<Value> }>;
  /** A named actor is called through getActor, as a user who only knows its name would. */
  const actor = (index: number): Methods => {
    const name = actorNames[index];
    return (name !== undefined ? rt.getActor(name) : actors[index]) as unknown as Methods;
  };
  /** Waits until every ref has a value or an error; a wait that runs out is a hang, reported. */
  const settled = async (list: ObjectRef[], what: string): Promise<void> => {
    if (!list.length) return;
    const { ready } = await rt.wait(list, { numReturns: list.length, timeoutMs });
    if (ready.length < list.length) throw new GetTimeoutError(`${what}: ${list.length - ready.length} did not settle in ${timeoutMs} ms`);
  };

  const observe = async (step: number, slot: number): Promise<void> => {
    const lostNow = [...lost];
    let observed: Observed;
    try {
      let value: unknown = await rt.get(refs[slot]!, { timeoutMs });
      // A task may return a ref (nestedChain, putInTask) or a box holding one (addBoxed): follow it, as a Ray
      // user would, a bounded number of times.
      for (let hops = 0; hops < 8; hops++) {
        const inner = isBox(value) ? value.inner : value;
        if (!isObjectRef(inner)) break;
        value = await rt.get(inner, { timeoutMs });
      }
      observed = { ok: true, value: value instanceof Float64Array ? bigDigest(value) : value };
    } catch (e) {
      const error = e as Error & { remoteName?: string };
      observed = {
        ok: false, name: error?.name ?? String(e), remoteName: error?.remoteName, message: error?.message ?? String(e),
        classes: classesOf(e),
        loomError: error instanceof Error && typeof (error as { code?: unknown }).code === "string",
        hung: e instanceof GetTimeoutError,
      };
    }
    observations.push({ step, slot, observed, lost: lostNow });
  };

  for (let i = 0; i < program.steps.length; i++) {
    const st: Step = program.steps[i];
    try {
      await runStep(i, st);
    } catch (e) {
      // SPEC: .remote() never blocks and returns refs; failures surface on the refs. A throw here is a finding.
      rt.events.off("task:retried", onRetried);
      throw new StepThrew(i, st, e);
    }
  }
  await Promise.all(program.slots.map((info, slot) => (info.droppedAt === undefined ? observe(program.steps.length, slot) : undefined)));
  if (crashes.length) {
    // Crash points no thread reached stay armed until now: clear them, so the next program starts clean.
    rt.faults.disarm();
    const fired = (await Promise.all(crashes)).reduce((n, r) => Math.max(n, r.fired), 0);
    effective.crashes += fired;
    log.push(`crash points: ${crashes.length} armed, ${fired} fired`);
  }
  // The runtime outlives this run: end its actors, so later kills of their threads do not replay them. Dropped
  // ones (actorsAtEnd "drop") end once the driver collects their handles; a named actor lives until killed.
  actors.forEach((a, i) => { if (options.actorsAtEnd !== "drop" || namedActorIndices.has(i)) rt.kill(a); });
  rt.events.off("task:retried", onRetried);
  return { observations, violations, log, effective, retriedViaTasks: [...retriedViaTasks] };

  async function runStep(i: number, st: Step): Promise<void> {
    switch (st.s) {
      case "put": refs[st.out] = rt.put(st.value); break;
      case "call": {
        const fn = st.pinned ? m[st.fn].options({ resources: { [PINNED_RESOURCE]: 1 } }) : m[st.fn];
        refs[st.out] = fn.remote(v(st.args[0]), v(st.args[1]));
        break;
      }
      case "throwIf": refs[st.out] = (st.retry ? m.throwIf.options({ retryExceptions: true }) : m.throwIf).remote(v(st.arg), st.mod); break;
      case "spin": refs[st.out] = m.spin.remote(v(st.arg), st.ms); break;
      case "split": {
        const rs = m.split.options({ numReturns: st.n }).remote(v(st.arg), st.n) as ObjectRef<Value>[];
        st.outs.forEach((o, k) => { refs[o] = rs[k]; });
        break;
      }
      case "stream": {
        // The refs are taken as the generator yields them. If it fails before its n-th yield (its argument
        // failed), the rest are tasks on the same argument, which fail the same way (dependents fail with their
        // argument's error); were the stream to fail while its argument is fine, those give a, not a + k + 1, and
        // the comparison with the interpreter catches it.
        const gen = m.streamRange.options({ numReturns: "streaming" }).remote(v(st.arg), st.n) as AsyncIterator<ObjectRef<Value>>;
        let k = 0;
        try {
          for (; k < st.n; k++) {
            const next = await withDeadline(gen.next(), timeoutMs, `stream $${st.outs[0]}: yield ${k}`);
            if (next.done) break;
            refs[st.outs[k]!] = next.value;
          }
        } catch (e) {
          log.push(`step ${i}: stream stopped after ${k} refs: ${(e as Error)?.message ?? String(e)}`);
        }
        for (; k < st.n; k++) refs[st.outs[k]!] = m.spin.remote(v(st.arg), 0);
        break;
      }
      case "nestedSum": refs[st.out] = m.nestedSum.remote({ refs: st.refs.map((s) => refs[s]) }); break;
      case "nestedChain": refs[st.out] = m.nestedChain.remote({ refs: st.refs.map((s) => refs[s]) }, st.depth); break;
      case "drop": refs[st.slot] = undefined; log.push(`step ${i}: drop($${st.slot})`); break;
      case "collect": {
        const gc = (globalThis as { gc?: () => void }).gc;
        // Finalizers run on a later turn: collect, then let them run and their releases reach the engine.
        for (let k = 0; k < 2 && gc; k++) { gc(); await new Promise((r) => setTimeout(r, 5)); }
        break;
      }
      case "fanOut": refs[st.out] = m.fanOut.remote(v(st.arg), st.n); break;
      case "chain": refs[st.out] = m.chain.remote(v(st.arg), st.depth); break;
      case "actorInTask": refs[st.out] = m.actorInTask.remote(v(st.arg), st.xs); break;
      case "actor": {
        const name = st.named ? `props-actor-${++namedActors}` : undefined;
        const options = {
          ...(st.fragile ? FRAGILE_ACTOR_OPTIONS : ACTOR_OPTIONS),
          ...(st.maxConcurrency > 1 ? { maxConcurrency: st.maxConcurrency } : {}),
          ...(st.checkpointEvery > 0 ? { checkpointEvery: st.checkpointEvery } : {}),
          ...(name ? { name } : {}),
        };
        actors[st.actor] = m.Accumulator.options(options).remote(v(st.init));
        if (name) namedActorIndices.add(st.actor);
        // A fragile actor's name goes with its death, which the program cannot time: call it by its handle.
        actorNames[st.actor] = st.fragile ? undefined : name;
        actorCalls[st.actor] = [];
        break;
      }
      case "method": {
        const a = actor(st.actor);
        const ref = st.method === "get" ? a.get.remote()
          : st.method === "addOrThrow" ? a.addOrThrow.remote(v(st.arg), st.mod)
          : a[st.method].remote(v(st.arg));
        refs[st.out] = ref;
        actorCalls[st.actor].push(ref);
        break;
      }
      case "methodNested": {
        const ref = actor(st.actor).addNested.remote({ refs: st.refs.map((s) => refs[s]) });
        refs[st.out] = ref;
        actorCalls[st.actor].push(ref);
        break;
      }
      case "viaTask": {
        // Calls from two callers have no order between them: let the driver's earlier calls settle, and the
        // task's call settle before the driver's next, so the actor sees the interpreter's order.
        await settled(actorCalls[st.actor], `viaTask: A${st.actor}'s earlier calls`);
        const ref = m.viaTask.remote(actor(st.actor), v(st.arg));
        viaTaskSlots.set(`t${Math.floor(ref.id / 64).toString(16)}`, st.out);
        refs[st.out] = ref;
        await settled([ref], `viaTask $${st.out}`);
        actorCalls[st.actor].push(ref);
        break;
      }
      case "actorCrash": {
        const ref = actor(st.actor).crash.remote();
        refs[st.out] = ref;
        actorCalls[st.actor].push(ref);
        effective.actorKills++;
        break;
      }
      case "killActorForGood": {
        const a = actors[st.actor]!;
        actorNames[st.actor] = undefined;
        rt.kill(a);
        log.push(`step ${i}: kill(A${st.actor})`);
        break;
      }
      case "putInTask": refs[st.out] = m.putInTask.remote(v(st.arg), st.boxed); break;
      case "big": refs[st.out] = m.big.remote(v(st.arg), st.n); break;
      case "putBig": {
        const x = new Float64Array(st.n);
        for (let k = 0; k < st.n; k++) x[k] = (st.value + k) % BIG_ELEMENT_MOD;
        refs[st.out] = rt.put(x) as ObjectRef<never>;
        break;
      }
      case "bigSum": refs[st.out] = m.bigSum.remote(refs[st.src]); break;
      case "crash": refs[st.out] = m.crash.options({ maxRetries: st.maxRetries }).remote(v(st.arg)); break;
      case "cancel": rt.cancel(refs[st.slot]!); log.push(`step ${i}: cancel($${st.slot})`); break;
      case "wait": {
        const waited = st.slots.map((s) => refs[s]!);
        const { ready, pending } = await rt.wait(waited, { numReturns: st.k, timeoutMs });
        const problem = checkWait(waited, st.k, ready, pending);
        if (problem) violations.push(`step ${i}: wait([${st.slots.map((s) => `$${s}`).join(", ")}], ${st.k}): ${problem}`);
        break;
      }
      case "get": await observe(i, st.slot); break;
      case "evict": {
        const done = rt.faults.evict(refs[st.slot]!);
        if (done && program.slots[st.slot].made !== "task") lost.add(st.slot);
        if (done) effective.evictions++;
        log.push(`step ${i}: evict($${st.slot}) -> ${done}`);
        break;
      }
      case "killWorker": {
        const index = await rt.faults.killWorker(st.worker === "busy" ? undefined : st.worker % rt.workerCount);
        effective.workerKills++;
        log.push(`step ${i}: killWorker(${st.worker}) -> worker ${index}`);
        break;
      }
      case "crashAt": crashes.push(rt.faults.crashAt(st.point as never)); log.push(`step ${i}: crashAt(${st.point})`); break;
      case "killActor": rt.faults.killActor(actors[st.actor]!); effective.actorKills++; log.push(`step ${i}: killActor(A${st.actor})`); break;
      case "pause": await new Promise((r) => setTimeout(r, st.ms)); break;
    }
  }
}

/** What a wait for k of `waited` broke, if anything: ready and pending split them, k ready (it waits for k). */
function checkWait(waited: ObjectRef[], k: number, ready: readonly ObjectRef[], pending: readonly ObjectRef[]): string | undefined {
  if (ready.length !== k) return `${ready.length} ready, asked for ${k} (no timeout was hit unless this is a hang)`;
  const seen = [...ready, ...pending];
  if (seen.length !== waited.length || new Set(seen).size !== seen.length || !seen.every((r) => waited.includes(r))) {
    return `ready and pending (${ready.length} + ${pending.length}) are not a split of the ${waited.length} refs waited on`;
  }
  return undefined;
}

/** The names of an error's classes, its own first (a NodeDiedError is also a WorkerCrashedError). */
function classesOf(e: unknown): string[] {
  const names: string[] = [];
  for (let p = Object.getPrototypeOf(e ?? {}); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const name = (p.constructor as { name?: string } | undefined)?.name;
    if (name && !names.includes(name)) names.push(name);
  }
  return names;
}

function isBox(x: unknown): x is { inner: unknown } {
  return typeof x === "object" && x !== null && !Array.isArray(x) && "inner" in x;
}

/** Rejects when `p` takes longer than `ms`: a stream that never yields is a hang, reported, not waited out. */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new GetTimeoutError(`${what} took over ${ms} ms`)), ms); });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** A step threw in the driver (a submission, a fault call) instead of answering through its refs. */
export class StepThrew extends Error {
  override name = "StepThrew";
  constructor(readonly step: number, readonly what: Step, readonly error: unknown) {
    super(`step ${step} (${what.s}) threw ${(error as Error)?.name ?? ""}: ${(error as Error)?.message ?? String(error)}`);
  }
}
