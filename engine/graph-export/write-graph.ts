// Writes a graph snapshot to disk as DOT and/or a Chrome trace; creates parent folders.
// Formatting lives in to-dot.ts and to-chrome-trace.ts; this file only does I/O.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { GraphSnapshot } from "./graph-snapshot.js";
import { toDot } from "./to-dot.js";
import { toChromeTrace } from "./to-chrome-trace.js";

export interface WriteGraphTargets {
  /** Path of the Graphviz file (render: `dot -Tsvg file.dot -o graph.svg`). */
  dot?: string;
  /** Path of the trace JSON (open in ui.perfetto.dev or chrome://tracing). */
  trace?: string;
}

/** Write the requested files; resolves to the absolute paths written. */
export async function writeGraph(graph: GraphSnapshot, targets: WriteGraphTargets): Promise<WriteGraphTargets> {
  const written: WriteGraphTargets = {};
  if (targets.dot !== undefined) written.dot = await writeText(targets.dot, toDot(graph));
  if (targets.trace !== undefined) written.trace = await writeText(targets.trace, JSON.stringify(toChromeTrace(graph)));
  return written;
}

async function writeText(path: string, text: string): Promise<string> {
  const absolute = resolve(path);
  await mkdir(dirname(absolute), { recursive: true });
  await writeFile(absolute, text);
  return absolute;
}
