// Submits the flagship's task graph: every aggregate over every batch, then one tree reduce per
// aggregate. Returns at once with the refs; waiting, faults and printing are the caller's business.
import { AGGREGATES, type AggregateName } from "./answers.js";
import { treeReduce, type TreeReduction } from "./tree-reduce.js";

/** The part of a remote function this job calls. */
export interface RemoteCall<A extends unknown[], R> {
  remote(...args: A): R;
}

/** The wrappers `rt.module(flight-tasks.ts)` returns, as far as this job uses them. */
export type FlightRemotes<BatchRef, StatsRef> = Record<AggregateName, RemoteCall<[BatchRef], StatsRef>> & {
  merge: RemoteCall<[StatsRef, StatsRef], StatsRef>;
};

export interface SubmittedJob<StatsRef> {
  /** Per aggregate: levels[0] are the per-batch partials, the root the answer. */
  reductions: Record<AggregateName, TreeReduction<StatsRef>>;
  /** The roots in AGGREGATES order, for one `get`. */
  roots: StatsRef[];
  /** How many tasks were submitted (map tasks + merge tasks). */
  tasks: number;
}

/**
 * 1. Submit the map tasks batch by batch (all aggregates of batch 0, then of batch 1, ...), so
 *    early batches finish early whatever the scheduler's order among ready tasks.
 * 2. Submit a tree of pairwise merges per aggregate; each merge starts once its two inputs exist.
 */
export function submitFlightJob<BatchRef, StatsRef>(
  remotes: FlightRemotes<BatchRef, StatsRef>,
  batches: readonly BatchRef[],
): SubmittedJob<StatsRef> {
  const partials = Object.fromEntries(AGGREGATES.map((name) => [name, [] as StatsRef[]])) as Record<AggregateName, StatsRef[]>;
  for (const batch of batches) {
    for (const name of AGGREGATES) partials[name].push(remotes[name].remote(batch));
  }
  const reductions = {} as Record<AggregateName, TreeReduction<StatsRef>>;
  for (const name of AGGREGATES) reductions[name] = treeReduce(partials[name], remotes.merge);
  return {
    reductions,
    roots: AGGREGATES.map((name) => reductions[name].root),
    tasks: AGGREGATES.length * (2 * batches.length - 1),
  };
}
