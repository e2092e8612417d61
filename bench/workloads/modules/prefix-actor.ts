// Loom module for the stateful prefix workload: one exported class, used as an actor class.

import { countDocument, emptyState, type PrefixState } from "./prefix-kernel.js";

export class PrefixCounter {
  private readonly state: PrefixState = emptyState();

  /** Adds one document; returns how many distinct prefixes this actor has seen. */
  addDocument(doc: string[]): number {
    countDocument(this.state, doc);
    return this.state.counts.size;
  }

  /** This actor's popular prefixes. */
  popular(): string[] {
    return [...this.state.popular];
  }
}

/** Holds a worker for `ms` so that a batch of these reaches every worker (each loads this module). */
export async function warm(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 1;
}
