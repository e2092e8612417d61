// Graphviz DOT for a graph snapshot: one node per task/put/actor call, edges styled by kind
// (data solid, control dashed, stateful bold blue). Text only; rendering is Graphviz's job.
import type { EdgeKind, GraphSnapshot, SnapshotNode } from "./graph-snapshot.js";

export interface DotOptions {
  /** Graph name shown by viewers; default "loom". */
  title?: string;
  /** Layout direction; default "LR" (dataflow reads left to right). */
  rankdir?: "LR" | "TB";
}

/** Edge attributes per kind; exported so tests and legends agree with the drawing. */
export const EDGE_STYLE: Record<EdgeKind, string> = {
  data: 'style=solid, color="#333333"',
  control: 'style=dashed, color="#888888"',
  stateful: 'style=bold, color="#1f77b4", penwidth=2',
};

const UNKNOWN_EDGE_STYLE = 'style=dotted, color="#bbbbbb"';

const NODE_SHAPE: Record<string, string> = {
  task: "box",
  "actor-create": "doubleoctagon",
  "actor-method": "box",
  put: "cylinder",
};

const STATE_FILL: Record<string, string> = {
  finished: "#c7e9c0",
  running: "#fff3b0",
  failed: "#f4a6a6",
  cancelled: "#d9d9d9",
  lost: "#fdd0a2",
};

/** Render a snapshot as a DOT digraph. */
export function toDot(graph: GraphSnapshot, options: DotOptions = {}): string {
  const lines = [
    `digraph ${quote(options.title ?? "loom")} {`,
    `  rankdir=${options.rankdir ?? "LR"};`,
    '  node [fontname="Helvetica", fontsize=10, style="filled,rounded", fillcolor="#ffffff"];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  for (const node of graph.nodes) lines.push(`  ${quote(node.id)} [${nodeAttributes(node)}];`);
  for (const edge of graph.edges) {
    const style = EDGE_STYLE[edge.kind] ?? UNKNOWN_EDGE_STYLE;
    lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)} [${style}, tooltip=${quote(edge.kind)}];`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

function nodeAttributes(node: SnapshotNode): string {
  const label = [node.name, node.id];
  if (node.attempts !== undefined && node.attempts > 1) label.push(`${node.attempts} attempts`);
  const attrs = [
    `label=${quote(label.join("\n"))}`,
    `shape=${NODE_SHAPE[node.kind] ?? "box"}`,
    `fillcolor=${quote(STATE_FILL[node.state] ?? "#ffffff")}`,
    `tooltip=${quote(`${node.kind} ${node.state}`)}`,
  ];
  // Actor method calls get plain corners so a stateful chain reads apart from tasks.
  if (node.kind === "actor-method" || node.kind === "actor-create") attrs.push('style="filled"');
  return attrs.join(", ");
}

/** A DOT double-quoted string: backslashes and quotes escaped, newlines as the \n escape DOT centres on. */
export function quote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n")}"`;
}
