// Chrome trace (chrome://tracing, ui.perfetto.dev) JSON for a graph snapshot: one complete ("X")
// event per timed node on its worker's thread, driver-side nodes on a "driver" thread, data edges as flows.
import type { GraphSnapshot, SnapshotNode } from "./graph-snapshot.js";

/** One entry of the Trace Event Format's `traceEvents` array. Times in microseconds. */
export interface TraceEvent {
  name: string;
  ph: "X" | "i" | "M" | "s" | "f";
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  id?: number;
  s?: "t" | "p" | "g";
  bp?: "e";
  cname?: string;
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: "ms";
}

export interface ChromeTraceOptions {
  /** Draw data edges between timed nodes as flow arrows; default true. */
  flows?: boolean;
  /** Shown as the process name; default "loom". */
  processName?: string;
}

export const TRACE_PID = 1;
/** Thread id for nodes without a worker (puts, driver-side work): far above any worker index. */
export const DRIVER_TID = 1 << 20;

/** Convert a snapshot into a Chrome trace; `ts` is the node's start, `dur` its end - start, in microseconds. */
export function toChromeTrace(graph: GraphSnapshot, options: ChromeTraceOptions = {}): ChromeTrace {
  const events: TraceEvent[] = [
    { name: "process_name", ph: "M", pid: TRACE_PID, tid: 0, args: { name: options.processName ?? "loom" } },
  ];
  const threads = new Set<number>();
  const placed = new Map<string, { tid: number; ts: number }>();
  for (const node of graph.nodes) {
    if (node.start === undefined) continue;
    const tid = node.worker ?? DRIVER_TID;
    const ts = micros(node.start);
    threads.add(tid);
    placed.set(node.id, { tid, ts });
    const event: TraceEvent = { name: node.name, cat: node.kind, pid: TRACE_PID, tid, ts, ph: "X", args: args(node) };
    if (node.end === undefined) {
      // Still running (or never reported an end): a marker rather than a slice of made-up length.
      Object.assign(event, { ph: "i", s: "t" });
    } else {
      event.dur = Math.max(0, micros(node.end) - ts);
    }
    if (node.state === "failed") event.cname = "terrible";
    events.push(event);
  }
  for (const tid of [...threads].sort((a, b) => a - b)) {
    const name = tid === DRIVER_TID ? "driver" : `worker ${tid}`;
    events.push({ name: "thread_name", ph: "M", pid: TRACE_PID, tid, args: { name } });
    // The driver row first, then workers in index order.
    events.push({ name: "thread_sort_index", ph: "M", pid: TRACE_PID, tid, args: { sort_index: tid === DRIVER_TID ? -1 : tid } });
  }
  if (options.flows ?? true) events.push(...flowEvents(graph, placed));
  return { traceEvents: events, displayTimeUnit: "ms" };
}

/**
 * A data edge between two placed nodes becomes a flow: "s" at the producer's start binds to the
 * producer's slice, "f" with bp "e" at the consumer's start binds to the consumer's enclosing slice.
 */
function flowEvents(graph: GraphSnapshot, placed: Map<string, { tid: number; ts: number }>): TraceEvent[] {
  const out: TraceEvent[] = [];
  let id = 0;
  for (const edge of graph.edges) {
    if (edge.kind !== "data") continue;
    const from = placed.get(edge.from);
    const to = placed.get(edge.to);
    if (!from || !to) continue;
    id++;
    out.push({ name: "data", cat: "data", ph: "s", id, pid: TRACE_PID, tid: from.tid, ts: from.ts });
    out.push({ name: "data", cat: "data", ph: "f", bp: "e", id, pid: TRACE_PID, tid: to.tid, ts: to.ts });
  }
  return out;
}

function args(node: SnapshotNode): Record<string, unknown> {
  const out: Record<string, unknown> = { id: node.id, state: node.state };
  if (node.attempts !== undefined) out.attempts = node.attempts;
  return out;
}

/** Milliseconds to microseconds, kept to 3 decimals (nanoseconds) so JSON stays short. */
function micros(ms: number): number {
  return Math.round(ms * 1e6) / 1e3;
}
