// The node's cache of pulled copies and its module hashes, with a fake runtime and puller stepped by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createHash } from "node:crypto";
import type { ObjectRef } from "../refs.js";
import type { Runtime } from "../runtime/runtime.js";
import type { RawObject } from "../object-store/raw-objects.js";
import type { ObjectPuller } from "./object-transfer.js";
import { ImportedObjects } from "./imported-objects.js";
import { ModuleHashes } from "./module-hashes.js";

/** A puller whose pulls wait until the test settles them; a runtime whose imports are numbered refs. */
function fakes(budget: number, heldHere: (key: string) => ObjectRef | undefined = () => undefined) {
  const pending: Array<{ key: string; resolve(raw: RawObject): void; reject(e: Error): void }> = [];
  let imported = 0;
  const puller = { pull: (_address: string, key: string) => new Promise<RawObject>((resolve, reject) => pending.push({ key, resolve, reject })) };
  const runtime = { importObject: () => ({ id: ++imported }) };
  const cache = new ImportedObjects(runtime as unknown as Runtime, puller as unknown as ObjectPuller, heldHere, budget);
  const settle = async (bytes = 10, hasRefs = false) => {
    await new Promise((r) => setImmediate(r));
    pending.shift()!.resolve({ flags: 0, bytes: new Uint8Array(bytes), hasRefs });
  };
  return { cache, pending, settle, imported: () => imported };
}

const source = (key: string) => ({ key, from: "127.0.0.1:1" });

test("one pull per key for tasks that ask together or later; a release forgets the copy", async () => {
  const f = fakes(1000);
  const a = f.cache.localRefs({ 1: source("k") });
  const b = f.cache.localRefs({ 2: source("k") });
  assert.equal(f.pending.length, 1, "the second asks the pull under way");
  await f.settle();
  assert.equal((await a).get("1"), (await b).get("2"));
  assert.equal((await f.cache.localRefs({ 3: source("k") })).get("3"), (await a).get("1"), "a later task finds the copy");
  assert.equal(f.imported(), 1);
  f.cache.release("k");
  assert.equal(f.cache.get("k"), undefined);
  const c = f.cache.localRefs({ 4: source("k") });
  await f.settle();
  assert.notEqual((await c).get("4"), (await a).get("1"), "pulled again after the release");
});

test("copies past the budget go, least recently used first", async () => {
  const f = fakes(25);
  for (const key of ["a", "b"]) {
    const p = f.cache.localRefs({ 1: source(key) });
    await f.settle(10);
    await p;
  }
  await f.cache.localRefs({ 1: source("a") }); // a is now the most recently used
  const c = f.cache.localRefs({ 1: source("c") });
  await f.settle(10);
  assert.ok((await c).get("1"), "the task that asked still gets its copy");
  assert.ok(f.cache.get("a") && f.cache.get("c"));
  assert.equal(f.cache.get("b"), undefined, "b went: it was used least recently");
});

test("a key released while its pull runs is not cached; objects held here are not pulled; refs inside need their sources", async () => {
  const mine = { id: 99 } as unknown as ObjectRef;
  const f = fakes(1000, (key) => key === "here" ? mine : undefined);
  assert.equal((await f.cache.localRefs({ 1: source("here") })).get("1"), mine);
  assert.equal(f.pending.length, 0);
  const p = f.cache.localRefs({ 1: source("k") });
  f.cache.release("k");
  await f.settle();
  assert.ok((await p).get("1"));
  assert.equal(f.cache.get("k"), undefined);
  const refs = f.cache.localRefs({ 1: source("r") });
  await f.settle(10, true);
  await assert.rejects(refs, /holds refs but its holder did not say where the objects they name are/);
});

test("module hashes: the file's sha256, read again when the file changes; a missing file is a LoomError", async () => {
  const dir = mkdtempSync(join(tmpdir(), "loom-module-hash-"));
  try {
    const file = join(dir, "m.mjs");
    const url = pathToFileURL(file).href;
    const hashes = new ModuleHashes();
    writeFileSync(file, "export const a = 1;\n");
    const first = createHash("sha256").update("export const a = 1;\n").digest("hex");
    assert.equal(await hashes.hashOf(url), first);
    assert.equal(hashes.hashNow(url), first, "a hash a stat just confirmed is known without waiting");
    assert.equal(hashes.hashNow(pathToFileURL(join(dir, "never-asked.mjs")).href), undefined, "a module never hashed is not known");
    await hashes.check(url, first, "n1");
    writeFileSync(file, "export const a = 22;\n");
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    await assert.rejects(hashes.check(url, first, "n1"), /module .*m\.mjs differs on node n1 from the driver's copy/);
    await assert.rejects(hashes.check(pathToFileURL(join(dir, "gone.mjs")).href, first, "n1"), /cannot be read on node n1/);
    await assert.rejects(hashes.check("https://example.com/m.js", first, "n1"), /not a file URL/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
