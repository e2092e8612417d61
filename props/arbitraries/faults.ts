// Fault schedules for the engine property: evictions, worker kills, actor kills and pauses placed between a
// program's steps. Targets are picked by index modulo the live set then (resolved in program.ts), so every
// fault applies and shrinks toward the first target. Owns the fault data; not when faults are survivable.
import fc from "fast-check";

// Survivability, so that a correct engine gives the reference results under any schedule:
// - worker kills are at most MAX_WORKER_KILLS per program, which is the default `maxRetries` (3) of tasks:
//   one kill ends at most one attempt of a task, so no task runs out of retries (rebuilds start at 0 again);
// - actors are created with `maxRestarts: -1, maxTaskRetries: -1` (loom-runner.ts), so kills of their
//   thread or of the actor itself are always survivable and an in-flight call is retried after the replay;
// - evictions: a task-made object must come back from lineage with the same value. A `put` cannot be
//   rebuilt, so a get of an evicted put must reject with ObjectLostError, and anything whose lineage needs
//   it may reject with ObjectLostError or ReconstructionError instead of its value (the model allows both
//   for dependents; SPEC says dependents reject "with the same error class as the failure" and that an
//   impossible rebuild is a ReconstructionError, and the rebuild of a dependent is both).
//   Actor-made objects are rebuilt by replaying the actor's chain (SPEC), so they too must come back with
//   the reference value.
//   Objects that cannot be rebuilt (puts, actor-made) are never evicted when they feed an actor, directly
//   or through other objects: an actor replay that re-reads a lost argument would silently diverge from
//   the reference, which no model of "same results" could describe (see program.ts, `evictable`).

/** One fault, its target picked when the schedule is resolved against the program. */
export type Fault =
  /** Drop the `target`-th evictable object (mod the evictable set then) from the store. */
  | { fault: "evict"; target: number }
  /** Kill worker `worker` (mod the worker count), or the busy one, mid-flight. */
  | { fault: "killWorker"; worker: number | "busy" }
  /** Crash the `actor`-th live actor (mod the actors made so far); it restarts and replays. */
  | { fault: "killActor"; actor: number }
  /** Let in-flight work land for a few milliseconds, so later faults hit stored objects. */
  | { fault: "pause"; ms: number }
  /** Arm a crash point: the next thread to reach it dies there (counted as a worker kill: it may fire). */
  | { fault: "crashAt"; point: CrashPointName };

/** The crash points of the worker protocol (SPEC: rt.faults.crashAt). */
export const CRASH_POINTS = ["taken", "running", "sealing", "sealed", "putting", "checkpointing"] as const;
export type CrashPointName = (typeof CRASH_POINTS)[number];

/** A fault and where it goes: before program step `at` (mod the program's length + 1; = length: at the end, before the final gets). */
export interface ScheduledFault {
  at: number;
  fault: Fault;
}

/** Worker kills per program: the default task maxRetries, so a correct engine never runs out of retries. */
export const MAX_WORKER_KILLS = 3;

export interface FaultArbitraryOptions {
  /** Most faults other than worker kills (default 6). */
  maxFaults?: number;
  /** Most worker kills (default MAX_WORKER_KILLS). */
  maxWorkerKills?: number;
  /** Most steps a fault can be placed before (default 16; positions are taken modulo the program's length + 1). */
  maxAt?: number;
}

export function evictFault(): fc.Arbitrary<Fault> {
  return fc.nat({ max: 63 }).map((target) => ({ fault: "evict" as const, target }));
}
export function killWorkerFault(): fc.Arbitrary<Fault> {
  return fc.oneof(fc.nat({ max: 7 }), fc.constant("busy" as const)).map((worker) => ({ fault: "killWorker" as const, worker }));
}
export function killActorFault(): fc.Arbitrary<Fault> {
  return fc.nat({ max: 7 }).map((actor) => ({ fault: "killActor" as const, actor }));
}
export function crashAtFault(): fc.Arbitrary<Fault> {
  return fc.constantFrom(...CRASH_POINTS).map((point) => ({ fault: "crashAt" as const, point }));
}
export function pauseFault(): fc.Arbitrary<Fault> {
  return fc.integer({ min: 0, max: 8 }).map((ms) => ({ fault: "pause" as const, ms }));
}

/** A fault schedule: evictions, actor kills and pauses, plus a bounded number of worker kills. */
export function faultSchedule(options: FaultArbitraryOptions = {}): fc.Arbitrary<ScheduledFault[]> {
  const maxAt = options.maxAt ?? 16;
  const at = fc.nat({ max: maxAt });
  const other = fc.record({
    at,
    fault: fc.oneof(
      { arbitrary: evictFault(), weight: 5 },
      { arbitrary: killActorFault(), weight: 2 },
      { arbitrary: pauseFault(), weight: 2 },
    ),
  });
  // A crash point kills a worker when it fires: it shares the worker-kill budget.
  const kill = fc.record({ at, fault: fc.oneof(killWorkerFault(), crashAtFault()) });
  const maxKills = options.maxWorkerKills ?? MAX_WORKER_KILLS;
  // A worker kill costs a thread start (0.5-1 s when the cold replacement grabs a task): most schedules have
  // none or one, a tenth up to maxKills.
  const none: fc.Arbitrary<ScheduledFault[]> = fc.constant([]);
  const kills = maxKills <= 0 ? none : fc.oneof(
    { arbitrary: none, weight: 6 },
    { arbitrary: fc.array(kill, { minLength: 1, maxLength: Math.min(1, maxKills) }), weight: 3 },
    { arbitrary: fc.array(kill, { minLength: 1, maxLength: maxKills }), weight: 1 },
  );
  return fc
    .tuple(fc.array(other, { maxLength: options.maxFaults ?? 6 }), kills)
    .map(([a, b]) => [...a, ...b].sort((x, y) => x.at - y.at));
}

export function describeFault(f: Fault): string {
  switch (f.fault) {
    case "evict": return `evict(#${f.target})`;
    case "killWorker": return `killWorker(${f.worker})`;
    case "killActor": return `killActor(#${f.actor})`;
    case "pause": return `pause(${f.ms}ms)`;
    case "crashAt": return `crashAt(${f.point})`;
  }
}
