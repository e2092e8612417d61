// A row of the task table (see task-manager.ts), and the sentinels the driver's tables share.
import type { ObjectId, TaskId, ActorId } from "../ids.js";
import type { ResolvedTaskOptions } from "../options.js";
import type { GraphNodeHandle } from "../graph/graph-recorder.js";

export type TaskKind = "task" | "actor-create" | "actor-method" | "put";

export const NO_SLOT = -1;
/** A slot's payload: [header bytes u32][pad], the JSON header, then the encoded argument list (8-aligned). */
export const PAYLOAD_PREFIX = 8;
/** A shared empty list for fields that are usually empty (saves an allocation per task); frozen, so a push throws. */
export const NONE: never[] = Object.freeze([]) as unknown as never[];

export interface TaskEntry {
  id: TaskId;
  /**
   * Lineage liveness: live return objects plus retained tasks that consume its returns. The entry (its spec,
   * which a rebuild re-executes) is kept while this is above zero.
   */
  lineageRefs: number;
  /** Producers of its arguments, whose lineage it keeps alive. */
  lineageParents: TaskId[];
  /** Held while this entry's lineage is kept: put() arguments (they cannot be rebuilt) and the results of the
   *  children it submitted from its worker (a re-execution reuses them). */
  heldPuts: ObjectId[];
  /** Objects this task put from its worker: held until it ends. */
  ownedPuts: ObjectId[];
  parentId: TaskId;
  kind: TaskKind;
  fnId: number;
  name: string;
  /** Encoded argument list: kept as lineage while the task's results may be needed. */
  payload: Uint8Array;
  deps: ObjectId[];
  nestedRefs: ObjectId[];
  options: ResolvedTaskOptions;
  slot: number;
  state: "pending" | "running" | "finished" | "failed" | "cancelled";
  /** Retries spent (a rebuild starts a fresh budget). */
  attempts: number;
  /**
   * Which run this is: its children's ids derive from it. A retry is a new run (runs counts those handed out);
   * a rebuild repeats the run that finished, so a finished child is found and reused, not run again.
   */
  run: number;
  runs: number;
  actorId?: ActorId;
  method?: string;
  /** The key of the SharedArrayBuffers its arguments share with it (see encodeArgs). */
  sharedKey?: number;
  /** The timeout watch of its current attempt (see TaskTimeouts); a newer one replaces it. */
  watch?: object;
  /** Its attempt overstayed timeoutMs and will be retried when it ends (retryExceptions). */
  timedOut?: boolean;
  /** Resources held while it runs through admission. */
  admitted: boolean;
  /** Called once when this run settles (see finishTask): rebuilds of yields lost while it ran. */
  afterRun?: Array<() => void>;
  /** Yields of this streaming generator that its current run is to make again (a rebuild); see finishTask. */
  reopenedYields?: Set<ObjectId>;
  /** The error the driver sealed into its returns last (sealError): the cause a rebuild's yields report. */
  failure?: Error;
  /** Its node in the task graph (see GraphRecorder). */
  node?: GraphNodeHandle;
  replay?: boolean;
  seq?: number;
}
