// Stress of the core's queues with real threads on rings of a handful of cells (issue 23): several producer and
// consumer threads on a ring that is full most of the time, every item delivered exactly once; then consumers
// terminated mid-pop, as the driver kills a worker:
// - a plain pop (queuePop) is one step for a terminated thread: a consumer dies before it claims a cell or after
//   it handed the cell back, never in between (V8 stops a thread's WebAssembly only at function entries and loop
//   heads, and none sits between the claim and the hand-back), so the ring never wedges. What a dead consumer
//   popped and had not recorded is lost: nothing in a plain queue can tell, and the engine never relies on it;
// - the ready queue is what the engine relies on: readyTake pops and claims a task in one step (its slot RUNNING
//   with the worker's index), so what a dead worker took is found in the task table and retried, as
//   WorkerProtocol.onWorkerExit does. Checked exactly: every task reported done once, run twice only if retried.
// This file is both the test (main thread) and the threads' entry (loaded again inside each worker).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { isMainThread, parentPort, workerData, Worker } from "node:worker_threads";
import { Core, type CoreHandle } from "../engine/wasm/core.js";
import * as L from "./shared/layout.js";

// ---- shared between the threads ----

type Job =
  /** `holdLast`: the last item waits for STOP, so that consumers are still running when the test kills them. */
  | { kind: "produce"; producer: number; items: number; holdLast?: boolean }
  | { kind: "consume"; producers: number; items: number }
  /** `holdAt`: on its holdAt-th task, the worker stops while it holds it (RUNNING), until it is terminated. */
  | { kind: "take"; worker: number; holdAt?: number }
  | { kind: "drive"; tasks: number }
  /** Takes the one ready task, then (once the main thread says the done ring is full) reports it: the push waits. */
  | { kind: "finish-blocked"; worker: number }
  /** Seals an object (once the main thread says the ready ring is full): the first waiter's push waits. */
  | { kind: "seal-blocked"; worker: number; entry: number };
interface Report {
  ok: boolean; error?: string; full?: number; empty?: number; popped?: number; orderViolations?: number;
  taken?: number; reported?: number; recovered?: number; badState?: number;
}

/** Cells per ring (= task slots): small, so that producers find it full and consumers find it empty often. */
const CELLS = 8;
// Bookkeeping words (i32 indices into `book`), each on its own cache line.
const GO = 0, STARTED = 16, POPPED = 32, STOP = 48, ABORT = 64, RECOVER = 80, RECOVERED = 96, PRODUCED = 112;
/** Set by the main thread once it has killed every worker it meant to: the driver serves recoveries until then. */
const KILLS_DONE = 128;
/** Per worker: 1 once it stopped holding a task (see holdAt). */
const HOLDING = 144;
/** The blocked-push cases: the main thread filled the ring (GATE), the worker is about to push (AT_PUSH). */
const GATE = 160, AT_PUSH = 176;
const BOOK_HEADER = 256;
/** Recovered task ids, after the per-item counters. */
const MAX_ITEMS = 200_000;
const RECOVERED_LIST = BOOK_HEADER + MAX_ITEMS;

interface Shared { handle: CoreHandle; book: SharedArrayBuffer }

/** Announce, then wait until the main thread lets every thread go at once. */
function startBarrier(book: Int32Array): void {
  Atomics.add(book, STARTED, 1);
  Atomics.notify(book, STARTED);
  while (Atomics.load(book, GO) === 0) Atomics.wait(book, GO, 0, 50);
}

const aborted = (book: Int32Array) => Atomics.load(book, ABORT) !== 0;

/**
 * A little work on what a consumer holds, so that a thread killed at a random moment often dies holding something.
 * It calls into the core: a terminated thread stops at a call's entry, while an optimised loop without calls may
 * run to its end.
 */
let sink = 0;
function work(core: Core, rounds: number): void {
  for (let i = 0; i < rounds; i++) sink = (sink + core.exports.arenaUsed()) | 0;
}

/** Pushes producer*items .. +items-1 onto the ready ring, in order, retrying while it is full. */
function produce(core: Core, book: Int32Array, job: Extract<Job, { kind: "produce" }>): Report {
  const q = core.plan.readyQueue;
  const push = core.exports.queuePush;
  let full = 0;
  for (let k = 0; k < job.items && !aborted(book); k++) {
    if (k === job.items - 1 && job.holdLast) while (Atomics.load(book, STOP) === 0 && !aborted(book)) Atomics.wait(book, STOP, 0, 5);
    const v = job.producer * job.items + k;
    while (push(q, v) !== 1) {
      full++;
      if ((full & 1023) === 0 && aborted(book)) break;
    }
  }
  Atomics.add(book, PRODUCED, 1);
  return { ok: true, full };
}

/**
 * Pops and counts each value in its own word, until the ring is empty after every producer finished (read before
 * the pop: a pop that finds the ring empty after that read has seen every push). Not a count of values: a
 * consumer that dies between its pop and its count must not keep the others waiting for it.
 */
function consume(core: Core, book: Int32Array, job: Extract<Job, { kind: "consume" }>): Report {
  const q = core.plan.readyQueue;
  const pop = core.exports.queuePop;
  const lastFrom = new Array<number>(job.producers).fill(-1);
  let popped = 0, empty = 0, orderViolations = 0;
  while (!aborted(book)) {
    const finished = Atomics.load(book, PRODUCED) === job.producers;
    const v = pop(q);
    if (v < 0) {
      empty++;
      if (finished) break;
      continue;
    }
    work(core, 4);
    Atomics.add(book, BOOK_HEADER + v, 1);
    // FIFO: one consumer sees each producer's values in the order it pushed them.
    const producer = Math.floor(v / job.items);
    if (v <= lastFrom[producer]!) orderViolations++;
    lastFrom[producer] = v;
    popped++;
    Atomics.add(book, POPPED, 1);
  }
  return { ok: true, popped, empty, orderViolations };
}

/**
 * A worker, as the engine's TaskPump and TaskCompleter do it: takes a ready task (pop and claim in one call),
 * runs it (counts its id), reports it done. Until STOP.
 */
function take(core: Core, book: Int32Array, job: Extract<Job, { kind: "take" }>): Report {
  const x = core.exports;
  let taken = 0, badState = 0, idle = 0;
  while (Atomics.load(book, STOP) === 0 && !aborted(book)) {
    const slot = x.readyTake(job.worker);
    if (slot < 0) {
      if (slot === -2) badState++; else idle++;
      continue;
    }
    const id = core.taskField(slot, L.TASK_ID_LO);
    work(core, 16);
    Atomics.add(book, BOOK_HEADER + id, 1);
    if (++taken === job.holdAt) {
      Atomics.store(book, HOLDING + job.worker, 1);
      while (!aborted(book)) Atomics.wait(book, ABORT, 0, 50); // a task that never ends: killed while running
    }
    work(core, 16);
    x.taskFinish(slot, L.OUTCOME_OK);
  }
  return { ok: true, taken, badState, empty: idle };
}

/**
 * The driver's part: takes done reports and gives each slot the next task id; and, when the main thread says a
 * worker died (RECOVER = its index + 1), requeues the task it had claimed and never reported, as the engine's
 * onWorkerExit retries it. Stops everyone once every task was reported done.
 */
function drive(core: Core, book: Int32Array, job: Extract<Job, { kind: "drive" }>): Report {
  const x = core.exports;
  let next = CELLS, reported = 0, recovered = 0, badState = 0;
  const field = (slot: number, f: number) => core.taskField(slot, f);
  while ((reported < job.tasks || Atomics.load(book, KILLS_DONE) === 0) && !aborted(book)) {
    const dead = Atomics.load(book, RECOVER);
    if (dead !== 0) {
      for (let slot = 0; slot < CELLS; slot++) {
        if (field(slot, L.TASK_STATE) !== L.TASK_RUNNING || field(slot, L.TASK_WORKER) !== dead - 1) continue;
        book[RECOVERED_LIST + recovered++] = field(slot, L.TASK_ID_LO);
        x.taskRequeue(slot);
      }
      Atomics.store(book, RECOVERED, recovered);
      Atomics.store(book, RECOVER, 0); // the main thread waits for this before it kills the next one
    }
    const slot = x.donePop();
    if (slot < 0) continue;
    if (field(slot, L.TASK_STATE) !== L.TASK_DONE || field(slot, L.TASK_OUTCOME) !== L.OUTCOME_OK) badState++;
    reported++;
    Atomics.store(book, POPPED, reported);
    if (next < job.tasks) {
      core.setTaskField(slot, L.TASK_ID_LO, next++);
      x.taskRequeue(slot);
    }
  }
  Atomics.store(book, STOP, 1);
  return { ok: true, reported, recovered, badState };
}

/** Takes the ready task, waits for the gate, reports it done: that push meets a full done ring and waits. */
function finishBlocked(core: Core, book: Int32Array, job: Extract<Job, { kind: "finish-blocked" }>): Report {
  const slot = core.exports.readyTake(job.worker);
  if (slot < 0) return { ok: false, error: `readyTake found nothing (${slot})` };
  while (Atomics.load(book, GATE) === 0) Atomics.wait(book, GATE, 0, 50);
  Atomics.store(book, AT_PUSH, 1);
  core.exports.taskFinish(slot, L.OUTCOME_OK); // returns only if the main thread makes room
  return { ok: true };
}

/** Waits for the gate, seals the object: releasing its first waiter meets a full ready ring and waits. */
function sealBlocked(core: Core, book: Int32Array, job: Extract<Job, { kind: "seal-blocked" }>): Report {
  while (Atomics.load(book, GATE) === 0) Atomics.wait(book, GATE, 0, 50);
  Atomics.store(book, AT_PUSH, 1);
  core.exports.objSealBy(job.entry, 0, 0, 0, job.worker);
  return { ok: true };
}

function workerMain(): void {
  const { handle, book: buffer } = workerData as Shared;
  const core = Core.attach(handle);
  const book = new Int32Array(buffer);
  parentPort!.on("message", (job: Job) => {
    let report: Report;
    try {
      startBarrier(book);
      report = job.kind === "produce" ? produce(core, book, job)
        : job.kind === "consume" ? consume(core, book, job)
        : job.kind === "take" ? take(core, book, job)
        : job.kind === "finish-blocked" ? finishBlocked(core, book, job)
        : job.kind === "seal-blocked" ? sealBlocked(core, book, job)
        : drive(core, book, job);
    } catch (error) {
      report = { ok: false, error: String((error as Error).stack ?? error) };
    }
    parentPort!.postMessage(report);
  });
  parentPort!.postMessage({ ok: true } satisfies Report);
}

// ---- the main thread: the tests ----

function mainTests(): void {
  const { core, handle } = Core.create({ taskSlots: CELLS, objectCapacity: 1 << 6, arenaBytes: 1 << 20, workers: 8 });
  const plan = core.plan;
  const x = core.exports;
  const bookBuffer = new SharedArrayBuffer((RECOVERED_LIST + 1024) * 4);
  const book = new Int32Array(bookBuffer);
  /** Threads started and not yet used by a test; a test that terminates some leaves the rest here. */
  let spare: Worker[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  function resetCore(): void {
    core.i32.fill(0, L.CORE_BASE >> 2, plan.arenaStart >> 2);
    x.coreInit(plan.readyQueue, plan.admitQueue, plan.doneQueue, plan.taskSlots, plan.taskTable, plan.taskSlots,
      plan.objectTable, plan.objectCapacity, plan.freeLists, plan.arenaStart, plan.arenaEnd, plan.workerTable, plan.workers);
    book.fill(0);
  }

  function spawn(): Promise<Worker> {
    const tsx = import.meta.resolve("tsx/esm/api");
    // tsx does not reach worker threads on Node 20: register it inside the thread, then load this file.
    const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const w = new Worker(code, { eval: true, workerData: { handle, book: bookBuffer } satisfies Shared });
    return new Promise((resolve, reject) => { w.once("message", () => resolve(w)); w.once("error", reject); });
  }

  /** `n` started threads: spares first, then new ones. */
  async function threads(n: number): Promise<Worker[]> {
    const have = spare.splice(0, n);
    return [...have, ...await Promise.all(Array.from({ length: n - have.length }, spawn))];
  }

  /**
   * Sends each thread its job, lets them all go at once, and resolves with each report (undefined for a thread
   * that was terminated). A run that delivers nothing for `stallMs` is aborted and fails, with the rings'
   * positions for a diagnosis: a ring wedged by a consumer that died between its claim and its hand-back stops
   * every thread in a spin, and a lost task leaves the driver waiting for its report.
   */
  async function run(pool: Worker[], jobs: Job[], stallMs: number, during?: () => Promise<void>): Promise<Array<Report | undefined>> {
    const reports = pool.map((w, i) => new Promise<Report | undefined>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
      w.once("exit", () => resolve(undefined));
      w.postMessage(jobs[i]);
    }));
    while (Atomics.load(book, STARTED) < pool.length) await sleep(1);
    Atomics.store(book, GO, 1);
    Atomics.notify(book, GO);
    let settled = false;
    const all = Promise.all([Promise.all(reports), during?.()]).then(([r]) => r).finally(() => { settled = true; });
    const stalled = (async () => {
      let last = -1, since = performance.now();
      while (!settled) {
        const now = Atomics.load(book, POPPED);
        if (now !== last) { last = now; since = performance.now(); }
        if (performance.now() - since > stallMs) return "stalled" as const;
        await sleep(20);
      }
      return "settled" as const;
    })();
    const first = await Promise.race([all, stalled]);
    if (typeof first === "string") {
      Atomics.store(book, ABORT, 1);
      const ring = (q: number) => `enq ${core.i32[(q + L.QUEUE_ENQ) >> 2]}, deq ${core.i32[(q + L.QUEUE_DEQ) >> 2]}`;
      await Promise.all(pool.map((w) => w.terminate()));
      assert.fail(`nothing delivered for ${stallMs} ms (${Atomics.load(book, POPPED)} delivered; ready ring ${ring(plan.readyQueue)}, done ring ${ring(plan.doneQueue)})`);
    }
    for (const r of first) if (r) assert.ok(r.ok, r.error);
    return first;
  }

  /** Every cell of a quiet ring is handed back to producers: its sequence is its position (free) or position + 1 (full). */
  function assertRingConsistent(q: number): void {
    const enq = core.i32[(q + L.QUEUE_ENQ) >> 2]!, deq = core.i32[(q + L.QUEUE_DEQ) >> 2]!;
    for (let pos = enq - CELLS; pos < enq; pos++) {
      const seq = core.i32[(q + L.QUEUE_HEADER_BYTES + (pos & (CELLS - 1)) * L.QUEUE_CELL_BYTES) >> 2]!;
      const queued = pos >= deq;
      assert.equal(seq, queued ? pos + 1 : pos + CELLS, `cell of position ${pos} (${queued ? "queued" : "popped"})`);
    }
  }

  before(async () => { spare = await Promise.all(Array.from({ length: 6 }, spawn)); });
  after(async () => { await Promise.all(spare.map((w) => w.terminate())); });

  test(`3 producers and 3 consumers on a ring of ${CELLS} cells: every item popped exactly once, in each producer's order`, { timeout: 120_000 }, async (t) => {
    resetCore();
    const producers = 3, consumers = 3, items = 30_000, total = producers * items;
    const pool = await threads(producers + consumers);
    const jobs: Job[] = [
      ...Array.from({ length: producers }, (_, p): Job => ({ kind: "produce", producer: p, items })),
      ...Array.from({ length: consumers }, (): Job => ({ kind: "consume", producers, items })),
    ];
    const reports = (await run(pool, jobs, 10_000)) as Report[];
    spare.push(...pool);
    const consumed = reports.slice(producers);
    assert.equal(consumed.reduce((a, r) => a + r.popped!, 0), total, "values popped in all");
    assert.equal(consumed.reduce((a, r) => a + r.orderViolations!, 0), 0, "a consumer saw a producer's values out of order");
    let missing = 0, twice = 0;
    for (let v = 0; v < total; v++) {
      const n = book[BOOK_HEADER + v]!;
      if (n === 0) missing++;
      if (n > 1) twice++;
    }
    assert.deepEqual({ missing, twice }, { missing: 0, twice: 0 });
    t.diagnostic(`ring found full ${reports.slice(0, producers).reduce((a, r) => a + r.full!, 0)} times, empty ${consumed.reduce((a, r) => a + r.empty!, 0)} times`);
    // The point of a small ring: producers met it full and consumers met it empty, many times.
    assert.ok(reports.slice(0, producers).reduce((a, r) => a + r.full!, 0) > 0, "the ring was found full");
    assert.ok(consumed.reduce((a, r) => a + r.empty!, 0) > 0, "the ring was found empty");
    assert.equal(x.queueLength(plan.readyQueue), 0);
    assertRingConsistent(plan.readyQueue);
  });

  test("consumers terminated mid-pop never wedge the ring; each loses at most the one value it held", { timeout: 120_000 }, async (t) => {
    resetCore();
    const producers = 2, consumers = 4, kills = 3, items = 30_000, total = producers * items;
    const pool = await threads(producers + consumers);
    const jobs: Job[] = [
      ...Array.from({ length: producers }, (_, p): Job => ({ kind: "produce", producer: p, items, holdLast: true })),
      ...Array.from({ length: consumers }, (): Job => ({ kind: "consume", producers, items })),
    ];
    const killed: number[] = [];
    const reports = await run(pool, jobs, 10_000, async () => {
      for (let k = 0; k < kills; k++) {
        while (Atomics.load(book, POPPED) < Math.min(total - producers, ((k + 1) * total) / (kills + 2))) await sleep(1);
        const c = k; // consumers 0..kills-1 die, one at a time, while values flow
        await pool[producers + c]!.terminate();
        killed.push(c);
      }
      Atomics.store(book, STOP, 1); // the producers' last values: the survivors drain the ring and end
    });
    spare.push(...pool.filter((_, i) => i < producers || i >= producers + kills));
    assert.deepEqual(killed, [0, 1, 2]);
    for (let c = 0; c < kills; c++) assert.equal(reports[producers + c], undefined, `consumer ${c} was terminated before its end`);
    let missing = 0, twice = 0;
    for (let v = 0; v < total; v++) {
      const n = book[BOOK_HEADER + v]!;
      if (n === 0) missing++;
      if (n > 1) twice++;
    }
    t.diagnostic(`${missing} of ${total} values lost to ${kills} terminated consumers`);
    assert.equal(twice, 0, "no value was popped twice");
    assert.ok(missing <= kills, `${missing} values lost to ${kills} terminated consumers (at most one each)`);
    assert.equal(x.queueLength(plan.readyQueue), 0, "every pushed value was popped: no cell was left claimed");
    assertRingConsistent(plan.readyQueue);
  });

  test("workers terminated while taking tasks: each task reported done exactly once, run twice only when retried", { timeout: 120_000 }, async (t) => {
    resetCore();
    // Workers 0..kills-1 die: the even ones while they hold a task (as a crash mid-task), the odd ones at whatever
    // moment the kill lands, mostly in the middle of taking (readyTake) while nothing is ready.
    const workers = 5, kills = 4, tasks = 60_000;
    // Tasks 0..CELLS-1 are ready in the slots at the start; the driver gives each reported slot the next id.
    for (let slot = 0; slot < CELLS; slot++) {
      core.setTaskField(slot, L.TASK_ID_LO, slot);
      core.setTaskField(slot, L.TASK_TARGET, L.TARGET_READY);
      x.taskRequeue(slot);
    }
    const pool = await threads(workers + 1);
    const jobs: Job[] = [
      { kind: "drive", tasks },
      ...Array.from({ length: workers }, (_, w): Job => ({ kind: "take", worker: w, holdAt: w < kills && w % 2 === 0 ? 1 : undefined })),
    ];
    let heldKills = 0;
    const reports = await run(pool, jobs, 10_000, async () => {
      for (let k = 0; k < kills; k++) {
        while (Atomics.load(book, POPPED) < ((k + 1) * tasks) / (kills + 2)) await sleep(1);
        // A holding victim took its first task long ago, unless it never got the CPU to take one.
        if (Atomics.load(book, HOLDING + k) !== 0) heldKills++;
        await pool[1 + k]!.terminate();
        // As onWorkerExit: once the thread is gone, what it claimed and never reported is retried.
        Atomics.store(book, RECOVER, k + 1);
        while (Atomics.load(book, RECOVER) !== 0) await sleep(1);
      }
      Atomics.store(book, KILLS_DONE, 1);
    });
    spare.push(pool[0]!, ...pool.slice(1 + kills));
    const driver = reports[0]!;
    assert.equal(driver.reported, tasks, "every task was reported done exactly once");
    assert.equal(driver.badState, 0, "every report found its slot DONE and OK");
    assert.ok(driver.recovered! <= kills, `${driver.recovered} tasks retried for ${kills} dead workers (at most one each)`);
    assert.ok(driver.recovered! >= heldKills, `the ${heldKills} tasks held by workers killed mid-task were retried`);
    assert.ok(heldKills > 0, "a worker was killed while it held a task");
    const retried = new Set(Array.from(book.subarray(RECOVERED_LIST, RECOVERED_LIST + driver.recovered!)));
    let unrun = 0, twice = 0, unexplained = 0;
    for (let id = 0; id < tasks; id++) {
      const n = book[BOOK_HEADER + id]!;
      if (n === 0) unrun++;
      if (n === 2) twice++;
      if (n > 2 || n === 2 && !retried.has(id)) unexplained++;
    }
    assert.deepEqual({ unrun, unexplained }, { unrun: 0, unexplained: 0 }, "every task ran; twice only if retried after its worker died");
    assert.ok(twice <= driver.recovered!);
    t.diagnostic(`${driver.recovered} tasks retried after ${kills} deaths (${heldKills} while holding one), ${twice} of them had run before the death`);
    for (const r of reports.slice(1 + kills)) assert.equal(r!.badState, 0);
    // Quiet now: the slots are in the done ring (the last reports), none lost and none twice.
    const seen = new Array<number>(CELLS).fill(0);
    for (const q of [plan.readyQueue, plan.doneQueue]) for (let s; (s = x.queuePop(q)) >= 0;) seen[s]!++;
    assert.deepEqual(seen, new Array<number>(CELLS).fill(0), "the driver took every report; no slot is left queued");
    assertRingConsistent(plan.readyQueue);
    assertRingConsistent(plan.doneQueue);
  });

  // ---- a worker terminated with a push begun: the slot's state says queued, but it is in no queue yet ----
  // A push waits while the cell it needs is not handed back; the wait's loop head is where V8 stops a terminated
  // thread. Filling a ring with stand-in values holds the push there, so the thread is terminated exactly there.

  /** Fills `q` with stand-ins (values no task slot has) until it is full; returns how many. */
  function fillRing(q: number): number {
    let n = 0;
    while (x.queuePush(q, 1000 + n) === 1) n++;
    return n;
  }

  /** Pops the stand-ins that fillRing pushed (they are first in the ring), so that the ring has room again. */
  function drainStandIns(q: number, n: number): void {
    for (let i = 0; i < n; i++) assert.equal(x.queuePop(q), 1000 + i, "a stand-in, in order");
  }

  /** Runs `job` on one thread, holds its push at the gate's full ring, and terminates it there. */
  async function killAtPush(job: Job, fill: () => void): Promise<void> {
    const [w] = await threads(1);
    const report = new Promise<unknown>((resolve) => { w!.once("message", resolve); w!.once("exit", resolve); });
    w!.postMessage(job);
    while (Atomics.load(book, STARTED) < 1) await sleep(1);
    Atomics.store(book, GO, 1);
    Atomics.notify(book, GO);
    fill();
    Atomics.store(book, GATE, 1);
    Atomics.notify(book, GATE);
    while (Atomics.load(book, AT_PUSH) === 0) await sleep(1);
    await sleep(20); // it is spinning in the push now: nothing else can stop it
    await w!.terminate();
    await report;
  }

  const field = (slot: number, f: number) => core.taskField(slot, f);

  test("a worker terminated while its report waits for room: the driver finishes the push from its record", { timeout: 60_000 }, async () => {
    resetCore();
    const worker = 3, slot = 5;
    core.setTaskField(slot, L.TASK_TARGET, L.TARGET_READY);
    x.taskRequeue(slot);
    let standIns = 0;
    await killAtPush({ kind: "finish-blocked", worker }, () => { standIns = fillRing(plan.doneQueue); });
    assert.equal(field(slot, L.TASK_STATE), L.TASK_DONE, "it died after marking the slot done, so the driver's retry skips it");
    drainStandIns(plan.doneQueue, standIns);
    assert.equal(x.donePop(), -1, "its report never landed");
    x.workerReclaim(worker);
    assert.equal(x.donePop(), slot, "the driver finished the push its record named");
    assert.equal(x.donePop(), -1, "once");
  });

  test("a worker terminated while releasing a sealed object's waiters: the driver releases the rest", { timeout: 60_000 }, async () => {
    resetCore();
    const worker = 4, waiters = [2, 6, 7];
    const entry = x.objInsert(77, 0);
    for (const slot of waiters) {
      core.setTaskField(slot, L.TASK_TARGET, L.TARGET_READY);
      core.setTaskField(slot, L.TASK_EDGES, x.arenaAlloc(L.EDGE_BYTES));
      core.i32[plan.scratch >> 2] = entry;
      assert.equal(x.taskArm(slot, plan.scratch, 1), 0, `task ${slot} waits for the object`);
    }
    let standIns = 0;
    await killAtPush({ kind: "seal-blocked", worker, entry }, () => { standIns = fillRing(plan.readyQueue); });
    assert.equal(x.objState(entry), L.OBJ_SEALED, "it died after sealing");
    drainStandIns(plan.readyQueue, standIns);
    assert.equal(x.readyPop(), -1, "the waiter it was releasing is marked ready but in no queue, the others still wait");
    assert.equal(x.workerReclaim(worker), waiters.length, "the driver made every waiter ready");
    const ready: number[] = [];
    for (let s; (s = x.readyPop()) >= 0;) ready.push(s);
    assert.deepEqual(ready.sort(), [...waiters].sort(), "each waiter is in the ready ring once");
    for (const slot of waiters) assert.equal(field(slot, L.TASK_STATE), L.TASK_READY);
  });
}

if (isMainThread) mainTests();
else if ((workerData as Partial<Shared> | undefined)?.book) workerMain();
