// Model-based test of the arena allocator: the model is the list of live blocks, a LIFO stack of freed blocks
// per size class (split down from a larger class when a class and the bump pointer are empty) and the bump
// pointer. A small arena so that exhaustion is reached; each command runs on the
// wasm or the TS allocator over the same free lists. Invariants are checked after every step.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as L from "../../core-wasm/shared/layout.js";
import { createCoreFixture, peek, SEEDS, RUNS_PER_SEED, type CoreFixture } from "./core-fixture.js";

const ARENA_BYTES = 1 << 15;
const fx = createCoreFixture({ taskSlots: 4, objectCapacity: 8, arenaBytes: ARENA_BYTES });
const { arenaStart, arenaEnd, freeLists } = fx.core.plan;

interface Block { ptr: number; bytes: number; cls: number; tag: number }
interface ArenaModel {
  live: Block[];
  /** Freed block addresses per class, most recent last: the next allocation of that class takes it. */
  free: number[][];
  bump: number;
  used: number;
  tags: number;
}
interface ArenaReal { fx: CoreFixture }

const blockSize = (cls: number) => 1 << (cls + L.ARENA_MIN_SHIFT);

/** The class the model expects: the smallest power of two holding payload + header, -1 above the largest. */
function modelClass(bytes: number): number {
  let cls = 0;
  while (blockSize(cls) < bytes + L.BLOCK_HEADER) cls++;
  return cls < L.ARENA_CLASSES ? cls : -1;
}

/** Marks a block's first and last payload words with its tag, so that an overlap shows as a clobbered tag. */
function stamp(r: ArenaReal, b: Block): void {
  if (b.bytes >= 4) Atomics.store(r.fx.core.i32, b.ptr >> 2, b.tag);
  if (b.bytes >= 8) new DataView(r.fx.core.memory.buffer).setInt32(b.ptr + b.bytes - 4, b.tag, true);
}

function checkInvariants(m: ArenaModel, r: ArenaReal): void {
  const { core } = r.fx;
  assert.equal(r.fx.wasm.arenaUsed(), m.used, "used bytes match the live blocks");
  assert.equal(r.fx.ts.arenaUsed(), m.used);
  assert.equal(r.fx.wasm.arenaFresh(), arenaEnd - m.bump, "fresh bytes match the bump pointer");
  const sorted = [...m.live].sort((a, b) => a.ptr - b.ptr);
  let prevEnd = arenaStart;
  for (const b of sorted) {
    const start = b.ptr - L.BLOCK_HEADER;
    assert.ok(start >= prevEnd, `block ${b.ptr} overlaps the one before it`);
    prevEnd = start + blockSize(b.cls);
    assert.ok(prevEnd <= arenaEnd, `block ${b.ptr} runs past the arena`);
    assert.equal(peek(core, start), b.cls, "header: class");
    assert.equal(peek(core, start + 4), b.bytes, "header: requested bytes");
    if (b.bytes >= 4) assert.equal(peek(core, b.ptr), b.tag, `block ${b.ptr}: first word clobbered`);
    if (b.bytes >= 8) {
      assert.equal(new DataView(core.memory.buffer).getInt32(b.ptr + b.bytes - 4, true), b.tag, `block ${b.ptr}: last word clobbered`);
    }
  }
  for (let cls = 0; cls < L.ARENA_CLASSES; cls++) {
    // Walk the real free list (top first) and compare with the model's stack.
    const walked: number[] = [];
    let at = peek(core, freeLists + cls * 8) >>> 0;
    while (at !== 0 && walked.length <= m.free[cls]!.length) {
      walked.push(at);
      at = peek(core, at) >>> 0;
    }
    assert.deepEqual(walked, [...m.free[cls]!].reverse(), `free list of class ${cls}`);
  }
}

class Alloc implements fc.Command<ArenaModel, ArenaReal> {
  constructor(readonly bytes: number, readonly viaTs: boolean) {}
  check = () => true;
  run(m: ArenaModel, r: ArenaReal): void {
    const ops = r.fx.impl(this.viaTs);
    const cls = modelClass(this.bytes);
    assert.equal(ops.arenaClassOf(this.bytes), cls, "size class");
    const ptr = ops.arenaAlloc(this.bytes);
    let expected = 0;
    if (cls >= 0 && m.free[cls]!.length > 0) {
      expected = m.free[cls]!.pop()! + L.BLOCK_HEADER; // a freed block is reused first, most recent first
    } else if (cls >= 0 && m.bump + blockSize(cls) <= arenaEnd) {
      expected = m.bump + L.BLOCK_HEADER;
      m.bump += blockSize(cls);
    } else if (cls >= 0) {
      // Both empty: the most recently freed block of the smallest larger class is split down; each split-off
      // upper half goes to the free list of its class.
      for (let c = cls + 1; c < L.ARENA_CLASSES; c++) {
        const block = m.free[c]!.pop();
        if (block === undefined) continue;
        for (let k = c - 1; k >= cls; k--) m.free[k]!.push(block + blockSize(k));
        expected = block + L.BLOCK_HEADER;
        break;
      }
    }
    assert.equal(ptr, expected, `alloc(${this.bytes})`);
    if (ptr !== 0) {
      assert.equal(ptr % L.ARENA_ALIGN, 0, "aligned");
      assert.equal(ops.arenaSizeOf(ptr), this.bytes);
      const b: Block = { ptr, bytes: this.bytes, cls, tag: ++m.tags };
      m.live.push(b);
      m.used += blockSize(cls);
      stamp(r, b);
    }
    checkInvariants(m, r);
  }
  toString = () => `alloc(${this.bytes}${this.viaTs ? ",ts" : ""})`;
}

class Free implements fc.Command<ArenaModel, ArenaReal> {
  constructor(readonly pick: number, readonly viaTs: boolean) {}
  check = (m: Readonly<ArenaModel>) => m.live.length > 0;
  run(m: ArenaModel, r: ArenaReal): void {
    const [b] = m.live.splice(this.pick % m.live.length, 1);
    r.fx.impl(this.viaTs).arenaFree(b!.ptr);
    m.free[b!.cls]!.push(b!.ptr - L.BLOCK_HEADER);
    m.used -= blockSize(b!.cls);
    checkInvariants(m, r);
  }
  toString = () => `free(#${this.pick}${this.viaTs ? ",ts" : ""})`;
}

const sizes = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 120 }) },
  { weight: 3, arbitrary: fc.integer({ min: 121, max: 5000 }) },
  { weight: 1, arbitrary: fc.constantFrom(24, 25, 56, 57, ARENA_BYTES - 8, (1 << L.ARENA_MAX_SHIFT) - 8, (1 << L.ARENA_MAX_SHIFT) - 7) },
);
const commands = [
  fc.tuple(sizes, fc.boolean()).map(([bytes, ts]) => new Alloc(bytes, ts)),
  fc.tuple(fc.nat(), fc.boolean()).map(([pick, ts]) => new Free(pick, ts)),
];

for (const seed of SEEDS) {
  test(`arena hands out disjoint blocks and reuses freed ones (seed ${seed})`, () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 200, size: "large" }), (cmds) => {
        fx.reset();
        const model: ArenaModel = { live: [], free: Array.from({ length: L.ARENA_CLASSES }, () => []), bump: arenaStart, used: 0, tags: 0 };
        fc.modelRun(() => ({ model, real: { fx } }), cmds);
      }),
      { seed, numRuns: RUNS_PER_SEED, includeErrorInReport: true },
    );
  });
}
