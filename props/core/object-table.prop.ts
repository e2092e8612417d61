// Model-based test of the object table together with the task dependency counters: a Map of objects (state,
// waiter list) and a map of task slots is the model. A table of 8 entries for 12 ids, so probing, wrap-around,
// tombstones and the full table all happen; 8 task slots. Each command runs on the wasm or the TS implementation.
// Invariants after every step: a task is released exactly once, when its last pending argument seals and never
// before; every dependency counter equals the model's (so it is never negative); queues hold exactly the model's;
// one table entry always stays empty, and CTL_OBJECT_OCCUPIED counts the others.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as L from "../../core-wasm/shared/layout.js";
import { jsObjects } from "../../bench/micro/js-baselines/index.js";
import { createCoreFixture, peek, poke, ringContents, SEEDS, RUNS_PER_SEED, type CoreFixture } from "./core-fixture.js";

const OBJECTS = 8;
const SLOTS = 8;
const IDS = 12;
const fx = createCoreFixture({ taskSlots: SLOTS, objectCapacity: OBJECTS, arenaBytes: 1 << 16 });
const plan = fx.core.plan;

/** Object id number k as the core sees it: (lo, hi), spread so that both halves matter. */
const idOf = (k: number): [number, number] => [(k << 4) | (k & 3), k >> 2];

interface ObjectModel {
  entry: number;
  state: number;
  location: number;
  size: number;
  flags: number;
  /** Slots of the tasks hanging on it, most recent first (the order a sealer walks them); null once closed. */
  waiters: number[] | null;
}
type Phase = "waiting" | "ready" | "admit" | "reported";
interface TaskModel {
  slot: number;
  admit: boolean;
  edges: number;
  /** Arguments still pending. */
  remaining: number;
  phase: Phase;
  cancelled: boolean;
  outcome: number;
}
interface Model {
  objects: Map<number, ObjectModel>;
  tasks: Map<number, TaskModel>;
  ready: number[];
  admit: number[];
  done: number[];
  readySeq: number;
  doneSeq: number;
}
interface Real { fx: CoreFixture }

const taskAddr = (slot: number, field: number) => plan.taskTable + slot * L.TASK_BYTES + field;
/** The KEY_* of every table entry, in slot order. */
const tableKeys = (fx: CoreFixture) => Array.from({ length: OBJECTS }, (_, i) => peek(fx.core, plan.objectTable + i * L.OBJ_BYTES + L.OBJ_KEY));
const occupiedCounter = (fx: CoreFixture) => peek(fx.core, L.CORE_BASE + L.CTL_OBJECT_OCCUPIED);

// ---- model transitions shared by several commands ----

/** The model's makeReady: a cancelled task is reported skipped, others join their queue. Returns 1 for ready. */
function makeReady(m: Model, t: TaskModel): number {
  if (t.cancelled) {
    t.phase = "reported";
    t.outcome = L.OUTCOME_SKIPPED;
    m.done.push(t.slot);
    m.doneSeq++;
    return 0;
  }
  t.phase = t.admit ? "admit" : "ready";
  (t.admit ? m.admit : m.ready).push(t.slot);
  m.readySeq++;
  return t.admit ? 0 : 1;
}

function reportDone(m: Model, t: TaskModel, outcome: number): void {
  t.phase = "reported";
  t.outcome = outcome;
  m.done.push(t.slot);
  m.doneSeq++;
}

// ---- invariants ----

function walkWaiters(fx: CoreFixture, entry: number): number[] | null {
  let edge = peek(fx.core, entry + L.OBJ_WAITERS);
  if (edge === L.WAITERS_CLOSED) return null;
  const slots: number[] = [];
  while (edge > 0 && slots.length <= SLOTS * 4) {
    slots.push(peek(fx.core, edge + 4));
    edge = peek(fx.core, edge);
  }
  return slots;
}

function expectedTaskState(t: TaskModel): number {
  if (t.cancelled && t.phase !== "admit") return L.TASK_CANCELLED;
  switch (t.phase) {
    case "waiting": return L.TASK_PENDING;
    case "ready": case "admit": return L.TASK_READY;
    case "reported": return L.TASK_DONE;
  }
}

function checkInvariants(m: Model, r: Real): void {
  const { core } = r.fx;
  assert.deepEqual(ringContents(core, plan.readyQueue), m.ready, "ready queue holds exactly the released ready tasks");
  assert.deepEqual(ringContents(core, plan.admitQueue), m.admit, "admission queue");
  assert.deepEqual(ringContents(core, plan.doneQueue), m.done, "done queue");
  assert.equal(peek(core, L.CORE_BASE + L.CTL_READY_SEQ), m.readySeq, "ready sequence counts releases");
  assert.equal(peek(core, L.CORE_BASE + L.CTL_DONE_SEQ), m.doneSeq, "done sequence counts reports");
  for (const t of m.tasks.values()) {
    const deps = peek(core, taskAddr(t.slot, L.TASK_DEPS));
    assert.ok(deps >= 0, `slot ${t.slot}: dependency counter is negative (${deps})`);
    assert.equal(deps, t.phase === "waiting" ? t.remaining : 0, `slot ${t.slot}: dependency counter`);
    assert.equal(peek(core, taskAddr(t.slot, L.TASK_STATE)), expectedTaskState(t), `slot ${t.slot}: state (${t.phase})`);
  }
  for (const [k, o] of m.objects) {
    assert.equal(r.fx.wasm.objFind(...idOf(k)), o.entry, `object ${k}: found at its entry`);
    assert.equal(r.fx.wasm.objState(o.entry), o.state, `object ${k}: state`);
    if (o.state === L.OBJ_SEALED) {
      assert.equal(r.fx.wasm.objLocation(o.entry), o.location);
      assert.equal(r.fx.wasm.objSize(o.entry), o.size);
      assert.equal(r.fx.wasm.objFlags(o.entry), o.flags);
    }
    assert.deepEqual(walkWaiters(r.fx, o.entry), o.waiters, `object ${k}: waiter list`);
  }
  const keys = tableKeys(r.fx);
  keys.forEach((key, i) => {
    assert.ok(!(key === L.KEY_TOMBSTONE && keys[(i + 1) % OBJECTS] === L.KEY_EMPTY), `slot ${i}: a tombstone right before an empty slot`);
  });
  assert.equal(keys.filter((k) => k === L.KEY_USED).length, m.objects.size, "used entries match the model's objects");
  const occupied = keys.filter((k) => k !== L.KEY_EMPTY).length;
  assert.ok(occupied < OBJECTS, `one entry stays empty so that every probe ends (keys ${keys.join("")})`);
  assert.equal(occupiedCounter(r.fx), occupied, "CTL_OBJECT_OCCUPIED counts the entries that are not empty");
  if (m.objects.size === 0) assert.equal(occupied, 0, `a table with no objects is all empty (keys ${keys.join("")})`);
}

// ---- commands: one class per operation; targets are picked by index modulo the eligible set ----

abstract class CoreCommand implements fc.Command<Model, Real> {
  constructor(readonly viaTs: boolean) {}
  abstract check(m: Readonly<Model>): boolean;
  abstract apply(m: Model, r: Real): void;
  run(m: Model, r: Real): void {
    this.apply(m, r);
    checkInvariants(m, r);
  }
  protected ops(r: Real) { return r.fx.impl(this.viaTs); }
  protected get via(): string { return this.viaTs ? ",ts" : ""; }
}

const pickFrom = <T>(items: T[], pick: number): T => items[pick % items.length]!;
const objectsWhere = (m: Readonly<Model>, ok: (o: ObjectModel) => boolean) => [...m.objects].filter(([, o]) => ok(o));

class Insert extends CoreCommand {
  constructor(readonly k: number, viaTs: boolean) { super(viaTs); }
  override check = () => true;
  apply(m: Model, r: Real): void {
    const e = this.ops(r).objInsert(...idOf(this.k));
    const known = m.objects.get(this.k);
    if (known) return assert.equal(e, known.entry, "insert of a present id returns its entry");
    if (e === 0) return Insert.checkRefusal(r, this.k);
    assert.ok(m.objects.size < OBJECTS - 1, `insert succeeded with ${m.objects.size} objects in ${OBJECTS} entries: one must stay empty`);
    assert.ok(e >= plan.objectTable && e < plan.objectTable + OBJECTS * L.OBJ_BYTES && (e - plan.objectTable) % L.OBJ_BYTES === 0, `entry ${e}`);
    for (const o of m.objects.values()) assert.notEqual(o.entry, e, "two objects share an entry");
    m.objects.set(this.k, { entry: e, state: L.OBJ_PENDING, location: 0, size: 0, flags: 0, waiters: [] });
  }
  override toString = () => `insert(${this.k}${this.via})`;

  /**
   * The table may refuse an absent id only for the last empty entry: there is exactly one, and the id's probe
   * meets it before any tombstone it could reuse (entries never move, so it cannot make room elsewhere).
   */
  static checkRefusal(r: Real, k: number): void {
    const keys = tableKeys(r.fx);
    assert.equal(keys.filter((key) => key === L.KEY_EMPTY).length, 1, `insert refused with more than one empty entry (keys ${keys.join("")})`);
    let i = jsObjects.hashId(...idOf(k)) & (OBJECTS - 1);
    while (keys[i] === L.KEY_USED) i = (i + 1) % OBJECTS;
    assert.equal(keys[i], L.KEY_EMPTY, `insert refused although its probe meets a tombstone at ${i} (keys ${keys.join("")})`);
  }
}

class Find extends CoreCommand {
  constructor(readonly k: number, viaTs: boolean) { super(viaTs); }
  override check = () => true;
  apply(m: Model, r: Real): void {
    assert.equal(this.ops(r).objFind(...idOf(this.k)), m.objects.get(this.k)?.entry ?? 0);
  }
  override toString = () => `find(${this.k}${this.via})`;
}

/** Removes an object nothing waits on (the driver never removes one with waiters). */
class Remove extends CoreCommand {
  constructor(readonly pick: number, viaTs: boolean) { super(viaTs); }
  static removable = (o: ObjectModel) => o.waiters === null || o.waiters.length === 0;
  override check = (m: Readonly<Model>) => objectsWhere(m, Remove.removable).length > 0;
  apply(m: Model, r: Real): void {
    const [k, o] = pickFrom(objectsWhere(m, Remove.removable), this.pick);
    this.ops(r).objRemove(o.entry);
    m.objects.delete(k);
  }
  override toString = () => `remove(#${this.pick}${this.via})`;
}

/** Seals any live object: only a pending one is sealed (first sealer wins); others answer -1 and stay as they are. */
class Seal extends CoreCommand {
  constructor(readonly pick: number, readonly location: number, readonly size: number, readonly flags: number, viaTs: boolean) { super(viaTs); }
  override check = (m: Readonly<Model>) => m.objects.size > 0;
  apply(m: Model, r: Real): void {
    const [, o] = pickFrom([...m.objects], this.pick);
    const released = this.ops(r).objSeal(o.entry, this.location, this.size, this.flags);
    if (o.state !== L.OBJ_PENDING) return assert.equal(released, -1, "sealing an object that is not pending");
    let expected = 0;
    for (const slot of o.waiters ?? []) {
      const t = m.tasks.get(slot)!;
      assert.ok(t.phase === "waiting" && t.remaining > 0, `slot ${slot} hangs on an object but is not waiting`);
      if (--t.remaining === 0) expected += makeReady(m, t);
    }
    Object.assign(o, { state: L.OBJ_SEALED, location: this.location, size: this.size, flags: this.flags, waiters: null });
    assert.equal(released, expected, "seal reports the tasks it made ready");
  }
  override toString = () => `seal(#${this.pick},${this.location},${this.size},${this.flags}${this.via})`;
}

/** Marks a sealed object lost, as an eviction does. */
class Lose extends CoreCommand {
  constructor(readonly pick: number, viaTs: boolean) { super(viaTs); }
  static sealed = (o: ObjectModel) => o.state === L.OBJ_SEALED;
  override check = (m: Readonly<Model>) => objectsWhere(m, Lose.sealed).length > 0;
  apply(m: Model, r: Real): void {
    const [, o] = pickFrom(objectsWhere(m, Lose.sealed), this.pick);
    this.ops(r).objSetState(o.entry, L.OBJ_LOST);
    o.state = L.OBJ_LOST;
  }
  override toString = () => `lose(#${this.pick}${this.via})`;
}

/**
 * Reopens a lost object so that a rebuild can seal it again, or a pending one (as recover() does for a task's
 * other returns): a closed waiter list is reset, an open one keeps its tasks.
 */
class Reopen extends CoreCommand {
  constructor(readonly pick: number, viaTs: boolean) { super(viaTs); }
  static reopenable = (o: ObjectModel) => o.state === L.OBJ_LOST || o.state === L.OBJ_PENDING;
  override check = (m: Readonly<Model>) => objectsWhere(m, Reopen.reopenable).length > 0;
  apply(m: Model, r: Real): void {
    const [, o] = pickFrom(objectsWhere(m, Reopen.reopenable), this.pick);
    this.ops(r).objReopen(o.entry);
    Object.assign(o, { state: L.OBJ_PENDING, location: 0, size: 0, flags: 0, waiters: o.waiters ?? [] });
  }
  override toString = () => `reopen(#${this.pick}${this.via})`;
}

/** The driver fills the lowest free slot and arms it on 0–3 objects (objAddWaiter through taskArm). */
class Arm extends CoreCommand {
  constructor(readonly picks: number[], readonly admit: boolean, viaTs: boolean) { super(viaTs); }
  static armable = (o: ObjectModel) => o.state === L.OBJ_PENDING || o.state === L.OBJ_SEALED;
  override check = (m: Readonly<Model>) => m.tasks.size < SLOTS && (this.picks.length === 0 || objectsWhere(m, Arm.armable).length > 0);
  apply(m: Model, r: Real): void {
    const ops = this.ops(r);
    let slot = 0;
    while (m.tasks.has(slot)) slot++;
    const candidates = objectsWhere(m, Arm.armable);
    const deps = this.picks.map((p) => pickFrom(candidates, p)[1]);
    const edges = deps.length ? ops.arenaAlloc(deps.length * L.EDGE_BYTES) : 0;
    if (deps.length) assert.notEqual(edges, 0, "edge allocation");
    poke(r.fx.core, taskAddr(slot, L.TASK_TARGET), this.admit ? L.TARGET_ADMIT : L.TARGET_READY);
    poke(r.fx.core, taskAddr(slot, L.TASK_EDGES), edges);
    deps.forEach((o, i) => poke(r.fx.core, plan.scratch + i * 4, o.entry));
    const wentReady = ops.taskArm(slot, plan.scratch, deps.length);

    const t: TaskModel = { slot, admit: this.admit, edges, remaining: 0, phase: "waiting", cancelled: false, outcome: L.OUTCOME_NONE };
    m.tasks.set(slot, t);
    for (const o of deps) {
      if (o.waiters === null) continue; // sealed: counts as arrived
      o.waiters.unshift(slot);
      t.remaining++;
    }
    const expected = t.remaining === 0 ? makeReady(m, t) : 0;
    assert.equal(wentReady, expected, "arm reports whether it made the task ready");
  }
  override toString = () => `arm([${this.picks.map((p) => `#${p}`).join(",")}]${this.admit ? ",admit" : ""}${this.via})`;
}

/** The driver cancels a task that is waiting or sitting in the ready queue. */
class Cancel extends CoreCommand {
  constructor(readonly pick: number, viaTs: boolean) { super(viaTs); }
  static cancellable = (t: TaskModel) => !t.cancelled && (t.phase === "waiting" || t.phase === "ready");
  override check = (m: Readonly<Model>) => [...m.tasks.values()].some(Cancel.cancellable);
  apply(m: Model, r: Real): void {
    const t = pickFrom([...m.tasks.values()].filter(Cancel.cancellable), this.pick);
    const from = t.phase === "waiting" ? L.TASK_PENDING : L.TASK_READY;
    assert.equal(this.ops(r).taskCasState(t.slot, from, L.TASK_CANCELLED), from);
    t.cancelled = true;
  }
  override toString = () => `cancel(#${this.pick}${this.via})`;
}

/** A worker pops the ready queue, starts the task (skipped if cancelled) and finishes it. */
class PopReady extends CoreCommand {
  constructor(readonly worker: number, viaTs: boolean) { super(viaTs); }
  override check = () => true;
  apply(m: Model, r: Real): void {
    const ops = this.ops(r);
    const slot = ops.readyPop();
    assert.equal(slot, m.ready.length ? m.ready.shift() : -1, "ready queue order");
    if (slot < 0) return;
    const t = m.tasks.get(slot)!;
    const started = ops.taskStart(slot, this.worker);
    assert.equal(started, t.cancelled ? 0 : 1, "start fails exactly for a cancelled task");
    assert.equal(peek(r.fx.core, taskAddr(slot, L.TASK_WORKER)), this.worker);
    if (!started) return reportDone(m, t, L.OUTCOME_SKIPPED);
    ops.taskFinish(slot, L.OUTCOME_OK);
    reportDone(m, t, L.OUTCOME_OK);
  }
  override toString = () => `popReady(w${this.worker}${this.via})`;
}

/** The driver admits a task: it pops the admission queue and requeues the slot on the ready queue. */
class PopAdmit extends CoreCommand {
  override check = () => true;
  apply(m: Model, r: Real): void {
    const ops = this.ops(r);
    const slot = ops.admitPop();
    assert.equal(slot, m.admit.length ? m.admit.shift() : -1, "admission queue order");
    if (slot < 0) return;
    const t = m.tasks.get(slot)!;
    poke(r.fx.core, taskAddr(slot, L.TASK_TARGET), L.TARGET_READY);
    ops.taskRequeue(slot);
    t.admit = false;
    makeReady(m, t);
  }
  override toString = () => `popAdmit(${this.via})`;
}

/** The driver takes a report, checks its outcome and frees the slot and its edges. */
class PopDone extends CoreCommand {
  override check = () => true;
  apply(m: Model, r: Real): void {
    const ops = this.ops(r);
    const slot = ops.donePop();
    assert.equal(slot, m.done.length ? m.done.shift() : -1, "done queue order");
    if (slot < 0) return;
    const t = m.tasks.get(slot)!;
    assert.equal(peek(r.fx.core, taskAddr(slot, L.TASK_OUTCOME)), t.outcome, "outcome");
    if (t.edges) ops.arenaFree(t.edges);
    poke(r.fx.core, taskAddr(slot, L.TASK_STATE), L.TASK_FREE);
    m.tasks.delete(slot);
  }
  override toString = () => `popDone(${this.via})`;
}

const id = fc.integer({ min: 0, max: IDS - 1 });
const pick = fc.nat({ max: 63 });
const ts = fc.boolean();
const insert = fc.tuple(id, ts).map(([k, v]) => new Insert(k, v));
const commands = [
  insert, insert, insert, // weighted, so that the table fills up

  fc.tuple(id, ts).map(([k, v]) => new Find(k, v)),
  fc.tuple(pick, ts).map(([p, v]) => new Remove(p, v)),
  fc.tuple(pick, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), ts).map(([p, loc, size, flags, v]) => new Seal(p, loc, size, flags, v)),
  fc.tuple(pick, ts).map(([p, v]) => new Lose(p, v)),
  fc.tuple(pick, ts).map(([p, v]) => new Reopen(p, v)),
  fc.tuple(fc.array(pick, { maxLength: 3 }), fc.boolean(), ts).map(([ps, admit, v]) => new Arm(ps, admit, v)),
  fc.tuple(pick, ts).map(([p, v]) => new Cancel(p, v)),
  fc.tuple(fc.nat({ max: 3 }), ts).map(([w, v]) => new PopReady(w, v)),
  ts.map((v) => new PopAdmit(v)),
  ts.map((v) => new PopDone(v)),
];

const emptyModel = (): Model => ({ objects: new Map(), tasks: new Map(), ready: [], admit: [], done: [], readySeq: 0, doneSeq: 0 });

for (const seed of SEEDS) {
  test(`object table and dependency counters follow the model (seed ${seed})`, () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 200, size: "large" }), (cmds) => {
        fx.reset();
        fc.modelRun(() => ({ model: emptyModel(), real: { fx } }), cmds);
      }),
      { seed, numRuns: RUNS_PER_SEED, includeErrorInReport: true },
    );
  });
}

// Pinned regression: objReopen used to reset the waiter list unconditionally, so reopening an object that was
// still pending with tasks hanging on it (runtime.ts recover() reopens PENDING returns too) dropped their edges
// and those tasks were never released. Now only a closed list is reset.
test("reopening a pending object keeps the tasks waiting on it", () => {
  for (const useTs of [false, true]) {
    fx.reset();
    const ops = fx.impl(useTs);
    const e = ops.objInsert(...idOf(1));
    poke(fx.core, taskAddr(0, L.TASK_TARGET), L.TARGET_READY);
    poke(fx.core, taskAddr(0, L.TASK_EDGES), ops.arenaAlloc(L.EDGE_BYTES));
    poke(fx.core, plan.scratch, e);
    assert.equal(ops.taskArm(0, plan.scratch, 1), 0, "waits for its argument");
    ops.objReopen(e);
    assert.equal(ops.objSeal(e, 64, 8, 0), 1, `${useTs ? "ts" : "wasm"}: the seal releases the task`);
    assert.equal(ops.readyPop(), 0);
  }
});

// Pinned regression: objInsert used to take the last empty entry. objRemove clears only tombstones right before an
// empty entry, so once every entry had been used none was ever cleared again: a table emptied by removals stayed
// all tombstones and every miss probed all `objectCapacity` entries. Now one entry always stays empty.
test("a table that was full once gets all its empty entries back", () => {
  for (const useTs of [false, true]) {
    const which = useTs ? "ts" : "wasm";
    fx.reset();
    const ops = fx.impl(useTs);
    for (let round = 0; round < 2; round++) {
      const entries = Array.from({ length: OBJECTS }, (_, k) => ops.objInsert(...idOf(k + round * OBJECTS)));
      assert.ok(entries.slice(0, -1).every((e) => e !== 0), `${which}: the first ${OBJECTS - 1} ids fit (${entries.join(",")})`);
      assert.equal(entries[OBJECTS - 1], 0, `${which}: the last empty entry is never taken`);
      assert.equal(occupiedCounter(fx), OBJECTS - 1, `${which}: occupied counter of a full table`);
      assert.equal(ops.objFind(...idOf(1000)), 0, `${which}: a miss in a full table ends at the empty entry`);
      for (const e of entries) if (e !== 0) ops.objRemove(e);
      const keys = tableKeys(fx);
      assert.ok(keys.every((k) => k === L.KEY_EMPTY), `${which}, round ${round}: keys after removing everything: ${keys.join("")}`);
      assert.equal(occupiedCounter(fx), 0, `${which}: occupied counter of an emptied table`);
    }
  }
});
