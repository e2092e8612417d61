// writeGraph writes both files (creating folders) and only the ones asked for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeGraph, toDot } from "./index.js";
import { SAMPLE_GRAPH } from "./graph-fixtures.js";

test("writes DOT and trace files into nested folders", async () => {
  const dir = await mkdtemp(join(tmpdir(), "loom-graph-"));
  try {
    const written = await writeGraph(SAMPLE_GRAPH, { dot: join(dir, "a/g.dot"), trace: join(dir, "b/t.json") });
    assert.equal(await readFile(written.dot!, "utf8"), toDot(SAMPLE_GRAPH));
    const trace = JSON.parse(await readFile(written.trace!, "utf8"));
    assert.ok(Array.isArray(trace.traceEvents));
    const only = await writeGraph(SAMPLE_GRAPH, { dot: join(dir, "sub/only.dot") });
    assert.deepEqual(Object.keys(only), ["dot"]);
    assert.deepEqual(await readdir(join(dir, "sub")), ["only.dot"], "no trace file, under any name, beside the DOT");
    assert.deepEqual((await readdir(dir)).sort(), ["a", "b", "sub"], "and nothing else anywhere");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
