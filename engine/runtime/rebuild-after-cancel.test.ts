// A rebuild of a task whose earlier attempt the driver ended (cancelled) before that attempt's thread let go of
// its slot. The earlier attempt's report is about a run that is over: it must free its slot (and the resources
// it was admitted with) and nothing else, never end the rebuild. Found by the property soak: a cancel landing
// after the task finished but before the driver took its report, an eviction, then a dependent; the old
// report ended the rebuild, whose worker then died, and every get hung.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { init, TaskCancelledError, type ObjectRef, type Runtime } from "loom-dag";
import * as L from "../../core-wasm/shared/layout.js";

type Tasks = typeof import("../test-fixtures/tasks.js");
let rt: Runtime;
let m: Awaited<ReturnType<Runtime["module"]>> & Record<string, any>;
let dir: string;

/** The driver's internals these tests hold still or watch: which slot a task's attempt holds, and its state. */
interface Internals {
  core: { taskField(slot: number, field: number): number };
  tasks: { get(id: number): { slot: number } | undefined };
  streams: { producerOf(id: number): number };
}
const internals = (): Internals => (rt as unknown as { d: Internals }).d;
const slotOf = (ref: ObjectRef): number => { const d = internals(); return d.tasks.get(d.streams.producerOf(ref.id))!.slot; };
const slotState = (slot: number): number => internals().core.taskField(slot, L.TASK_STATE);

async function until(done: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}
const lines = (file: string): number => readFileSync(file, "utf8").split("\n").length - 1;

before(async () => {
  rt = await init({ workers: 2, resources: { slotA: 1 } });
  m = (await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url))) as typeof m;
  dir = mkdtempSync(join(tmpdir(), "loom-rebuild-cancel-"));
  assert.equal(await rt.get(m.gatedByAttempt.remote(join(dir, "warm"), 0, 0)), 7, "the module is loaded on a worker");
});
after(async () => {
  await rt.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

test("a report of an attempt cancelled after it finished does not end the task's rebuild", async () => {
  const mark = join(dir, "late");
  writeFileSync(mark, "");
  const a = m.gatedByAttempt.remote(mark, 2, 30_000) as ObjectRef<number>;
  const oldSlot = slotOf(a);
  // The driver's loop is held here, so the worker's report of the finished attempt waits in the done queue while
  // the driver cancels (too late: the value is sealed), loses the value and asks for it again.
  const end = Date.now() + 20_000;
  while (slotState(oldSlot) !== L.TASK_DONE && Date.now() < end) { /* hold the loop */ }
  assert.equal(slotState(oldSlot), L.TASK_DONE, "the first attempt finished within 20 s");
  rt.cancel(a);
  assert.equal(rt.faults.evict(a), true, "the first attempt's value was stored");
  const b = m.add.remote(a, 1) as ObjectRef<number>;
  // The rebuild (attempt 2) waits at its gate while the old report is taken and its slot freed.
  assert.ok(await until(() => lines(mark) === 2, 20_000), "the rebuild started");
  assert.ok(await until(() => slotState(oldSlot) === L.TASK_FREE, 10_000), "the first attempt's slot was freed on its report");
  const running = (rt as unknown as { inspect(): { running: Array<{ name: string; worker: number }> } }).inspect().running;
  const rebuild = running.find((r) => r.name === "gatedByAttempt");
  assert.ok(rebuild, `the rebuild is running (running: ${JSON.stringify(running)})`);
  // Its thread dies: the rebuild is retried (attempt 3 passes its gate), not taken for finished.
  await rt.faults.killWorker(rebuild.worker);
  assert.equal(await rt.get(b, { timeoutMs: 20_000 }), 8);
  assert.equal(lines(mark), 3, "attempts: the first, the rebuild, its retry");
});

test("an attempt cancelled while it runs keeps its resources until it stops, then a rebuild takes them", async () => {
  const mark = join(dir, "running");
  writeFileSync(mark, "");
  const a = m.gatedByAttempt.options({ resources: { slotA: 1 } }).remote(mark, 1, 30_000) as ObjectRef<number>;
  assert.ok(await until(() => lines(mark) === 1, 20_000), "the first attempt runs");
  rt.cancel(a); // not forced: the attempt goes on until its gate opens
  await assert.rejects(rt.get(a), TaskCancelledError);
  assert.equal(rt.faults.evict(a), true, "the cancellation was stored");
  const b = m.add.remote(a, 1) as ObjectRef<number>;
  const used = () => (rt as unknown as { inspect(): { used: Record<string, number> } }).inspect().used.slotA;
  assert.equal(used(), 1, "the cancelled attempt still holds slotA");
  writeFileSync(`${mark}.open`, "");
  // The cancelled attempt's value lands in the reopened return (the same value a rebuild makes): b may use it.
  assert.equal(await rt.get(b, { timeoutMs: 20_000 }), 8, "b is answered once the first attempt let go of slotA");
  assert.equal(await rt.get(m.add.options({ resources: { slotA: 1 } }).remote(1, 1), { timeoutMs: 20_000 }), 2, "slotA is free again");
  assert.ok(await until(() => used() === 0, 5_000), `slotA held after everything ended: ${used()}`);
});
