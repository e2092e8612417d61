// piscina worker module for the stateful prefix workload, in the two shapes a pool allows:
// `passState` (multiprocessing style: the whole state travels in and out with every call) and
// `addPinned`/`popularPinned` (module-level state; correct only with one single-thread pool per actor).

import { countDocument, emptyState, type PrefixState } from "./prefix-kernel.js";

export interface PassStateTask {
  state: PrefixState;
  doc: string[];
}

/** State in, state out: structured clone copies both Maps twice per call. */
export function passState(task: PassStateTask): PrefixState {
  countDocument(task.state, task.doc);
  return task.state;
}

let pinned: PrefixState = emptyState();

export function resetPinned(): boolean {
  pinned = emptyState();
  return true;
}

export function addPinned(doc: string[]): number {
  countDocument(pinned, doc);
  return pinned.counts.size;
}

export function popularPinned(): string[] {
  return [...pinned.popular];
}
