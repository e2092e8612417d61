// TaskCompleter's completion path against a fake core, store and link: which way a task's end is reported
// (done queue, or a "done" message carrying its seals) and what is sealed. No threads, no WebAssembly.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as L from "../../core-wasm/shared/layout.js";
import type { Core } from "../wasm/core.js";
import type { ObjectStore } from "../object-store/object-store.js";
import type { DriverLink } from "../transport/driver-link.js";
import type { WorkerToDriver } from "../transport/messages.js";
import { objectIdOf, type ObjectId, type TaskId } from "../ids.js";
import { LoomError } from "../errors.js";
import { TaskCompleter } from "./task-completer.js";
import type { TaskPayload } from "./payload-reader.js";

const SLOT = 3;
const TASK = 7 as TaskId;
const WORKER = 1;
const LIST = 9000;

/** A core whose object table is a Map and whose task slots are plain fields; it records what was called. */
function fakes() {
  const memory = { buffer: new SharedArrayBuffer(L.CORE_BASE + 4096) };
  const objects = new Map<ObjectId, { state: number; location?: number; flags?: number }>();
  const entryIds: ObjectId[] = [];
  const fields = new Map<string, number>();
  const calls: string[] = [];
  /** The worker record: the open block (WORKER_BLOCK) and the held list (WORKER_HELD), as the core keeps them. */
  const record = { block: 0, held: undefined as number[] | undefined, posted: undefined as number[] | undefined };
  const entryOf = (id: ObjectId) => { const e = entryIds.indexOf(id); return e < 0 ? 0 : e + 1; };
  const core = {
    i32: new Int32Array(memory.buffer),
    memory,
    plan: { taskSlots: 8, workers: 4 },
    taskField: (slot: number, f: number) => fields.get(`${slot}:${f}`) ?? 0,
    setTaskField: (slot: number, f: number, v: number) => { fields.set(`${slot}:${f}`, v); },
    exports: {
      objFind: (lo: number) => entryOf(lo as ObjectId),
      objState: (entry: number) => objects.get(entryIds[entry - 1]!)!.state,
      objSealBy: (entry: number, location: number, _size: number, flags: number, worker: number) => {
        assert.equal(worker, WORKER);
        const id = entryIds[entry - 1]!;
        if (objects.get(id)!.state !== L.OBJ_PENDING) return -1; // lost: the block stays in the record
        if (record.block === location) record.block = 0;
        objects.set(id, { state: L.OBJ_SEALED, location, flags });
        calls.push(`seal ${id}${flags & L.FLAG_ERROR ? " error" : ""}`);
        return 0;
      },
      workerHeldRoom: (worker: number) => { assert.equal(worker, WORKER); return noRoom ? 0 : LIST; },
      workerDefer: (worker: number, location: number) => {
        assert.equal(worker, WORKER);
        if (record.block !== location) return 0;
        (record.held ??= []).push(location);
        record.block = 0;
        return LIST;
      },
      workerHeldPosted: (_worker: number, list: number) => { calls.push(`held posted ${list}`); record.posted = record.held; record.held = undefined; },
      workerBlockTaken: () => { throw new Error("the driver's call"); },
      arenaFree: () => { throw new Error("a worker never frees a block itself: it posts it to the driver"); },
      taskFinish: (slot: number, outcome: number) => { calls.push(`taskFinish ${slot} ${outcome}`); },
    },
  } as unknown as Core;
  let nextLocation = 1000;
  /** No held list can be made (the arena is full). */
  let noRoom = false;
  /** Objects whose write fails as a full store's would. */
  const full = new Set<ObjectId>();
  const store = {
    // arenaAllocFor: the block is the record's open block from the allocation on.
    writeEncoded: (id: ObjectId, e: { size: number }, flags: number, arena = true) => {
      if (full.delete(id)) throw new LoomError(`store full for ${id}`); // once: the error that follows fits
      if (!arena) return { location: 0, size: e.size, flags: flags | L.FLAG_SEGMENT, segment: new SharedArrayBuffer(8) };
      return { location: record.block = nextLocation++, size: e.size, flags };
    },
  } as unknown as ObjectStore;
  const sent: WorkerToDriver[] = [];
  const link: DriverLink = {
    posted: 0, drainingInTask: false,
    post(m) { (this as { posted: number }).posted++; sent.push(m); },
    send(m) { sent.push(m); },
    onMessage() {}, drain() {}, drainInTask() {},
  };
  const register = (id: ObjectId) => { entryIds.push(id); objects.set(id, { state: L.OBJ_PENDING }); };
  return {
    core, store, link, sent, calls, fields, objects, record, full, register, completer: new TaskCompleter(core, store, link, WORKER),
    arenaFull: () => { noRoom = true; },
  };
}

const payload = (over: Partial<TaskPayload> = {}): TaskPayload => ({ f: 1, a: [], n: "fn", r: 1, x: false, m: 0, ...over });

test("a task that sent no message seals in place and reports through the done queue", () => {
  const f = fakes();
  f.register(objectIdOf(TASK, 0));
  f.completer.markStarted(SLOT);
  f.completer.completeTask(SLOT, TASK, payload(), 42);
  assert.deepEqual(f.calls, [`seal ${objectIdOf(TASK, 0)}`, `taskFinish ${SLOT} ${L.OUTCOME_OK}`]);
  assert.deepEqual(f.sent, [], "no message");
  assert.deepEqual(f.record, { block: 0, held: undefined, posted: undefined }, "the seal took the block out of the worker record");
});

test("a task that sent a message has its seals travel with its done message, after it", () => {
  const f = fakes();
  const [r0, r1] = [objectIdOf(TASK, 0), objectIdOf(TASK, 1)];
  f.register(r0); f.register(r1);
  f.completer.markStarted(SLOT);
  f.link.post({ t: "want", id: 99 as ObjectId });
  f.completer.completeTask(SLOT, TASK, payload({ r: 2 }), ["a", "b"]);
  assert.deepEqual(f.calls, [`held posted ${LIST}`], "nothing sealed here, no done-queue report; the record lets go of the held list after the post");
  assert.equal(f.objects.get(r0)!.state, L.OBJ_PENDING);
  const done = f.sent.at(-1)!;
  assert.equal(done.t, "done");
  assert.deepEqual((done as { seals: Array<{ id: ObjectId }> }).seals.map((s) => s.id), [r0, r1]);
  assert.equal(f.fields.get(`${SLOT}:${L.TASK_OUTCOME}`), L.OUTCOME_OK, "the outcome is left in the slot for the driver");
  // Until the message is posted the blocks are the thread's: held in its record, for the driver to free if it dies.
  assert.deepEqual(f.record, { block: 0, held: undefined, posted: [1000, 1001] });
  assert.equal((done as { held?: number }).held, LIST, "the done message names the held list, for the driver to free");
});

test("seals deferred by a completion that fails part-way give their blocks back; the error's seals hold their own", () => {
  const f = fakes();
  const [r0, r1] = [objectIdOf(TASK, 0), objectIdOf(TASK, 1)];
  f.register(r0); f.register(r1);
  f.full.add(r1); // r1's write fails after r0's block was held
  f.completer.markStarted(SLOT);
  f.link.post({ t: "want", id: 99 as ObjectId });
  f.completer.completeTask(SLOT, TASK, payload({ r: 2 }), ["a", "b"]);
  assert.deepEqual(f.sent[1], { t: "drop", held: LIST }, "r0's held list (with its block) went to the driver to free");
  assert.equal(f.calls[0], `held posted ${LIST}`, "the record let go of it after the post");
  const done = f.sent.at(-1) as Extract<WorkerToDriver, { t: "done" }>;
  assert.deepEqual(done.seals!.map((s) => [s.id, s.flags & L.FLAG_ERROR]), [[r0, L.FLAG_ERROR], [r1, L.FLAG_ERROR]], "the error is sealed instead");
  assert.equal(done.held, LIST);
  assert.deepEqual(f.record.posted, [1001, 1002], "the error's blocks were held until its done message");
});

test("a thrown error is retried while attempts are left, then sealed as the task's error", () => {
  const f = fakes();
  f.register(objectIdOf(TASK, 0));
  f.completer.markStarted(SLOT);
  f.completer.failTask(SLOT, TASK, payload({ x: true, m: 1 }), new Error("boom"));
  assert.deepEqual(f.calls, [`taskFinish ${SLOT} ${L.OUTCOME_RETRY}`]);
  f.fields.set(`${SLOT}:${L.TASK_ATTEMPT}`, 1);
  f.completer.markStarted(SLOT);
  f.completer.failTask(SLOT, TASK, payload({ x: true, m: 1 }), new Error("boom"));
  assert.deepEqual(f.calls.slice(1), [`seal ${objectIdOf(TASK, 0)} error`, `taskFinish ${SLOT} ${L.OUTCOME_FAILED}`]);
});

test("Loom's own errors and a wrong number of returns are never retried", () => {
  const f = fakes();
  f.register(objectIdOf(TASK, 0)); f.register(objectIdOf(TASK, 1));
  f.completer.markStarted(SLOT);
  f.completer.failTask(SLOT, TASK, payload({ x: true, m: -1 }), new LoomError("engine"));
  assert.equal(f.calls.at(-1), `taskFinish ${SLOT} ${L.OUTCOME_FAILED}`);
  const g = fakes();
  g.register(objectIdOf(TASK, 0)); g.register(objectIdOf(TASK, 1));
  g.completer.markStarted(SLOT);
  g.completer.completeTask(SLOT, TASK, payload({ r: 2, x: true, m: -1 }), 5);
  assert.deepEqual(g.calls, [`seal ${objectIdOf(TASK, 0)} error`, `seal ${objectIdOf(TASK, 1)} error`, `taskFinish ${SLOT} ${L.OUTCOME_FAILED}`]);
});

test("an already sealed return keeps its first value", () => {
  const f = fakes();
  const id = objectIdOf(TASK, 0);
  f.register(id);
  f.objects.set(id, { state: L.OBJ_SEALED, location: 1 });
  f.completer.markStarted(SLOT);
  f.completer.completeTask(SLOT, TASK, payload(), "late");
  assert.deepEqual(f.calls, [`taskFinish ${SLOT} ${L.OUTCOME_OK}`]);
  assert.equal(f.objects.get(id)!.location, 1);
});

test("a checkpointing actor's call reports its checkpoint and seals through the driver", () => {
  const f = fakes();
  f.register(objectIdOf(TASK, 0));
  f.completer.markStarted(SLOT);
  const checkpoint = { actorId: 5 as never, seq: 3, state: new Uint8Array([1]) };
  f.completer.checkpointToReport = checkpoint;
  f.completer.sealsViaDriver = true;
  f.completer.completeTask(SLOT, TASK, payload(), 1);
  assert.deepEqual(f.calls, [`held posted ${LIST}`], "no seal here, no done-queue report");
  const done = f.sent.at(-1) as Extract<WorkerToDriver, { t: "done" }>;
  assert.equal(done.t, "done");
  assert.equal(done.checkpoint, checkpoint);
  assert.equal(done.seals!.length, 1);
  assert.equal(f.completer.checkpointToReport, undefined, "reported once");
});

test("a block whose seal is lost stays in the worker record and goes to the driver to free", () => {
  const f = fakes();
  const id = objectIdOf(TASK, 0);
  f.register(id);
  f.completer.markStarted(SLOT);
  // Sealed by the driver (a cancellation) after the worker checked the state, before its own seal.
  const realWrite = f.store.writeEncoded.bind(f.store);
  (f.store as { writeEncoded: typeof realWrite }).writeEncoded = (...a) => {
    const where = realWrite(...a);
    f.objects.set(id, { state: L.OBJ_SEALED, location: 1 });
    return where;
  };
  f.completer.completeTask(SLOT, TASK, payload(), "late");
  assert.deepEqual(f.sent[0], { t: "drop", location: 1000 }, "posted for the driver to free");
  assert.equal(f.record.block, 1000, "still named by the record until the driver takes it");
  assert.equal(f.objects.get(id)!.location, 1, "the first value stays");
  assert.equal(f.sent.at(-1)!.t, "done", "reported after the drop, by message");
});

test("a deferred seal with no room to hold its block in the arena writes it to a segment", () => {
  const f = fakes();
  const id = objectIdOf(TASK, 0);
  f.register(id);
  f.completer.markStarted(SLOT);
  f.link.post({ t: "want", id: 99 as ObjectId });
  f.arenaFull();
  f.completer.completeTask(SLOT, TASK, payload(), "v");
  const done = f.sent.at(-1) as Extract<WorkerToDriver, { t: "done" }>;
  assert.equal(done.seals![0]!.flags & L.FLAG_SEGMENT, L.FLAG_SEGMENT, "in a segment");
  assert.equal(done.held, undefined, "no held list");
  assert.deepEqual(f.record, { block: 0, held: undefined, posted: undefined }, "no arena block was written");
});
