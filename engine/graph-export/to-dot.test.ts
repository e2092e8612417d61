// toDot on hand-made graphs: the text is structurally valid DOT and every edge carries its kind's style.
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import { toDot, EDGE_STYLE } from "./index.js";
import { SAMPLE_GRAPH } from "./graph-fixtures.js";

/** Strip quoted strings (honouring \" escapes) so structure can be checked without their contents. */
function unquoted(dot: string): string {
  return dot.replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

test("braces balance outside quoted strings and the graph is one digraph", () => {
  const bare = unquoted(toDot(SAMPLE_GRAPH));
  let depth = 0;
  for (const ch of bare) {
    if (ch === "{") depth++;
    if (ch === "}") depth--;
    assert.ok(depth >= 0, "a closing brace before its opening one");
  }
  assert.equal(depth, 0);
  assert.match(bare, /^digraph "" \{/);
  assert.equal(bare.trimEnd().at(-1), "}");
});

test("every edge appears once, styled by its kind", () => {
  const lines = toDot(SAMPLE_GRAPH).split("\n");
  for (const edge of SAMPLE_GRAPH.edges) {
    const found = lines.filter((l) => l.trim().startsWith(`"${edge.from}" -> "${edge.to}" [`));
    assert.equal(found.length, 1, `edge ${edge.from}->${edge.to}`);
    assert.ok(found[0].includes(EDGE_STYLE[edge.kind]), `edge ${edge.from}->${edge.to} has the ${edge.kind} style`);
  }
  assert.equal(lines.filter((l) => l.includes("->")).length, SAMPLE_GRAPH.edges.length);
});

test("the three edge kinds look different: solid, dashed, bold", () => {
  assert.match(EDGE_STYLE.data, /style=solid/);
  assert.match(EDGE_STYLE.control, /style=dashed/);
  assert.match(EDGE_STYLE.stateful, /style=bold/);
});

test("every node is declared with a label of its name and id; quotes and backslashes are escaped", () => {
  const dot = toDot(SAMPLE_GRAPH);
  for (const node of SAMPLE_GRAPH.nodes) {
    assert.ok(dot.includes(`  "${node.id}" [label=`), `node ${node.id} declared`);
  }
  assert.ok(dot.includes('label="byRoute\\n3\\n2 attempts"'));
  assert.ok(dot.includes('label="say \\"hi\\" \\\\ {braces}\\n8"'));
  // Each statement ends in "];" or is a brace line; no raw newline inside a statement.
  for (const line of dot.trim().split("\n").slice(1, -1)) assert.match(line, /;$/);
});

test("an empty graph is still a valid digraph", () => {
  const dot = toDot({ nodes: [], edges: [] }, { title: "empty", rankdir: "TB" });
  assert.match(dot, /^digraph "empty" \{\n {2}rankdir=TB;/);
  assert.ok(dot.endsWith("}\n"));
});

const graphviz = spawnSync("dot", ["-V"]).status === 0;

test("Graphviz itself parses the output, where it is installed", { skip: !graphviz && "dot not installed" }, () => {
  const run = spawnSync("dot", ["-Tsvg"], { input: toDot(SAMPLE_GRAPH), encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /<svg/);
  assert.equal(run.stderr, "");
});
