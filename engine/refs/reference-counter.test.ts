// The reference counter against fakes: a Map for the object table, a Map for the task table, and a set of
// sealed core entries. No threads, no core: what is counted, and when an object is handed back to be freed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReferenceCounter, type RefTable } from "./reference-counter.js";
import { LOCAL_NODE, type ObjectEntry } from "../object-store/object-directory.js";
import { NONE, TaskEntry } from "../tasks/task-entry.js";
import { objectIdOf, type ObjectId, type TaskId } from "../ids.js";
import { resolveTaskOptions } from "../options.js";

function fixture() {
  const rows = new Map<ObjectId, ObjectEntry>();
  const freed: ObjectId[] = [];
  const table: RefTable = {
    get: (id) => rows.get(id),
    set: (id, o) => { rows.set(id, o); },
    freeObject: (o) => { freed.push(o.id); rows.delete(o.id); for (const r of o.contains) counter.decRef(r); },
  };
  const tasks = new Map<TaskId, TaskEntry>();
  const sealed = new Set<number>();
  const counter = new ReferenceCounter(table, { get: (id) => tasks.get(id) }, (entry) => sealed.has(entry));
  /** A registered object with a core entry (entry number = its id, for the fake). */
  const object = (id: number, isSealed = true): ObjectEntry => {
    const o: ObjectEntry = { id: id as ObjectId, entry: id, node: LOCAL_NODE, refs: 0, isPut: false, sealedHere: false, freeWhenSealed: false, contains: NONE, lineageCounted: false };
    rows.set(o.id, o);
    if (isSealed) sealed.add(id);
    return o;
  };
  const task = (id: number, state: TaskEntry["state"], kind: TaskEntry["kind"] = "task"): TaskEntry => {
    const t = new TaskEntry(id as TaskId, kind, 0, `t${id}`, new Uint8Array(), [], resolveTaskOptions({}));
    t.state = state;
    tasks.set(t.id, t);
    return t;
  };
  return { rows, freed, counter, sealed, object, task };
}

test("an object is freed when its last hold goes, not before", () => {
  const { counter, object, freed } = fixture();
  const o = object(objectIdOf(1 as TaskId, 0));
  counter.incRef(o.id);
  counter.incRef(o.id);
  counter.decRef(o.id);
  assert.deepEqual(freed, []);
  assert.equal(o.refs, 1);
  counter.decRef(o.id);
  assert.deepEqual(freed, [o.id]);
});

test("a hold on an unknown object is kept on a placeholder row, and its decRef frees only that", () => {
  const { counter, rows, freed } = fixture();
  const id = 7 as ObjectId;
  counter.incRef(id);
  const placeholder = rows.get(id)!;
  assert.equal(placeholder.entry, 0);
  assert.equal(placeholder.refs, 1);
  assert.equal(placeholder.node, LOCAL_NODE);
  counter.decRef(id);
  assert.deepEqual(freed, [id]);
  counter.decRef(id); // nothing left: a second decRef is a no-op
  assert.deepEqual(freed, [id]);
});

test("a sealed object whose producer is still running (a yield, a put) is freed when its last hold goes", () => {
  for (const state of ["pending", "running"] as const) {
    const { counter, object, task, freed } = fixture();
    const producer = task(5, state);
    const o = object(objectIdOf(producer.id, 0), true);
    counter.incRef(o.id);
    counter.decRef(o.id);
    // Waiting for a seal that has already happened would keep it for good: nothing seals it again.
    assert.deepEqual(freed, [o.id], state);
    assert.equal(o.freeWhenSealed, false, state);
  }
});

test("an unsealed object whose producer is pending or running is freed when sealed, not now", () => {
  for (const state of ["pending", "running"] as const) {
    const { counter, object, task, freed } = fixture();
    const producer = task(3, state);
    const o = object(objectIdOf(producer.id, 0), false);
    counter.incRef(o.id);
    counter.decRef(o.id);
    assert.deepEqual(freed, [], state);
    assert.equal(o.freeWhenSealed, true, state);
  }
  // Finished producer, or a sealed value: freed at once.
  const { counter, object, task, freed } = fixture();
  task(4, "finished");
  const o = object(objectIdOf(4 as TaskId, 0), false);
  counter.incRef(o.id);
  counter.decRef(o.id);
  assert.deepEqual(freed, [o.id]);
});

test("contained refs are held by their container and released when it is freed", () => {
  const { counter, object, freed } = fixture();
  const inner = object(64);
  const outer = object(128);
  counter.holdContained(outer, [inner.id]);
  assert.equal(inner.refs, 1);
  counter.incRef(outer.id);
  counter.decRef(outer.id);
  assert.deepEqual(freed, [outer.id, inner.id]);
});

test("a thread's puts are held once each until it reports them dropped", () => {
  const { counter, object, freed } = fixture();
  const o = object(192);
  counter.holdForThread(1, o.id, 0 as TaskId);
  counter.holdForThread(1, o.id, 0 as TaskId); // reported twice: still one hold
  assert.equal(o.refs, 1);
  counter.releaseWorkerPut(0, o.id); // another thread never held it
  assert.deepEqual(freed, []);
  counter.releaseWorkerPut(1, o.id);
  assert.deepEqual(freed, [o.id]);
});

test("a running plain task owns the puts of its thread; results of its children are pinned by its lineage once", () => {
  const { counter, object, task } = fixture();
  const parent = task(10, "running");
  const put = object(640);
  counter.holdForThread(0, put.id, parent.id);
  assert.deepEqual(parent.ownedPuts, [put.id]);
  const child = task(11, "pending");
  object(objectIdOf(child.id, 0), false);
  counter.holdResultsForThread(0, child, parent.id);
  counter.holdResultsForThread(0, child, parent.id); // a re-executed parent submits it again
  assert.deepEqual(parent.heldPuts, [objectIdOf(child.id, 0)]);
});
