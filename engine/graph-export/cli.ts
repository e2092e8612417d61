// `node --import tsx engine/graph-export/cli.ts graph.json --dot out.dot --trace out.json`:
// converts a saved rt.graph() snapshot (JSON; "-" reads stdin) into DOT and/or a Chrome trace.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { GraphSnapshot } from "./graph-snapshot.js";
import { writeGraph } from "./write-graph.js";

const USAGE = "usage: graph-export <graph.json | -> [--dot out.dot] [--trace out.json]";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { dot: { type: "string" }, trace: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help || positionals.length !== 1 || (values.dot === undefined && values.trace === undefined)) {
    console.error(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const source = positionals[0] === "-" ? await readStdin() : await readFile(positionals[0], "utf8");
  const graph = JSON.parse(source) as GraphSnapshot;
  if (!Array.isArray(graph.nodes) || !Array.isArray(graph.edges)) throw new Error("input is not a { nodes, edges } graph");
  const written = await writeGraph(graph, { dot: values.dot, trace: values.trace });
  for (const path of Object.values(written)) console.log(`wrote ${path}`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

await main();
