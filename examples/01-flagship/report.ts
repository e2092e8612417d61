// Turns the flagship's answers into the text main.ts prints: one small table per section. Formatting only.
import type { FlightAnswers } from "./answers.js";

/** The whole report, ready to print. */
export function formatReport(a: FlightAnswers): string {
  const out: string[] = [];
  const t = a.totals;
  out.push(`${fmtInt(t.count)} flights, mean arrival delay ${t.mean_delay.toFixed(2)} min ("delayed": more than 15 min)`);
  out.push(table("By scheduled departure hour", ["hour", "flights", "mean", ">15", "p90"], a.by_hour.map((h, i) => [
    `${String(h.hour).padStart(2, "0")}:00`, fmtInt(h.count), h.mean_delay.toFixed(1), pct(h.share_delayed_gt15), fmtNum(a.extra_by_hour_p90[i].p90_delay_cont),
  ])));
  out.push(table("By distance (miles, [lo, hi))", ["band", "flights", "mean", "p90 cont", "p90 disc"], a.by_distance_band.map((b) => [
    b.band, fmtInt(b.count), b.mean_delay.toFixed(1), fmtNum(b.p90_delay_cont), String(b.p90_delay_disc),
  ])));
  if (a.top10_busiest_origins) {
    out.push(table(`Busiest origins (of ${a.by_origin!.length})`, ["origin", "flights", "mean"], a.top10_busiest_origins.map((o) => [
      o.origin, fmtInt(o.count), o.mean_delay.toFixed(1),
    ])));
  }
  if (a.top10_routes_mean_delay_min500 && a.routes) {
    const r = a.routes;
    out.push(table(`Most delayed routes (${r.routes_with_at_least_500} of ${r.total_routes} routes have >= 500 flights)`,
      ["route", "flights", "mean"], a.top10_routes_mean_delay_min500.map((x) => [`${x.origin} -> ${x.destination}`, fmtInt(x.count), x.mean_delay.toFixed(2)])));
  }
  return out.join("\n\n");
}

function table(title: string, head: string[], rows: string[][]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join("  ");
  return [title, line(head), ...rows.map(line)].join("\n");
}

function fmtInt(n: number): string {
  return n.toLocaleString("en-US");
}

function fmtNum(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function pct(share: number): string {
  return `${(share * 100).toFixed(0)}%`;
}
