// What the dashboard remembers about tasks, fed only by rt.events: cumulative counts per function, the
// most recently touched tasks, throughput per second and recent errors. Bounded whatever the job's size;
// it never reads the runtime's task table (running tasks come from a poll of rt.inspect(), merged in here).
import type { EventEmitter } from "eventemitter3";
import type { RuntimeInspection } from "../runtime/runtime.js";

export type TaskState = "pending" | "running" | "finished" | "failed" | "cancelled";

/** A row of `/api/tasks`' `recent`, as SPEC.md names it. Times are ms since 1970. */
export interface TaskRow {
  taskId: string;
  functionName: string;
  state: TaskState;
  nodeId: string;
  workerId: number | null;
  submittedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
}

export interface ErrorRow {
  taskId: string;
  functionName: string;
  workerId: number | null;
  at: number;
  name: string;
  message: string;
  /** The remote stack when the task threw, else the error's own. */
  stack: string;
}

export interface ThroughputBucket { at: number; finished: number; failed: number }

interface Counts { submitted: number; finished: number; failed: number; cancelled: number }
/** A row and the tick it last changed in (rows are kept in the order they changed: the Map's order). */
interface Tracked { row: TaskRow; version: number }

export const RECENT_LIMIT = 500;
export const ERROR_LIMIT = 50;
export const BUCKET_MS = 1000;
export const BUCKETS = 600;
/** Submissions between two looks at the rate (a power of two). */
const SAMPLE_EVERY = 1024;
/** Tasks per second up to which every task gets a row. */
const RATE_FOR_ALL = 2000;
const MAX_SAMPLE_MASK = 1023;

interface TaskEvent { taskId: string; name: string; worker?: number; time?: number }

export class TaskTracker {
  private readonly byFunction = new Map<string, Counts>();
  private readonly recent = new Map<string, Tracked>();
  private readonly errorRows: ErrorRow[] = [];
  /** Errors ever recorded; errorRows holds the last ERROR_LIMIT of them. */
  private errorCount = 0;
  private readonly bucketAt = new Float64Array(BUCKETS).fill(-1);
  private readonly bucketFinished = new Uint32Array(BUCKETS);
  private readonly bucketFailed = new Uint32Array(BUCKETS);
  /** Bumped by takeChanges(): rows touched after it are the delta of the next tick. */
  private version = 1;
  private countsChanged = false;
  private running: RuntimeInspection["running"] = [];
  private readonly listeners: Array<[string, (e: TaskEvent) => void]>;

  /**
   * @param epoch ms since 1970 that the events' `time` fields count from
   * @param readError called once per failed task; resolves with its error (or undefined when it is gone)
   */
  constructor(
    private readonly events: EventEmitter,
    private readonly nodeId: string,
    private readonly epoch: number,
    private readonly readError: (taskId: string) => Promise<Error | undefined>,
    /** The clock that paces row sampling (tests step it). */
    private readonly now: () => number = Date.now,
  ) {
    this.listeners = [
      ["task:submitted", (e) => this.onSubmitted(e)],
      ["task:started", this.startedListener],
      ["task:finished", (e) => this.onEnded(e, "finished")],
      ["task:failed", (e) => this.onEnded(e, "failed")],
      // A cancelled task never runs to an end of its own: without this it would count as pending for good.
      ["task:cancelled", (e) => this.onCancelled(e)],
      ["task:retried", (e) => this.onRetried(e)],
    ];
    for (const [name, fn] of this.listeners) events.on(name, fn);
  }

  detach(): void {
    for (const [name, fn] of this.listeners) this.events.off(name, fn);
  }

  private countsOf(name: string): Counts {
    this.countsChanged = true;
    if (name === this.lastName) return this.lastCounts!;
    let c = this.byFunction.get(name);
    if (!c) this.byFunction.set(name, c = { submitted: 0, finished: 0, failed: 0, cancelled: 0 });
    this.lastName = name;
    this.lastCounts = c;
    return c;
  }
  /** The last function counted, and its counts: a job mostly submits runs of one function. */
  private lastName = "";
  private lastCounts: Counts | undefined;

  /** The row of a task, moved to the newest end (created if it was never seen or already evicted). */
  private touch(taskId: string, name: string): TaskRow {
    let t = this.recent.get(taskId);
    if (t) this.recent.delete(taskId);
    else {
      t = { row: { taskId, functionName: name, state: "pending", nodeId: this.nodeId, workerId: null, submittedAt: null, startedAt: null, finishedAt: null, error: null }, version: 0 };
      if (this.recent.size >= RECENT_LIMIT) this.recent.delete(this.recent.keys().next().value!);
    }
    t.version = this.version;
    this.recent.set(taskId, t);
    return t.row;
  }

  /**
   * Rows for one submission in sampleMask + 1: at thousands of tasks a second a row per task costs the driver
   * more than the counts, and nobody reads that many. Every SAMPLE_EVERY submissions the mask follows the
   * rate (a row per task below about RATE_FOR_ALL a second). Failed tasks always get a row.
   */
  private onSubmitted(e: TaskEvent): void {
    this.countsOf(e.name).submitted++;
    if ((++this.submissions & (SAMPLE_EVERY - 1)) === 0) this.adaptSampling();
    if ((this.submissions & this.sampleMask) === 0) this.touch(e.taskId, e.name).submittedAt = Date.now();
  }
  private submissions = 0;
  private sampleMask = 0;
  /** One submission in this many gets a row now. */
  get rowSampling(): number {
    return this.sampleMask + 1;
  }
  private sampledSince = 0;
  private adaptSampling(): void {
    const now = this.now();
    const perSecond = SAMPLE_EVERY * 1000 / Math.max(1, now - this.sampledSince);
    this.sampledSince = now;
    let mask = 0;
    while ((perSecond / (mask + 1)) > RATE_FOR_ALL && mask < MAX_SAMPLE_MASK) mask = mask * 2 + 1;
    this.sampleMask = mask;
    // Starts are wanted only while every task has a row: at this rate a task lasts too little to show on a
    // timeline, and not listening spares the driver a payload per task (it builds none for an event nobody hears).
    const wantStarts = mask === 0;
    if (wantStarts !== this.hearingStarts) {
      this.hearingStarts = wantStarts;
      if (wantStarts) this.events.on("task:started", this.startedListener);
      else this.events.off("task:started", this.startedListener);
    }
  }
  private hearingStarts = true;
  private readonly startedListener = (e: TaskEvent): void => this.onStarted(e);

  /** A task's start comes right before its end (the driver learns both at once): kept until then, no row made. */
  private onStarted(e: TaskEvent): void {
    this.startedId = e.taskId;
    this.startedAt = e.time;
  }
  private startedId = "";
  private startedAt: number | undefined;

  private onRetried(e: TaskEvent): void {
    if (!this.recent.has(e.taskId)) return;
    const row = this.touch(e.taskId, e.name);
    row.state = "pending";
    row.startedAt = null;
  }

  private onEnded(e: TaskEvent, state: "finished" | "failed"): void {
    const c = this.countsOf(e.name);
    if (state === "finished") c.finished++; else c.failed++;
    const at = e.time !== undefined ? this.epoch + e.time : Date.now();
    const b = Math.floor(at / BUCKET_MS);
    const i = b % BUCKETS;
    if (this.bucketAt[i] !== b) { this.bucketAt[i] = b; this.bucketFinished[i] = 0; this.bucketFailed[i] = 0; }
    if (state === "finished") this.bucketFinished[i]!++; else this.bucketFailed[i]!++;
    if (state === "finished" && this.sampleMask !== 0 && !this.recent.has(e.taskId)) return;
    const row = this.touch(e.taskId, e.name);
    row.state = state;
    if (e.worker !== undefined && e.worker >= 0) row.workerId = e.worker;
    if (this.startedId === e.taskId && this.startedAt !== undefined && row.startedAt === null) row.startedAt = this.epoch + this.startedAt;
    row.finishedAt = at;
    if (state === "failed") this.recordError(row);
  }

  /**
   * A task cancelled by rt.cancel: counted apart from failures (nobody's error to show, and the throughput's
   * failed line stays what went wrong), its row (if it has one, or if it was running) marked cancelled.
   */
  private onCancelled(e: TaskEvent): void {
    this.countsOf(e.name).cancelled++;
    this.running = this.running.filter((r) => r.taskId !== e.taskId);
    if (!this.recent.has(e.taskId)) return;
    const row = this.touch(e.taskId, e.name);
    row.state = "cancelled";
    if (e.worker !== undefined && e.worker >= 0) row.workerId = e.worker;
    row.finishedAt = e.time !== undefined ? this.epoch + e.time : Date.now();
  }

  private recordError(row: TaskRow): void {
    this.readError(row.taskId).then((error) => {
      const remote = error as (Error & { remoteStack?: string; remoteName?: string }) | undefined;
      const name = remote?.name ?? "Error";
      const message = remote?.message ?? "the error was freed before the dashboard could read it";
      row.error = `${name}: ${message}`;
      const t = this.recent.get(row.taskId);
      if (t) t.version = this.version;
      this.errorRows.push({
        taskId: row.taskId, functionName: row.functionName, workerId: row.workerId, at: row.finishedAt ?? Date.now(),
        name, message, stack: remote?.remoteStack || remote?.stack || "",
      });
      this.errorCount++;
      if (this.errorRows.length > ERROR_LIMIT) this.errorRows.shift();
    }, () => undefined);
  }

  /** Takes the running tasks of a poll of rt.inspect(): they show as running until an event says otherwise. */
  setRunning(inspection: RuntimeInspection): void {
    const before = this.running;
    this.running = inspection.running;
    if (before.length !== this.running.length || before.some((r, i) => r.taskId !== this.running[i]!.taskId)) this.countsChanged = true;
    for (const r of this.running) {
      const t = this.recent.get(r.taskId);
      if (t && t.row.state !== "pending") continue; // ended (or already seen running) by events
      const row = this.touch(r.taskId, r.name);
      row.state = "running";
      row.workerId = r.worker;
      if (r.started > 0) row.startedAt = inspection.epoch + r.started;
    }
  }

  /** `{ [functionName]: { pending, running, finished, failed, cancelled } }`; running as of the last setRunning. */
  counts(): Record<string, Record<TaskState, number>> {
    const running = new Map<string, number>();
    for (const r of this.running) running.set(r.name, (running.get(r.name) ?? 0) + 1);
    const out: Record<string, Record<TaskState, number>> = {};
    for (const [name, c] of this.byFunction) {
      const run = running.get(name) ?? 0;
      // An actor's constructor ends once per restart but is submitted once: never count below zero.
      const pending = Math.max(0, c.submitted - c.finished - c.failed - c.cancelled - run);
      out[name] = { pending, running: run, finished: c.finished, failed: c.failed, cancelled: c.cancelled };
    }
    return out;
  }

  /** The tracked tasks, newest change first. */
  recentRows(): TaskRow[] {
    return [...this.recent.values()].reverse().map((t) => ({ ...t.row }));
  }

  errors(): ErrorRow[] {
    return this.errorRows.slice();
  }

  /** Finished and failed tasks per second, oldest first, over the last `seconds` up to now. */
  throughput(seconds = 120, now = Date.now()): ThroughputBucket[] {
    const last = Math.floor(now / BUCKET_MS);
    const out: ThroughputBucket[] = [];
    for (let b = last - Math.min(seconds, BUCKETS) + 1; b <= last; b++) {
      const i = b % BUCKETS;
      const live = this.bucketAt[i] === b;
      out.push({ at: b * BUCKET_MS, finished: live ? this.bucketFinished[i]! : 0, failed: live ? this.bucketFailed[i]! : 0 });
    }
    return out;
  }

  /**
   * What changed since the last call, for the page's deltas: the counts (whole: they are small) when any
   * changed, the rows touched since (the Map's tail, newest last), and the errors recorded since.
   */
  takeChanges(errorsSeen: number): { counts?: Record<string, Record<TaskState, number>>; rows: TaskRow[]; errors: ErrorRow[]; errorCount: number } {
    const rows: TaskRow[] = [];
    const entries = [...this.recent.values()];
    for (let i = entries.length - 1; i >= 0 && entries[i]!.version >= this.version; i--) rows.push({ ...entries[i]!.row });
    rows.reverse();
    this.version++;
    const counts = this.countsChanged ? this.counts() : undefined;
    this.countsChanged = false;
    const fresh = Math.min(this.errorCount - errorsSeen, this.errorRows.length);
    return { counts, rows, errors: fresh > 0 ? this.errorRows.slice(-fresh) : [], errorCount: this.errorCount };
  }

  get errorsRecorded(): number {
    return this.errorCount;
  }
}
