// Model-based test of the ready queue (Vyukov MPMC ring): a plain array is the model. Capacity 4 and
// size "large" so that full and empty are both reached often; each command runs on the wasm or the TS ring.
// Runs also start near the i32 wrap of the positions, which a long-lived engine reaches after 2^31 pushes.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as L from "../../core-wasm/shared/layout.js";
import { createCoreFixture, peek, poke, SEEDS, RUNS_PER_SEED, type CoreFixture } from "./core-fixture.js";

const CAPACITY = 4;
const fx = createCoreFixture({ taskSlots: CAPACITY, objectCapacity: 8, arenaBytes: 1 << 16 });
const q = fx.core.plan.readyQueue;

interface QueueModel { items: number[] }
interface QueueReal { fx: CoreFixture }

/** Checked after every command: the ring holds exactly the model's items, positions within one lap. */
function checkInvariants(m: QueueModel, r: QueueReal): void {
  assert.equal(r.fx.wasm.queueLength(q), m.items.length, "queueLength");
  const enq = peek(r.fx.core, q + L.QUEUE_ENQ);
  const deq = peek(r.fx.core, q + L.QUEUE_DEQ);
  for (let k = 0; k < CAPACITY; k++) {
    // Vyukov's cell invariant: a full cell's sequence is pos + 1, an empty one's is pos (+ a lap once popped).
    const pos = (deq + k) | 0;
    const seq = peek(r.fx.core, q + L.QUEUE_HEADER_BYTES + (pos & (CAPACITY - 1)) * L.QUEUE_CELL_BYTES);
    const full = k < ((enq - deq) | 0);
    assert.equal(seq, full ? (pos + 1) | 0 : pos, `cell sequence at position ${pos}`);
    if (full) assert.equal(peek(r.fx.core, q + L.QUEUE_HEADER_BYTES + (pos & (CAPACITY - 1)) * L.QUEUE_CELL_BYTES + 4), m.items[k]);
  }
}

class Push implements fc.Command<QueueModel, QueueReal> {
  constructor(readonly value: number, readonly viaTs: boolean) {}
  check = () => true;
  run(m: QueueModel, r: QueueReal): void {
    const ok = r.fx.impl(this.viaTs).queuePush(q, this.value);
    assert.equal(ok, m.items.length < CAPACITY ? 1 : 0, "push fails exactly when the model is full");
    if (ok) m.items.push(this.value);
    checkInvariants(m, r);
  }
  toString = () => `push(${this.value}${this.viaTs ? ",ts" : ""})`;
}

class Pop implements fc.Command<QueueModel, QueueReal> {
  constructor(readonly viaTs: boolean) {}
  check = () => true;
  run(m: QueueModel, r: QueueReal): void {
    const got = r.fx.impl(this.viaTs).queuePop(q);
    assert.equal(got, m.items.length ? m.items.shift() : -1, "FIFO order, -1 when empty");
    checkInvariants(m, r);
  }
  toString = () => `pop(${this.viaTs ? "ts" : ""})`;
}

const commands = [
  fc.tuple(fc.integer({ min: 0, max: 0x7fffffff }), fc.boolean()).map(([v, ts]) => new Push(v, ts)),
  fc.boolean().map((ts) => new Pop(ts)),
];

/** Lays the empty ring out as if `start` pushes and pops had already gone through it. */
function startAt(fx: CoreFixture, start: number): void {
  fx.wasm.queueInit(q, CAPACITY);
  poke(fx.core, q + L.QUEUE_ENQ, start);
  poke(fx.core, q + L.QUEUE_DEQ, start);
  for (let k = 0; k < CAPACITY; k++) {
    const pos = (start + k) | 0;
    poke(fx.core, q + L.QUEUE_HEADER_BYTES + (pos & (CAPACITY - 1)) * L.QUEUE_CELL_BYTES, pos);
  }
}

const starts = fc.constantFrom(0, 0x7fffffff - 5, -7, 123457);

for (const seed of SEEDS) {
  test(`ready queue behaves like a bounded FIFO (seed ${seed})`, () => {
    fc.assert(
      fc.property(starts, fc.commands(commands, { maxCommands: 200, size: "large" }), (start, cmds) => {
        fx.reset();
        startAt(fx, start);
        fc.modelRun(() => ({ model: { items: [] }, real: { fx } }), cmds);
      }),
      { seed, numRuns: RUNS_PER_SEED, includeErrorInReport: true },
    );
  });
}
