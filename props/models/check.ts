// The engine property's body, shared by CI (engine.prop.ts), the pinned regressions and the soak: run a program
// under its faults on Loom and in the serial interpreter and compare every get; a mismatch, a hang or a driver
// call that threw is a PropertyFailure. Also LoomSession, the runtime reused across runs.
import { isDeepStrictEqual } from "node:util";
import type { Runtime } from "loom-dag";
import { resolve, describeSteps, shapesOf, type ProgramUnderFaults, type Step, type SlotInfo } from "../arbitraries/program.js";
import { interpret, ancestors, allowedUnderLoss, type Outcome, type ErrorName } from "./serial-interpreter.js";
import { runOnLoom, loadOps, StepThrew, type OpsModule, type Observed, type RunOptions, type EffectiveFaults } from "./loom-runner.js";

export type ProblemKind = "hang" | "wrong value" | "wrong error class" | "non-Loom error" | "wrong remote error";

/** One get that did not give what the reference allows. */
export interface Problem {
  kind: ProblemKind;
  slot: number;
  /** The step of the get, or -1 for the final gets. */
  step: number;
  expected: Outcome;
  alsoErrors: ErrorName[];
  observed: Observed;
}

export class PropertyFailure extends Error {
  override name = "PropertyFailure";
  constructor(
    message: string,
    /** The program's steps, as run. */
    readonly steps: Step[],
    readonly problems: Problem[],
    /** Set when a driver call threw (a submission or a fault) instead of answering through refs. */
    readonly threw?: { step: Step; error: { name: string; message: string } },
  ) {
    super(message);
  }
}

const show = (x: unknown): string => JSON.stringify(x) ?? String(x);
const showOutcome = (o: Outcome, also: ErrorName[]): string =>
  (o.ok ? `value ${show(o.value)}` : `error ${o.errors.join(" | ")}`) + (also.length ? ` (or error ${also.join(" | ")})` : "");
const showObserved = (o: Observed): string =>
  o.ok ? `value ${show(o.value)}` : `${o.hung ? "HANG: " : ""}error ${o.name}${o.remoteName ? ` (remote ${o.remoteName})` : ""}: ${o.message}`;

/** Why an observation does not fit what is allowed, or undefined when it does. */
function mismatch(observed: Observed, outcome: Outcome, also: ErrorName[]): ProblemKind | undefined {
  if (!observed.ok && observed.hung) return "hang";
  if (observed.ok) return outcome.ok && isDeepStrictEqual(observed.value, outcome.value) ? undefined : "wrong value";
  if (!observed.loomError) return "non-Loom error";
  const allowed: string[] = [...(outcome.ok ? [] : outcome.errors), ...also];
  // An error of a subclass is one of its class too (a NodeDiedError is a WorkerCrashedError).
  if (!allowed.includes(observed.name) && !(observed.classes ?? []).some((c) => allowed.includes(c))) return "wrong error class";
  // The model's only thrown errors are RangeErrors from throwIf/addOrThrow: a TaskError must carry that.
  if (observed.name === "TaskError" && observed.remoteName !== "RangeError") return "wrong remote error";
  return undefined;
}

/**
 * The slots whose value a retried viaTask leaves unknown: a retry runs the task from the start, so its call on
 * the actor may be made more than once (at least once, as in Ray: a task's side effects repeat with its
 * attempts). The viaTask's own result, every later call of that actor, and everything computed from them.
 */
function unknownAfterRetriedCalls(retried: number[], slots: SlotInfo[], anc: Set<number>[]): Set<number> {
  const seeds = new Set<number>();
  for (const r of retried) {
    seeds.add(r);
    const actor = slots[r].actor;
    slots.forEach((info, s) => { if (s > r && actor !== undefined && info.actor === actor) seeds.add(s); });
  }
  const unknown = new Set(seeds);
  if (seeds.size) anc.forEach((up, s) => { for (const x of up) if (seeds.has(x)) { unknown.add(s); break; } });
  return unknown;
}

/**
 * For a slot whose value is unknown: any value, or an error the reference allows or a thrown RangeError (a
 * value computed from an unknown one may make throwIf or addOrThrow throw); never a hang or a non-Loom error.
 */
function unknownMismatch(observed: Observed, outcome: Outcome, also: ErrorName[]): ProblemKind | undefined {
  if (observed.ok) return undefined;
  if (observed.hung) return "hang";
  if (observed.name === "TaskError") return observed.remoteName === "RangeError" ? undefined : "wrong remote error";
  return mismatch(observed, outcome, also);
}

/** Runs one program under its faults on `rt` and checks every get against the reference. */
/** What a run that passed did: the faults that took effect and the shapes its steps exercised. */
export interface RunSummary {
  effective: EffectiveFaults;
  shapes: string[];
}

export async function checkProgram(rt: Runtime, m: OpsModule, input: ProgramUnderFaults, options: RunOptions = {}): Promise<RunSummary> {
  const resolved = resolve(input);
  const reference = interpret(resolved);
  const anc = ancestors(resolved.slots);
  const programText = `program:\n  ${describeSteps(resolved.steps).replaceAll("\n", "\n  ")}\n`;
  let report;
  try {
    report = await runOnLoom(rt, m, resolved, options);
  } catch (e) {
    if (!(e instanceof StepThrew)) throw e;
    const error = e.error as Error;
    throw new PropertyFailure(
      `the driver threw instead of answering through refs: ${e.message}\n  (at: ${describeSteps([e.what])})\n${programText}`,
      resolved.steps, [], { step: e.what, error: { name: error?.name ?? "?", message: error?.message ?? String(error) } },
    );
  }
  const problems: Problem[] = [];
  const unknown = unknownAfterRetriedCalls(report.retriedViaTasks, resolved.slots, anc);
  for (const obs of report.observations) {
    const { outcome, alsoErrors } = allowedUnderLoss(obs.slot, reference[obs.slot], resolved.slots, anc, new Set(obs.lost));
    const kind = unknown.has(obs.slot) ? unknownMismatch(obs.observed, outcome, alsoErrors) : mismatch(obs.observed, outcome, alsoErrors);
    if (kind) {
      problems.push({
        kind, slot: obs.slot, step: obs.step === resolved.steps.length ? -1 : obs.step, expected: outcome, alsoErrors,
        observed: obs.observed,
      });
    }
  }
  if (report.violations.length) {
    throw new PropertyFailure(
      `${report.violations.length} promise(s) broken:\n  ${report.violations.join("\n  ")}\n${programText}` +
      (report.log.length ? `faults:\n  ${report.log.join("\n  ")}\n` : ""),
      resolved.steps, problems,
    );
  }
  if (problems.length) {
    const lines = problems.slice(0, 8).map((p) => {
      const where = p.step < 0 ? "final get" : `get at step ${p.step}`;
      const lost = report.observations.find((o) => o.slot === p.slot)?.lost ?? [];
      return `$${p.slot} (${where}): ${p.kind}: expected ${showOutcome(p.expected, p.alsoErrors)}, got ${showObserved(p.observed)}` +
        (lost.length ? ` [lost before: ${lost.map((s) => `$${s}`).join(", ")}]` : "");
    });
    throw new PropertyFailure(
      `${problems.length} result(s) differ from the serial interpreter:\n  ${lines.join("\n  ")}` +
      `${problems.length > 8 ? `\n  … and ${problems.length - 8} more` : ""}\n${programText}` +
      (report.log.length ? `faults:\n  ${report.log.join("\n  ")}\n` : ""),
      resolved.steps, problems,
    );
  }
  return { effective: report.effective, shapes: resolved.steps.flatMap(shapesOf) };
}

export interface SessionOptions extends RunOptions {
  /** The ops fixture to load (default: props/fixtures/ops.ts). */
  opsUrl?: URL;
  /** Called with the runtime after a failing run, before it is shut down (for engine diagnostics). */
  onFailure?: (rt: Runtime, error: unknown) => void | Promise<void>;
}

/**
 * One runtime reused across program runs (faults only kill and evict; the runtime replaces workers). After a
 * failing run it is shut down and the next run gets a fresh one, so that a broken runtime cannot make later
 * runs, or fast-check's shrinking, fail for reasons that are not theirs.
 */
export class LoomSession {
  private current?: { rt: Runtime; m: OpsModule };
  /** Program runs so far, and runtimes started. */
  runs = 0;
  /** Faults that took effect across the runs, and the runs in which at least one did. */
  readonly effectiveFaults: EffectiveFaults = { evictions: 0, workerKills: 0, actorKills: 0, crashes: 0 };
  runsWithEffectiveFaults = 0;
  /** Steps run so far, by shape (shapesOf). */
  readonly shapes = new Map<string, number>();
  runtimes = 0;
  /**
   * Each run on a fresh runtime (shut down after it). Set it once a run has failed, while fast-check shrinks:
   * a shrunk counterexample then fails on its own, not because of what earlier runs left in the runtime. When
   * even the original does not fail alone, fast-check reports it unshrunk, and its seed replays the history.
   */
  isolate = false;
  constructor(private readonly start: () => Promise<Runtime>, private readonly options: SessionOptions = {}) {}

  async runtime(): Promise<{ rt: Runtime; m: OpsModule }> {
    if (!this.current) {
      const rt = await this.start();
      this.runtimes++;
      this.current = { rt, m: await loadOps(rt, this.options.opsUrl) };
    }
    return this.current;
  }

  /** `run`: options for this run only, over the session's. */
  async check(input: ProgramUnderFaults, run: RunOptions = {}): Promise<void> {
    const { rt, m } = await this.runtime();
    this.runs++;
    try {
      const { effective, shapes } = await checkProgram(rt, m, input, { ...this.options, ...run });
      for (const shape of shapes) this.shapes.set(shape, (this.shapes.get(shape) ?? 0) + 1);
      for (const k of Object.keys(effective) as (keyof EffectiveFaults)[]) this.effectiveFaults[k] += effective[k];
      if (Object.values(effective).some((n) => n > 0)) this.runsWithEffectiveFaults++;
    } catch (error) {
      await this.options.onFailure?.(rt, error);
      await this.close();
      throw error;
    }
    if (this.isolate) await this.close();
  }

  async close(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    if (c) await c.rt.shutdown();
  }
}
