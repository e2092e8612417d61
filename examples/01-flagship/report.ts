// Turns the flagship's answers into the text main.ts prints: one small table per aggregate.
// Formatting only; the numbers come from KeyedStats rows.
import type { FlightAnswers } from "./answers.js";
import { DELAY_BIN_LABELS, rows, type KeyRow } from "./keyed-stats.js";
import { distanceBandLabel, hourLabel, routeLabel } from "./flight-keys.js";

export interface ReportOptions {
  /** Airport names by code; without them the origin and route tables are skipped. */
  airports?: readonly string[];
  /** Rows in the "worst" tables; default 8. */
  top?: number;
}

/** The whole report, ready to print. */
export function formatReport(answers: FlightAnswers, options: ReportOptions = {}): string {
  const top = options.top ?? 8;
  const out: string[] = [];
  const flights = rows(answers.byHour).reduce((s, r) => s + r.flights, 0);
  out.push(section("Arrival delay by scheduled departure hour", rows(answers.byHour), (k) => hourLabel(k)));
  out.push(section("Arrival delay by distance", rows(answers.byDistance), distanceBandLabel));
  const airports = options.airports;
  if (airports && airports.length > 0) {
    // Small airports and routes have noisy means; require a share of all flights before ranking.
    const minOrigin = Math.max(100, Math.round(flights * 0.002));
    const minRoute = Math.max(50, Math.round(flights * 0.0002));
    const origins = worst(rows(answers.byOrigin), minOrigin, top);
    out.push(section(`Worst origin airports (>= ${minOrigin.toLocaleString("en-US")} flights)`, origins, (k) => airports[k]));
    const routes = worst(rows(answers.byRoute), minRoute, top);
    out.push(section(`Worst routes (>= ${minRoute.toLocaleString("en-US")} flights)`, routes, (k) => routeLabel(k, airports)));
  }
  out.push(`Delay bins: ${DELAY_BIN_LABELS.join(", ")} minutes; "late" means 15 minutes or more.`);
  return out.join("\n\n");
}

/** Highest mean delay first, among keys with at least `minFlights`. */
export function worst(all: KeyRow[], minFlights: number, top: number): KeyRow[] {
  return all
    .filter((r) => r.flights >= minFlights)
    .sort((a, b) => b.meanDelay - a.meanDelay || a.key - b.key)
    .slice(0, top);
}

function section(title: string, list: KeyRow[], label: (key: number) => string): string {
  const labels = list.map((r) => label(r.key));
  const width = Math.max(8, ...labels.map((l) => l.length));
  const maxMean = Math.max(1, ...list.map((r) => Math.abs(r.meanDelay)));
  const head = `${"".padEnd(width)}  ${"flights".padStart(9)}  ${"mean".padStart(6)}  ${"late".padStart(5)}  ${"max".padStart(5)}`;
  const lines = list.map((r, i) => {
    const bar = "█".repeat(Math.round((Math.max(0, r.meanDelay) / maxMean) * 24));
    return (
      `${labels[i].padEnd(width)}  ${fmtInt(r.flights).padStart(9)}  ${r.meanDelay.toFixed(1).padStart(6)}` +
      `  ${(r.lateShare * 100).toFixed(0).padStart(4)}%  ${String(r.maxDelay).padStart(5)}  ${bar}`
    );
  });
  return [title, head, ...lines].join("\n");
}

function fmtInt(n: number): string {
  return n.toLocaleString("en-US");
}
