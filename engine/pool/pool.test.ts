// Pool, multiprocessing style, on a real runtime of 2 workers that the first pool makes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { current, LoomError, SerializationError, TaskCancelledError, TaskError, type Runtime } from "../index.js";
import { Pool } from "./index.js";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const fixtures = new URL("./test-fixtures/worker.ts", import.meta.url);
let pool: Pool;

before(() => {
  pool = new Pool({ workers: 2 });
});

after(async () => {
  await pool.close();
  for (const dir of gateDirs) rmSync(dir, { recursive: true, force: true });
});

const square = (x: number) => x * x;

/** Counts task submissions on the driver's event bus while `body` runs. */
async function countTasks(body: () => Promise<unknown>): Promise<number> {
  const rt = current() as Runtime; // in the driver, current() is the runtime init made
  let n = 0;
  const count = () => n++;
  rt.events.on("task:submitted", count);
  try {
    await body();
  } finally {
    rt.events.off("task:submitted", count);
  }
  return n;
}

test("map applies an inline function, in input order, for any chunksize", async () => {
  const items = Array.from({ length: 23 }, (_, i) => i);
  const expected = items.map((i) => i * i);
  assert.deepEqual(await pool.map(square, items), expected);
  for (const chunksize of [1, 3, 23, 100]) {
    assert.deepEqual(await pool.map(square, items, { chunksize }), expected, `chunksize ${chunksize}`);
  }
  assert.deepEqual(await pool.map(square, []), []);
  // Method shorthand has no function-expression source of its own; the pool ships one.
  const o = {
    cube(x: number) {
      return x * x * x;
    },
  };
  assert.deepEqual(await pool.map(o.cube, [1, 2, 3], { chunksize: 1 }), [1, 8, 27]);
  assert.deepEqual(await pool.map(o.cube, [1, 2, 3], { chunksize: 2 }), [1, 8, 27]);
});

test("a chunk is one task; the default chunksize is items / (4 × workers)", async () => {
  const items = Array.from({ length: 10 }, (_, i) => i);
  assert.equal(await countTasks(() => pool.map(square, items, { chunksize: 3 })), 4);
  assert.equal(await countTasks(() => pool.map(square, items, { chunksize: 1 })), 10);
  // 10 items, 2 workers: ceil(10 / 8) = 2 per chunk, 5 tasks
  assert.equal(await countTasks(() => pool.map(square, items)), 5);
});

test("map takes iterables and async iterables", async () => {
  function* gen() {
    for (let i = 1; i <= 5; i++) yield i;
  }
  async function* agen() {
    for (let i = 1; i <= 5; i++) yield i;
  }
  assert.deepEqual(await pool.map(square, gen(), { chunksize: 2 }), [1, 4, 9, 16, 25]);
  assert.deepEqual(await pool.map(square, new Set([1, 2, 3])), [1, 4, 9]);
  assert.deepEqual(await pool.map(square, agen(), { chunksize: 2 }), [1, 4, 9, 16, 25]);
});

test("imap yields in input order; imapUnordered in completion order", async () => {
  // Item 0 is held at a gate the test opens only once the other three have finished (each marks a log), so the
  // order does not hang on timers racing a loaded machine.
  const run = async (unordered: boolean) => {
    const dir = mkdtempSync(join(tmpdir(), "loom-pool-order-"));
    gateDirs.push(dir);
    const gate = join(dir, "gate");
    const log = join(dir, "done");
    writeFileSync(log, "");
    const held = async (item: { v: number; gate: string; log: string }) => {
      const fs = process.getBuiltinModule("node:fs") as typeof import("node:fs");
      for (let k = 0; k < 6000 && item.v === 0 && !fs.existsSync(item.gate); k++) await new Promise((r) => setTimeout(r, 10));
      fs.appendFileSync(item.log, `${item.v}\n`);
      return item.v;
    };
    const items = [0, 1, 2, 3].map((v) => ({ v, gate, log }));
    const it = (unordered ? pool.imapUnordered(held, items, { chunksize: 1 }) : pool.imap(held, items, { chunksize: 1 }))[Symbol.asyncIterator]();
    const out: number[] = [];
    if (unordered) for (let i = 0; i < 3; i++) out.push((await within(it.next(), 30_000, "an unheld item")).value as number);
    for (let k = 0; k < 3000 && readFileSync(log, "utf8").split("\n").filter(Boolean).length < 3; k++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(readFileSync(log, "utf8").split("\n").filter(Boolean).sort().join(), "1,2,3", "the unheld items finished");
    writeFileSync(gate, "");
    for (let r = await within(it.next(), 30_000, "the next item"); !r.done; r = await within(it.next(), 30_000, "the next item")) out.push(r.value as number);
    return out;
  };
  assert.deepEqual(await run(false), [0, 1, 2, 3], "imap: input order, though item 0 finished last");
  const unordered = await run(true);
  assert.deepEqual([...unordered].sort((a, b) => a - b), [0, 1, 2, 3]);
  assert.equal(unordered.at(-1), 0, "imapUnordered: the held item comes last");
});

test("imap and imapUnordered chunk too", async () => {
  const items = Array.from({ length: 11 }, (_, i) => i);
  const got: number[] = [];
  for await (const v of pool.imap(square, items, { chunksize: 4 })) got.push(v);
  assert.deepEqual(got, items.map((i) => i * i));
  const un: number[] = [];
  for await (const v of pool.imapUnordered(square, items, { chunksize: 4 })) un.push(v);
  assert.deepEqual(un.sort((a, b) => a - b), items.map((i) => i * i));
});

const failAtFive = (x: number) => {
  if (x === 5) throw new RangeError(`bad item ${x}`);
  return x;
};

test("a failed item makes map reject with its TaskError", async () => {
  for (const chunksize of [1, 4]) {
    await assert.rejects(pool.map(failAtFive, [0, 1, 2, 3, 4, 5, 6, 7, 8], { chunksize }), (e: unknown) => {
      assert.ok(e instanceof TaskError, `chunksize ${chunksize}: ${String(e)}`);
      assert.equal(e.remoteName, "RangeError");
      assert.equal(e.functionName, "failAtFive");
      assert.match(e.message, /bad item 5/);
      assert.match(e.remoteStack, /bad item 5/);
      return true;
    });
  }
});

test("imap throws at the failed item's position, after the items before it", async () => {
  for (const chunksize of [1, 2, 4]) {
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const v of pool.imap(failAtFive, [0, 1, 2, 3, 4, 5, 6, 7, 8], { chunksize })) seen.push(v);
    }, TaskError);
    assert.deepEqual(seen, [0, 1, 2, 3, 4], `chunksize ${chunksize}`);
  }
});

test("starmap spreads argument arrays; apply makes one call", async () => {
  const add = (a: number, b: number) => a + b;
  assert.deepEqual(await pool.starmap(add, [[1, 2], [3, 4], [5, 6]]), [3, 7, 11]);
  assert.deepEqual(await pool.starmap(add, [[1, 2], [3, 4], [5, 6]], { chunksize: 2 }), [3, 7, 11]);
  assert.equal(await pool.apply(add, [20, 22]), 42);
  assert.equal(await pool.apply(() => "no args"), "no args");
  await assert.rejects(pool.apply(failAtFive, [5]), TaskError);
});

test("module functions from rt.module work as fn", async () => {
  const m = await current().module<typeof import("./test-fixtures/worker.ts")>(fixtures);
  assert.deepEqual(await pool.map(m.square, [1, 2, 3, 4, 5], { chunksize: 2 }), [1, 4, 9, 16, 25]);
  assert.equal(await pool.apply(m.add, [{ a: 1, b: 2 }]), 3);
  const got: number[] = [];
  for await (const v of pool.imap(m.square, [3, 4])) got.push(v);
  assert.deepEqual(got, [9, 16]);
  await assert.rejects(pool.map(m.fail, ["from a module"]), (e: unknown) => e instanceof TaskError && /from a module/.test(e.message));
});

test("onProgress counts finished items up to the total", async () => {
  const calls: Array<[number, number | undefined]> = [];
  await pool.map(square, Array.from({ length: 10 }, (_, i) => i), {
    chunksize: 3,
    onProgress: (done, total) => calls.push([done, total]),
  });
  assert.deepEqual(calls.at(-1), [10, 10]);
  assert.deepEqual(
    calls.map(([d]) => d).sort((a, b) => a - b),
    calls.map(([d]) => d),
    "done only grows",
  );
  // progress: true without a terminal draws nothing and changes nothing.
  assert.deepEqual(await pool.map(square, [1, 2], { progress: true }), [1, 4]);
});

const gateDirs: string[] = [];
/** Settles `p` or fails after `ms`: a limit for a hang, far above any slow start. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}
/** Items for gated(): each holds (up to 60 s) until the gate file exists, and marks in `log` that it ran. */
function gatedItems(name: string, n: number, free = 0): Array<{ i: number; gate: string; log: string; free: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), `loom-pool-${name}-`));
  gateDirs.push(dir); // removed after the runtime, as tasks still polling would never see a removed gate
  const log = join(dir, "ran");
  writeFileSync(log, "");
  return Array.from({ length: n }, (_, i) => ({ i, gate: join(dir, "gate"), log, free: i < free }));
}
const gated = async (item: { i: number; gate: string; log: string; free: boolean }) => {
  const fs = process.getBuiltinModule("node:fs") as typeof import("node:fs");
  fs.appendFileSync(item.log, `${item.i}\n`);
  for (let k = 0; k < 6000 && !item.free && !fs.existsSync(item.gate); k++) await new Promise((r) => setTimeout(r, 10));
  return item.i;
};

test("leaving an imap early cancels what it still had in flight", async () => {
  // The first 3 items return at once; the rest are held at a gate, so the tasks left in flight can only end by
  // their cancel: a pool that kept them would not answer apply until the gate opens (60 s).
  const items = gatedItems("imap", 200, 3);
  const got: number[] = [];
  try {
    for await (const v of pool.imap(gated, items, { chunksize: 1 })) {
      got.push(v);
      if (got.length === 3) break;
    }
    assert.deepEqual(got, [0, 1, 2]);
    // From the early exit on, the only task the runtime starts is apply's: the held ones still queued never do.
    const rt = current() as Runtime; // in the driver, current() is the runtime init made
    const started: string[] = [];
    const onStarted = (e: { name: string }) => started.push(e.name);
    rt.events.on("task:started", onStarted);
    try {
      assert.equal(await within(pool.apply(square, [3]), 30_000, "apply after the early exit"), 9);
      // A task's start is reported with its end, which the driver may take after get resolved from shared memory.
      for (let k = 0; k < 500 && started.length === 0; k++) await new Promise((r) => setTimeout(r, 10));
    } finally {
      rt.events.off("task:started", onStarted);
    }
    assert.ok(started.length >= 1, "apply's task was seen to start");
    assert.deepEqual(started.filter((name) => /gated/.test(name)), [], `no held task started after the early exit: ${started.join(", ")}`);
    const ran = readFileSync(items[0].log, "utf8").split("\n").filter(Boolean).length;
    assert.ok(ran < items.length, `the cancelled tasks that had not started never ran (${ran} of ${items.length} did)`);
  } finally {
    writeFileSync(items[0].gate, "");
  }
});

test("a value that cannot cross threads fails at its position", async () => {
  const id = (x: unknown) => x;
  await assert.rejects(pool.map(id, [1, () => 2, 3], { chunksize: 1 }), SerializationError);
});

test("bad arguments throw a LoomError naming the value", () => {
  const table: Array<[string, () => unknown, RegExp]> = [
    ["fn not a function", () => pool.map(123 as never, [1]), /fn must be a function .*got 123/],
    ["native fn", () => pool.map(Math.max, [1]), /function max has no source/],
    ["items not iterable", () => pool.map(square, 5 as never), /items must be an iterable .*got 5/],
    ["items null", () => pool.imap(square, null as never), /items must be an iterable .*got null/],
    ["chunksize 0", () => pool.map(square, [1], { chunksize: 0 }), /chunksize must be an integer >= 1, got 0/],
    ["chunksize 1.5", () => pool.imap(square, [1], { chunksize: 1.5 }), /chunksize must be an integer >= 1, got 1\.5/],
    ["unknown map option", () => pool.map(square, [1], { chunkSize: 2 } as never), /unknown option "chunkSize"/],
    ["onProgress", () => pool.map(square, [1], { onProgress: 1 } as never), /onProgress must be a function, got 1/],
    ["apply args", () => pool.apply(square, 3 as never), /args must be an array, got 3/],
    ["workers 0", () => new Pool({ workers: 0 }), /workers must be an integer >= 1, got 0/],
    ["unknown pool option", () => new Pool({ wokers: 2 } as never), /unknown option "wokers"/],
    ["workers vs maxThreads", () => new Pool({ workers: 2, maxThreads: 3 }), /workers \(2\) and maxThreads \(3\) disagree/],
  ];
  for (const [what, call, message] of table) {
    assert.throws(call, (e: unknown) => e instanceof LoomError && message.test(e.message), what);
  }
  // piscina's own options throw piscina's classes and messages.
  assert.throws(() => new Pool({ minThreads: 4, maxThreads: 2 }), (e: unknown) =>
    e instanceof RangeError && /options\.minThreads and options\.maxThreads must not conflict/.test(e.message));
  assert.throws(() => new Pool({ maxQueue: -1 }), (e: unknown) =>
    e instanceof TypeError && /options\.maxQueue must be a non-negative integer/.test(e.message));
});

test("options piscina has but loom/pool does not implement are refused, not ignored", () => {
  const queue = { size: 0, shift() {}, remove() {}, push() {} };
  const table: Array<[string, object, RegExp]> = [
    ["taskQueue", { taskQueue: queue }, /does not support options\.taskQueue/],
    ["niceIncrement", { niceIncrement: 5 }, /does not support options\.niceIncrement/],
  ];
  for (const [what, options, message] of table) assert.throws(() => new Pool(options), message, what);
});

test("starmap items must be argument arrays", async () => {
  await assert.rejects(pool.starmap((a: number) => a, [[1], 2 as never]), /each item must be an array of arguments, got 2/);
});

test("close lets submitted work finish, then refuses new calls", async () => {
  const p = new Pool({ workers: 2 });
  const sleepy = async (x: number) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return x;
  };
  const mapped = p.map(sleepy, [1, 2, 3, 4, 5, 6], { chunksize: 1 });
  const applied = p.apply(sleepy, [7]);
  const it = p.imap(sleepy, [8, 9]);
  await p.close();
  assert.deepEqual(await mapped, [1, 2, 3, 4, 5, 6]);
  assert.equal(await applied, 7);
  const rest: number[] = [];
  for await (const v of it) rest.push(v);
  assert.deepEqual(rest, [8, 9]);
  assert.throws(() => p.map(square, [1]), /pool is closed/);
  await assert.rejects(p.run(1), (e: Error) => e.name === "AbortError" && e.cause === "queue is being terminated");
  // The runtime is shared with the suite's pool, which keeps it alive.
  assert.equal(await pool.apply(square, [4]), 16);
});

test("close({ force: true }) cancels what has not finished", async () => {
  const p = new Pool({ workers: 2 });
  // Every task is held at a gate that never opens (each gives up after 60 s): only the cancel can end them.
  const items = gatedItems("force", 40);
  try {
    const mapped = p.map(gated, items, { chunksize: 1 });
    mapped.catch(() => undefined);
    await within(p.close({ force: true }), 30_000, "close({ force: true })");
    await assert.rejects(within(mapped, 30_000, "the cancelled map"), TaskCancelledError);
  } finally {
    writeFileSync(items[0].gate, "");
  }
});

test("run() honours maxQueue: a task beyond the running one and the queue rejects", async () => {
  const p = new Pool({ filename: fixtures, minThreads: 1, maxThreads: 1, maxQueue: 1 });
  try {
    const accepted = [1, 2].map((a) => p.run({ a, b: 0, ms: 50 }, { name: "addLater" }));
    await assert.rejects(p.run({ a: 3, b: 0, ms: 50 }, { name: "addLater" }), /Task queue is at limit/);
    assert.deepEqual(await Promise.all(accepted), [1, 2]);
  } finally {
    await p.close();
  }
});

test("run() and destroy(): running and queued tasks reject, and later runs reject with an AbortError", async () => {
  const p = new Pool({ filename: fixtures, minThreads: 1, maxThreads: 1 });
  const running = assert.rejects(p.run(60_000, { name: "spin" }), /Terminating worker thread/);
  const queued = assert.rejects(p.run(1), /Terminating worker thread/);
  await p.destroy();
  await Promise.all([running, queued]);
  assert.equal(p.threads.length, 0);
  await assert.rejects(p.run(1), (e: Error) => e.name === "AbortError");
});

test("pool.run stays apart from map: a pool given workers starts no thread of its own until run()", async () => {
  const p = new Pool({ workers: 2, filename: fixtures });
  try {
    assert.equal(p.threads.length, 0);
    assert.deepEqual(await p.map(square, [1, 2, 3]), [1, 4, 9]);
    assert.equal(p.threads.length, 0);
    assert.equal(await p.run(21), 42);
    assert.ok(p.threads.length >= 1);
  } finally {
    await p.close();
  }
});
