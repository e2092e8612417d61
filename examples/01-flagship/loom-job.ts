// Submits the flagship's task graph: one ingest task per part of the file, one aggregate task per ingested batch,
// and a tree reduce of the partials. Returns at once with the refs; waiting, faults and printing are the caller's.
import type { FileFormat } from "./flight-file.js";
import { treeReduce, type TreeReduction } from "./tree-reduce.js";

/** The part of a remote function this job calls. */
export interface RemoteCall<A extends unknown[], R> {
  remote(...args: A): R;
}

/** The wrappers `rt.module(flight-tasks.ts)` returns, as far as this job uses them. */
export interface FlightRemotes<BytesRef, BatchRef, StatsRef> {
  ingest: RemoteCall<[BytesRef, FileFormat, number, number, number], BatchRef>;
  aggregate: RemoteCall<[BatchRef], StatsRef>;
  merge: RemoteCall<[StatsRef, StatsRef], StatsRef>;
}

export interface SubmittedJob<BatchRef, StatsRef> {
  batches: BatchRef[];
  /** levels[0] are the per-batch partials, the root the whole file's. */
  reduction: TreeReduction<StatsRef>;
  root: StatsRef;
  /** How many tasks were submitted. */
  tasks: number;
}

/** The file (its bytes already put) in `parts` parts; `rowGroups`: a parquet file's, 0 for Arrow. */
export interface FilePlan<BytesRef> {
  bytes: BytesRef;
  format: FileFormat;
  parts: number;
  rowGroups: number;
}

export function submitFlightJob<BytesRef, BatchRef, StatsRef>(
  remotes: FlightRemotes<BytesRef, BatchRef, StatsRef>,
  plan: FilePlan<BytesRef>,
): SubmittedJob<BatchRef, StatsRef> {
  const batches = Array.from({ length: plan.parts }, (_, p) => remotes.ingest.remote(plan.bytes, plan.format, p, plan.parts, plan.rowGroups));
  const reduction = treeReduce(batches.map((b) => remotes.aggregate.remote(b)), remotes.merge);
  return { batches, reduction, root: reduction.root, tasks: 3 * plan.parts - 1 };
}
