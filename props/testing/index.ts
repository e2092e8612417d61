/**
 * Property-test your own task graphs under faults: fault-schedule arbitraries and `checkUnderFaults`; and
 * `Cluster`, a cluster of real Loom processes on this machine for tests.
 * @module loom-dag/testing
 */
// loom-dag/testing: property-test your own task graphs under faults. Fault-schedule arbitraries, and
// checkUnderFaults, which compares a graph's undisturbed result with its results under generated schedules
// and shrinks a difference to the smallest schedule. It drives faults through rt.faults only.
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import { init, ObjectRef, type Runtime, type InitOptions } from "loom-dag";
import { objectIdOf, type TaskId } from "../../engine/ids.js";
import { ACTOR_BRAND, markActorHandle } from "../../engine/refs.js";

export { Cluster, type ClusterOptions, type ClusterNodeOptions, type ClusterProcess } from "./cluster.js";
export { redisServerPath, REDIS_SERVER_MISSING } from "./redis-server.js";

// What Loom promises under these faults (SPEC "Lineage and faults"): task-made objects come back by
// re-executing their lineage; actors with restarts left replay their calls; tasks with retries left survive
// their worker's death. So a graph whose tasks keep the default `maxRetries` (3) and whose actors have
// `maxRestarts` (and `maxTaskRetries`, for calls in flight) at least the number of kills gives equal results.
// `put` objects cannot be rebuilt, so schedules never evict them; actor-made results are not evicted unless
// `evictActorResults` is set (they are rebuilt by replaying the actor, which this turns into a test).

/** One fault, its target picked when it fires, by index modulo what exists then. */
export type GraphFault =
  /** Kill worker `worker` (mod the worker count), or the busy one, mid-flight. */
  | { kind: "killWorker"; worker: number | "busy" }
  /** Evict the first result of the `target`-th task finished so far in this run (mod their count). */
  | { kind: "evict"; target: number }
  /** Crash the `target`-th actor created so far in this run (mod their count); it restarts if it may. */
  | { kind: "killActor"; target: number }
  /** Arm a crash point (rt.faults.crashAt): the next thread to reach it dies there. Counts as a worker kill. */
  | { kind: "crashAt"; point: CrashPointName };

/** The worker protocol's crash points (SPEC: rt.faults.crashAt). */
export const CRASH_POINTS = ["taken", "running", "sealing", "sealed", "putting", "checkpointing"] as const;
export type CrashPointName = (typeof CRASH_POINTS)[number];

/** A fault and when it fires: once `afterTasks` tasks have finished (mod the undisturbed run's count + 1). */
export interface TimedFault {
  afterTasks: number;
  fault: GraphFault;
}

export interface FaultScheduleOptions {
  /** Most evictions and actor kills (default 4). */
  maxFaults?: number;
  /** Most worker kills (default 3: the default maxRetries of tasks). */
  maxWorkerKills?: number;
  /** Include actor kills (default true). */
  killActors?: boolean;
}

const target = fc.nat({ max: 63 });
const afterTasks = fc.nat({ max: 1_000 });

/** Arbitrary eviction (of a finished task's result). */
export const evictFault = (): fc.Arbitrary<GraphFault> => target.map((t) => ({ kind: "evict" as const, target: t }));
/** Arbitrary worker kill. */
export const killWorkerFault = (): fc.Arbitrary<GraphFault> =>
  fc.oneof(fc.constant("busy" as const), fc.nat({ max: 15 })).map((worker) => ({ kind: "killWorker" as const, worker }));
/** Arbitrary crash point. */
export const crashAtFault = (): fc.Arbitrary<GraphFault> => fc.constantFrom(...CRASH_POINTS).map((point) => ({ kind: "crashAt" as const, point }));
/** Arbitrary actor crash. */
export const killActorFault = (): fc.Arbitrary<GraphFault> => target.map((t) => ({ kind: "killActor" as const, target: t }));

/**
 * Arbitrary fault schedules: evictions and actor kills, plus at most `maxWorkerKills` worker kills, in firing order.
 * @example fc.sample(faultSchedule({ maxFaults: 2, killActors: false }), 3); // three schedules to look at
 */
export function faultSchedule(options: FaultScheduleOptions = {}): fc.Arbitrary<TimedFault[]> {
  const other = options.killActors === false ? evictFault() : fc.oneof({ arbitrary: evictFault(), weight: 3 }, { arbitrary: killActorFault(), weight: 1 });
  return fc
    .tuple(
      fc.array(fc.record({ afterTasks, fault: other }), { maxLength: options.maxFaults ?? 4 }),
      // Worker kills and crash points share the budget: each can end one attempt of a task.
      fc.array(fc.record({ afterTasks, fault: fc.oneof(killWorkerFault(), crashAtFault()) }), { maxLength: options.maxWorkerKills ?? 3 }),
    )
    .map(([a, b]) => [...a, ...b].sort((x, y) => x.afterTasks - y.afterTasks));
}

export interface CheckUnderFaultsOptions extends FaultScheduleOptions {
  /** A runtime to use (left running); by default one is started with `init` and shut down at the end. */
  runtime?: Runtime;
  /** Options for the runtime started when `runtime` is not given (default { workers: 2 }; checkImmutable is on unless set). */
  init?: InitOptions;
  /** Faulty runs (default 20). */
  numRuns?: number;
  /** fast-check seed and path, to replay a reported failure. */
  seed?: number;
  path?: string;
  /** Also evict results of actor method calls (default false; see the module comment). */
  evictActorResults?: boolean;
  /** One run of `build` longer than this is a hang (default 30 s). */
  timeoutMs?: number;
  /** How results are compared (default: deep strict equality; errors by class name). */
  equals?: (undisturbed: Outcome, faulty: Outcome) => boolean;
  /** Print each schedule and what fired. */
  verbose?: boolean;
}

/** What a run of `build` gave: its value, or the class and message of what it threw. */
export type Outcome = { ok: true; value: unknown } | { ok: false; name: string; message: string };

export interface CheckReport {
  /** The undisturbed run's outcome. */
  baseline: Outcome;
  /** Tasks the undisturbed run finished (faults fire between 0 and this many). */
  tasks: number;
  /** Faulty runs made, and the faults that actually fired across them. */
  runs: number;
  faultsFired: number;
}

export class FaultCheckError extends Error {
  override name = "FaultCheckError";
}

/** The task id behind an event's `taskId` ("t" + hex, see engine/ids.ts formatTaskId). */
function parseTaskId(formatted: string): TaskId | undefined {
  const n = /^t([0-9a-f]+)$/.exec(formatted);
  return n ? (parseInt(n[1], 16) as TaskId) : undefined;
}

async function settle(p: Promise<unknown>, timeoutMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FaultCheckError(`build() did not settle within ${timeoutMs} ms (hang)`)), timeoutMs);
  });
  try {
    return { ok: true, value: await Promise.race([p, timeout]) };
  } catch (e) {
    const error = e as Error;
    return { ok: false, name: error?.name ?? typeof e, message: error?.message ?? String(e) };
  } finally {
    clearTimeout(timer);
  }
}

const defaultEquals = (a: Outcome, b: Outcome): boolean =>
  a.ok && b.ok ? isDeepStrictEqual(a.value, b.value) : !a.ok && !b.ok && a.name === b.name;

const show = (o: Outcome): string => {
  if (!o.ok) return `threw ${o.name}: ${o.message}`;
  try { return `returned ${JSON.stringify(o.value, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))?.slice(0, 500)}`; } catch { return "returned (unprintable)"; }
};

/** Runs `build` once with `schedule` firing as tasks finish; returns its outcome and what fired. */
async function runUnderFaults(
  rt: Runtime, build: (rt: Runtime) => Promise<unknown>, schedule: TimedFault[], tasks: number, options: CheckUnderFaultsOptions,
): Promise<{ outcome: Outcome; fired: string[] }> {
  const due = schedule.map((f) => ({ at: f.afterTasks % (tasks + 1), fault: f.fault })).sort((a, b) => a.at - b.at);
  const fired: string[] = [];
  const kills: Promise<unknown>[] = [];
  const finished: TaskId[] = [];
  const known = new Set(rt.graph().nodes.map((n) => n.id));
  let count = 0;

  const crashes: Promise<{ fired: number; taskIds: string[] }>[] = [];
  const fire = (fault: GraphFault): void => {
    if (fault.kind === "crashAt") {
      crashes.push(rt.faults.crashAt(fault.point));
      return;
    }
    if (fault.kind === "killWorker") {
      const index = fault.worker === "busy" ? undefined : fault.worker % rt.workerCount;
      kills.push(rt.faults.killWorker(index).then((w) => fired.push(`killWorker(${fault.worker}) -> worker ${w}`), () => {}));
      return;
    }
    const nodes = rt.graph().nodes.filter((n) => !known.has(n.id));
    if (fault.kind === "evict") {
      const kinds = new Map(nodes.map((n) => [n.id, n.kind]));
      const candidates = finished.filter((id) => {
        const kind = kinds.get(`t${id.toString(16)}`);
        return kind === "task" || (options.evictActorResults === true && kind === "actor-method");
      });
      if (!candidates.length) return;
      const task = candidates[fault.target % candidates.length];
      const done = rt.faults.evict(new ObjectRef(objectIdOf(task, 0)));
      fired.push(`evict(result of t${task.toString(16)}) -> ${done}`);
      return;
    }
    const actors = nodes.filter((n) => n.kind === "actor-create");
    if (!actors.length) return;
    const actor = actors[fault.target % actors.length];
    const actorId = parseTaskId(actor.id);
    if (actorId === undefined) return;
    // A handle needs only its descriptor to be named by faults.killActor.
    const handle = markActorHandle({ [ACTOR_BRAND]: { actorId, className: actor.name, methods: [] } });
    rt.faults.killActor(handle as never);
    fired.push(`killActor(${actor.name} ${actor.id})`);
  };
  const fireDue = (): void => {
    while (due.length && due[0].at <= count) fire(due.shift()!.fault);
  };
  const onFinished = (e: { taskId: string }): void => {
    const id = parseTaskId(e.taskId);
    if (id !== undefined) finished.push(id);
    count++;
    // After the event's own bookkeeping: a fault must not cut into the runtime's handling of this end.
    if (due.length && due[0].at <= count) setImmediate(fireDue);
  };
  rt.events.on("task:finished", onFinished);
  try {
    fireDue();
    const outcome = await settle(build(rt), options.timeoutMs ?? 30_000);
    return { outcome, fired };
  } finally {
    rt.events.off("task:finished", onFinished);
    await Promise.all(kills);
    if (crashes.length) {
      // A point no thread reached stays armed until here: clear it, so the next run starts clean.
      rt.faults.disarm();
      const report = (await Promise.all(crashes))[0]!;
      for (const taskId of report.taskIds) fired.push(`crashAt -> the thread running ${taskId} died`);
    }
  }
}

/**
 * Checks that `build` gives the same result under generated fault schedules as undisturbed. `build` builds
 * its graph on the runtime it is given and returns the values it wants compared (after `rt.get`). Throws
 * with fast-check's report (the smallest failing schedule, seed and path) when a faulty run differs.
 * @example
 * await checkUnderFaults(async (rt) => {
 *   const m = await rt.module<typeof import("./tasks.js")>(new URL("./tasks.ts", import.meta.url));
 *   return rt.get(m.sum.remote(m.square.remote(3), m.square.remote(4)));
 * }, { numRuns: 20, init: { workers: 2 } });
 */
export async function checkUnderFaults(build: (rt: Runtime) => Promise<unknown>, options: CheckUnderFaultsOptions = {}): Promise<CheckReport> {
  // checkImmutable on unless the caller says otherwise: a test is where a write into a stored object should show.
  const rt = options.runtime ?? (await init({ checkImmutable: true, ...(options.init ?? { workers: 2 }) }));
  const equals = options.equals ?? defaultEquals;
  try {
    let tasks = 0;
    const count = (): void => { tasks++; };
    rt.events.on("task:finished", count);
    let baseline: Outcome;
    try {
      baseline = await settle(build(rt), options.timeoutMs ?? 30_000);
    } finally {
      rt.events.off("task:finished", count);
    }
    if (!baseline.ok && baseline.name === "FaultCheckError") throw new FaultCheckError(`the undisturbed run did not finish: ${baseline.message}`);
    let runs = 0;
    let faultsFired = 0;
    await fc.assert(
      fc.asyncProperty(faultSchedule(options), async (schedule) => {
        const { outcome, fired } = await runUnderFaults(rt, build, schedule, tasks, options);
        runs++;
        faultsFired += fired.length;
        if (options.verbose) console.log(`[loom/testing] faults: ${fired.join(", ") || "(none fired)"}; ${show(outcome)}`);
        if (!equals(baseline, outcome)) {
          throw new FaultCheckError(
            `under faults the graph ${show(outcome)}; undisturbed it ${show(baseline)}\n` +
            `faults fired: ${fired.length ? fired.join(", ") : "(none)"}`,
          );
        }
      }),
      { numRuns: options.numRuns ?? 20, seed: options.seed, path: options.path, includeErrorInReport: true },
    );
    return { baseline, tasks, runs, faultsFired };
  } finally {
    if (!options.runtime) await rt.shutdown();
  }
}
