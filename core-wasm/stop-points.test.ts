// A worker thread terminated at any point where V8 can stop it loses no arena memory: after the driver reclaims
// its record (workerReclaim), every byte of the arena is again either handed out to a live owner or free.
// Deterministic: the stop-points build of the core (build/core-stops.wasm, `npm run asbuild`) calls the host at
// every function entry and loop head of the code a worker runs while it holds arena blocks; the host throws at
// the n-th such point, which unwinds the wasm and leaves the shared memory as a thread terminated there would.
// Each scenario is run once per stop point it passes, dying at that point, until it runs through.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { planLayout, applyWasmWorkarounds, type CoreExports, type CorePlan } from "../engine/wasm/core.js";
import * as L from "./shared/layout.js";

class Terminated extends Error {}

const WORKER = 1;
/** One block of the largest class the tests split (2^15 bytes): the whole arena, so that nothing comes from the bump pointer after it. */
const ARENA_BYTES = 1 << 15;
const BIG = ARENA_BYTES - L.BLOCK_HEADER;
const SMALL = 24; // class 0 with its header

applyWasmWorkarounds();
const module = new WebAssembly.Module(readFileSync(new URL("../build/core-stops.wasm", import.meta.url)));

interface Sim {
  x: CoreExports;
  plan: CorePlan;
  u32: Uint32Array;
  /** Throw at the n-th stop point from now on (Infinity: never). */
  dieAt(n: number): void;
  /** Stop points passed since the last dieAt. */
  passed(): number;
}

function makeCore(): Sim {
  const plan = planLayout({ taskSlots: 16, objectCapacity: 64, arenaBytes: ARENA_BYTES, workers: 4 });
  const memory = new WebAssembly.Memory({ initial: plan.pages, maximum: plan.pages, shared: true });
  let left = Infinity, count = 0;
  const stopPoint = () => { count++; if (--left === 0) throw new Terminated(`stopped at point ${count}`); };
  const x = new WebAssembly.Instance(module, { env: { memory, stopPoint } }).exports as unknown as CoreExports;
  x.coreInit(
    plan.readyQueue, plan.admitQueue, plan.doneQueue, plan.taskSlots, plan.taskTable, plan.taskSlots, plan.objectTable,
    plan.objectCapacity, plan.freeLists, plan.arenaStart, plan.arenaEnd, plan.workerTable, plan.workers,
  );
  return {
    x, plan, u32: new Uint32Array(memory.buffer),
    dieAt(n) { left = n; count = 0; },
    passed: () => count,
  };
}

/** The blocks on the arena's free lists, by address, with their sizes; a block listed twice fails the test. */
function freeBlocks(s: Sim): Map<number, number> {
  const blocks = new Map<number, number>();
  for (let cls = 0; cls < L.ARENA_CLASSES; cls++) {
    const size = 1 << (cls + L.ARENA_MIN_SHIFT);
    for (let b = s.u32[(s.plan.freeLists + cls * 8) >> 2]!; b !== 0; b = s.u32[b >> 2]!) {
      assert.ok(!blocks.has(b), `block ${b} is on the free lists twice (freed twice)`);
      assert.ok(blocks.size < 1 << 16, "a free list loops");
      blocks.set(b, size);
    }
  }
  return blocks;
}

/** Every arena byte is free (on a list or never handed out) or counted as used, and the free blocks do not overlap. */
function assertAccounted(s: Sim, what: string, usedByOthers = 0): void {
  const blocks = freeBlocks(s);
  let listed = 0;
  let end = 0;
  for (const [at, size] of [...blocks].sort((a, b) => a[0] - b[0])) {
    assert.ok(at >= end, `${what}: free blocks overlap at ${at}`);
    end = at + size;
    listed += size;
  }
  assert.equal(s.x.arenaUsed(), usedByOthers, `${what}: only the live owners' blocks are counted as used`);
  assert.equal(listed + s.x.arenaFresh() + usedByOthers, ARENA_BYTES, `${what}: every byte is free or a live owner's (${listed} listed, ${s.x.arenaFresh()} fresh, ${usedByOthers} held)`);
}

/** An arena whose only free memory is one block of the largest class, on its free list: any smaller allocation splits it. */
function oneBigFreeBlock(): Sim {
  const s = makeCore();
  const big = s.x.arenaAlloc(BIG);
  assert.notEqual(big, 0);
  assert.equal(s.x.arenaFresh(), 0, "the bump pointer has nothing left");
  s.x.arenaFree(big);
  return s;
}

/**
 * Runs `setup` then, on a fresh core each time, `step` as the worker dying at its 1st, 2nd, ... stop point, then
 * the driver's reclaim; checks the arena after each. Returns how many stop points the step passes.
 */
function dieEverywhere(setup: () => { s: Sim; usedByOthers: number }, step: (s: Sim) => void, check?: (s: Sim) => void): number {
  for (let n = 1; n < 10_000; n++) {
    const { s, usedByOthers } = setup();
    s.dieAt(n);
    let died = false;
    try { step(s); } catch (error) { if (!(error instanceof Terminated)) throw error; died = true; }
    s.dieAt(Infinity);
    if (!died) {
      check?.(s);
      return n - 1;
    }
    s.x.workerReclaim(WORKER);
    assertAccounted(s, `died at stop point ${n}`, usedByOthers);
  }
  throw new Error("the step never ran through");
}

test("a worker dying anywhere in an allocation that splits a larger block leaves the whole block reclaimable", () => {
  const points = dieEverywhere(() => ({ s: oneBigFreeBlock(), usedByOthers: 0 }), (s) => {
    assert.notEqual(s.x.arenaAllocFor(SMALL, WORKER), 0);
  }, (s) => {
    s.x.workerReclaim(WORKER); // it died holding the block it allocated: that block goes back too
    assertAccounted(s, "ran through, then died");
  });
  assert.ok(points >= 10, `the split passes a stop point per half it pushes back (${points})`);
});

test("a worker whose seal is lost keeps its block named until the driver frees it, whenever it dies", () => {
  const setup = () => {
    const s = makeCore();
    const entry = s.x.objInsert(7, 0);
    const first = s.x.arenaAlloc(SMALL);
    assert.ok(s.x.objSeal(entry, first, SMALL, 0) >= 0, "the driver sealed it first (a cancellation's error)");
    return { s, usedByOthers: 32, entry };
  };
  let block = 0;
  dieEverywhere(setup, (s) => {
    block = s.x.arenaAllocFor(SMALL, WORKER);
    assert.equal(s.x.objSealBy(s.x.objFind(7, 0), block, SMALL, 0, WORKER), -1, "the late seal is lost");
  }, (s) => {
    // Ran through: the worker now posts the block to the driver; whether it dies before or after the driver
    // frees it, the block goes back exactly once.
    s.x.workerReclaim(WORKER);
    assertAccounted(s, "died before the driver took the block", 32);
  });
  const { s } = setup();
  block = s.x.arenaAllocFor(SMALL, WORKER);
  assert.equal(s.x.objSealBy(s.x.objFind(7, 0), block, SMALL, 0, WORKER), -1);
  s.x.workerBlockTaken(WORKER, block); // the driver handles the worker's "drop" message
  s.x.arenaFree(block);
  s.x.workerReclaim(WORKER);
  assertAccounted(s, "the driver freed the block, then the worker died", 32);
});

test("a worker dying anywhere while it makes its held list (a split) and holds a block leaves nothing unnamed", () => {
  const setup = () => {
    const s = oneBigFreeBlock();
    const value = s.x.arenaAllocFor(SMALL, WORKER); // splits the big block: one free block of each smaller class
    const taken = s.x.arenaAlloc(SMALL); // the driver takes the last class-0 block: the list's allocation must split
    assert.notEqual(taken, 0);
    return { s, usedByOthers: 32, value };
  };
  const points = dieEverywhere(setup, (s) => {
    const value = s.u32[(s.plan.workerTable + WORKER * L.WORKER_BYTES + L.WORKER_BLOCK) >> 2]!;
    assert.notEqual(s.x.workerDefer(WORKER, value, 1), 0, "held");
  }, (s) => {
    s.x.workerReclaim(WORKER);
    assertAccounted(s, "held, then died", 32);
  });
  assert.ok(points >= 3, `the list's allocation splits (${points} stop points)`);
});

test("a block that cannot be held (no room for a list) stays the worker's open block", () => {
  const s = makeCore();
  const value = s.x.arenaAllocFor(BIG, WORKER); // the whole arena: no list can be made
  assert.notEqual(value, 0);
  assert.equal(s.x.workerHeldRoom(WORKER, 1), 0, "no room");
  assert.equal(s.x.workerDefer(WORKER, value, 1), 0, "not held");
  s.x.workerReclaim(WORKER);
  assertAccounted(s, "died with the block it could not hold");
});

test("held blocks given up by a worker are freed by the driver once, whether or not the worker dies after", () => {
  const s = makeCore();
  const blocks = [s.x.arenaAllocFor(SMALL, WORKER)];
  const list = s.x.workerDefer(WORKER, blocks[0]!, 2);
  blocks.push(s.x.arenaAllocFor(SMALL, WORKER));
  assert.equal(s.x.workerDefer(WORKER, blocks[1]!, 2), list, "the same list holds both");
  s.x.workerHeldPosted(WORKER, list); // posted in a "drop" message; the driver has not read it yet
  s.x.workerHeldDropped(WORKER, list);
  s.x.workerReclaim(WORKER);
  assertAccounted(s, "dropped, then died");
});
