// The flagship's answer set: one KeyedStats per aggregate, and how two answer sets are compared.
// The serial run and the Loom run both produce a FlightAnswers; the test and main.ts diff them.
import { statsDiff, type KeyedStats } from "./keyed-stats.js";

/** The aggregates the flagship computes; each names an export of flight-tasks.ts. */
export const AGGREGATES = ["byHour", "byDistance", "byOrigin", "byRoute"] as const;
export type AggregateName = (typeof AGGREGATES)[number];
export type FlightAnswers = Record<AggregateName, KeyedStats>;

/** The first difference between two answer sets, or null when every count, sum and max is identical. */
export function answersDiff(a: FlightAnswers, b: FlightAnswers): string | null {
  for (const name of AGGREGATES) {
    const diff = statsDiff(a[name], b[name]);
    if (diff) return `${name}: ${diff}`;
  }
  return null;
}

/** Answers from a list in AGGREGATES order (as one `get` of the roots returns them). */
export function answersFromList(list: readonly KeyedStats[]): FlightAnswers {
  if (list.length !== AGGREGATES.length) throw new Error(`expected ${AGGREGATES.length} partials, got ${list.length}`);
  return Object.fromEntries(AGGREGATES.map((name, i) => [name, list[i]])) as FlightAnswers;
}
