// A row of the task table (see task-manager.ts), and the sentinels the driver's tables share.
import { DRIVER_TASK_ID, type ObjectId, type TaskId, type ActorId } from "../ids.js";
import type { ResolvedTaskOptions } from "../options.js";
import type { GraphNodeHandle } from "../graph/graph-recorder.js";

export type TaskKind = "task" | "actor-create" | "actor-method" | "put";

export const NO_SLOT = -1;
/** A slot's payload: [header bytes u32][pad], the JSON header, then the encoded argument list (8-aligned). */
export const PAYLOAD_PREFIX = 8;
/** A shared empty list for fields that are usually empty (saves an allocation per task); frozen, so a push throws. */
export const NONE: never[] = Object.freeze([]) as unknown as never[];

/**
 * The fields of a task that keep their first value for nearly every task. They live apart, made on the first
 * write that changes one (see TaskEntry.own): a retained 20-field entry per task cost about three times the
 * scavenging of a 12-field one, and a burst of trivial tasks keeps every entry until its result is read.
 */
class TaskRareFields {
  parentId: TaskId = DRIVER_TASK_ID;
  nestedRefs: ObjectId[] = NONE;
  attempts = 0;
  run = 0;
  runs = 1;
  admitted = false;
  lineageParents: TaskId[] = NONE;
  heldPuts: ObjectId[] = NONE;
  ownedPuts: ObjectId[] = NONE;
}

/** Every entry reads these until it writes one of its own; never written (the setters copy first). */
const RARE_DEFAULTS = new TaskRareFields();

export class TaskEntry {
  /**
   * Lineage liveness: live return objects plus retained tasks that consume its returns. The entry (its spec,
   * which a rebuild re-executes) is kept while this is above zero.
   */
  lineageRefs = 0;
  slot = NO_SLOT;
  state: "pending" | "running" | "finished" | "failed" | "cancelled" = "pending";
  /** Its node in the task graph (see GraphRecorder). */
  node: GraphNodeHandle | undefined = undefined;
  private rare = RARE_DEFAULTS;

  constructor(
    readonly id: TaskId,
    readonly kind: TaskKind,
    public fnId: number,
    public name: string,
    /** Encoded argument list: kept as lineage while the task's results may be needed. */
    public payload: Uint8Array,
    public deps: ObjectId[],
    public options: ResolvedTaskOptions,
  ) {}

  /** A copy with fields of its own (an actor's replica replays copies of its log); what is set on it stays on it. */
  clone(): TaskEntry {
    const copy = new TaskEntry(this.id, this.kind, this.fnId, this.name, this.payload, this.deps, this.options);
    Object.assign(copy, this); // every field of this entry's own, the optional ones set on it included
    if (this.rare !== RARE_DEFAULTS) copy.rare = Object.assign(new TaskRareFields(), this.rare);
    return copy;
  }

  /** This entry's own rare fields, made on the first write that differs from the defaults. */
  private own(): TaskRareFields {
    if (this.rare === RARE_DEFAULTS) this.rare = new TaskRareFields();
    return this.rare;
  }

  get parentId(): TaskId { return this.rare.parentId; }
  set parentId(v: TaskId) { if (v !== this.rare.parentId) this.own().parentId = v; }
  get nestedRefs(): ObjectId[] { return this.rare.nestedRefs; }
  set nestedRefs(v: ObjectId[]) { if (v !== this.rare.nestedRefs) this.own().nestedRefs = v; }
  /** Retries spent (a rebuild starts a fresh budget). */
  get attempts(): number { return this.rare.attempts; }
  set attempts(v: number) { if (v !== this.rare.attempts) this.own().attempts = v; }
  /**
   * Which run this is: its children's ids derive from it. A retry is a new run (runs counts those handed out);
   * a rebuild repeats the run that finished, so a finished child is found and reused, not run again.
   */
  get run(): number { return this.rare.run; }
  set run(v: number) { if (v !== this.rare.run) this.own().run = v; }
  get runs(): number { return this.rare.runs; }
  set runs(v: number) { if (v !== this.rare.runs) this.own().runs = v; }
  /** Resources held while it runs through admission. */
  get admitted(): boolean { return this.rare.admitted; }
  set admitted(v: boolean) { if (v !== this.rare.admitted) this.own().admitted = v; }
  /** Producers of its arguments, whose lineage it keeps alive. */
  get lineageParents(): TaskId[] { return this.rare.lineageParents; }
  set lineageParents(v: TaskId[]) { if (v !== this.rare.lineageParents) this.own().lineageParents = v; }
  /** Held while this entry's lineage is kept: put() arguments (they cannot be rebuilt) and the results of the
   *  children it submitted from its worker (a re-execution reuses them). */
  get heldPuts(): ObjectId[] { return this.rare.heldPuts; }
  set heldPuts(v: ObjectId[]) { if (v !== this.rare.heldPuts) this.own().heldPuts = v; }
  /** Objects this task put from its worker: held until it ends. */
  get ownedPuts(): ObjectId[] { return this.rare.ownedPuts; }
  set ownedPuts(v: ObjectId[]) { if (v !== this.rare.ownedPuts) this.own().ownedPuts = v; }

  // Set on few tasks: added to the entry when set (declared only, so an entry that never has them has no slot).
  declare actorId?: ActorId;
  declare method?: string;
  /** The key of the SharedArrayBuffers its arguments share with it (see encodeArgs). */
  declare sharedKey?: number;
  /** The timeout watch of its current attempt (see TaskTimeouts); a newer one replaces it. */
  declare watch?: object;
  /** Its attempt overstayed timeoutMs and will be retried when it ends (retryExceptions). */
  declare timedOut?: boolean;
  /** The run that lent its admitted resources while a lost argument was rebuilt (see TaskDispatcher.lend). */
  declare lentRun?: number;
  /** Called once when this run settles (see finishTask): rebuilds of yields lost while it ran. */
  declare afterRun?: Array<() => void>;
  /** Yields of this streaming generator that its current run is to make again (a rebuild); see finishTask. */
  declare reopenedYields?: Set<ObjectId>;
  /** The error the driver sealed into its returns last (sealError): the cause a rebuild's yields report. */
  declare failure?: Error;
  declare replay?: boolean;
  declare seq?: number;
}
