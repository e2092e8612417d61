// The node's work server, driven over the wire as a driver would: the node runs in a child process (one Runtime
// per process), and this process plays the driver, serving the arguments' bytes itself.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as L from "../../core-wasm/shared/layout.js";
import { fromWire, LoomError, ObjectLostError, TaskError, type WireError } from "../errors.js";
import type { ObjectId } from "../ids.js";
import { ObjectRef } from "../refs.js";
import type { RawObject } from "../object-store/raw-objects.js";
import { decodeValue, encodeValue, writeEncoded } from "../serialization/value-codec.js";
import { INLINE_RESULT_BYTES, PULL_CHUNK_BYTES, SPILLBACK, type ResultInfo } from "./messages.js";
import { answerPull, ObjectPuller } from "./object-transfer.js";
import { connect, listen, parseAddress, type Connection, type Frame, type Header, type WireServer } from "./wire.js";

const TOKEN = randomBytes(16).toString("hex");
const FIXTURE = fileURLToPath(new URL("../test-fixtures/cluster-node.ts", import.meta.url));
const TASKS_URL = new URL("../test-fixtures/tasks.ts", import.meta.url).href;
const ACTORS_URL = new URL("../test-fixtures/actors.ts", import.meta.url).href;
const sha256 = (url: string) => createHash("sha256").update(readFileSync(fileURLToPath(url))).digest("hex");
const REPLY_MS = 30_000;

// ---- the node, in a child process ----

interface Node { child: ChildProcess; address: string; driver: Connection; command(line: string): Promise<Record<string, unknown>> }

async function startNode(): Promise<Node> {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], { env: { ...process.env, LOOM_TEST_TOKEN: TOKEN }, stdio: ["pipe", "pipe", "inherit"] });
  const waiting: Array<(line: Record<string, unknown>) => void> = [];
  const early: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const next = waiting.shift();
    if (next) next(parsed); else early.push(parsed);
  });
  const nextLine = () => new Promise<Record<string, unknown>>((resolve, reject) => {
    if (early.length) return resolve(early.shift()!);
    const timer = setTimeout(() => reject(new Error("the node process did not answer within 30 s")), 30_000);
    waiting.push((line) => { clearTimeout(timer); resolve(line); });
  });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`the node process exited (${code})`))));
  exited.catch(() => {});
  const { address } = await Promise.race([nextLine(), exited]) as { address: string };
  const driver = await connect({ ...parseAddress(address), token: TOKEN });
  return { child, address, driver, command: (line) => { child.stdin!.write(line + "\n"); return nextLine(); } };
}

// ---- this process as the driver: it holds the arguments and serves their pulls ----

const objects = new Map<string, RawObject>();
const pulls = new Map<string, number>();
/** Keys whose pulls are answered only after this many ms (to make an earlier call's arguments arrive late). */
const slowKeys = new Map<string, number>();
let holder: WireServer;
let holderAddress: string;
let node: Node;

function raw(value: unknown): RawObject {
  const encoded = encodeValue(value);
  const bytes = new Uint8Array(encoded.size);
  writeEncoded(encoded, bytes, 0);
  return { flags: 0, bytes, hasRefs: false };
}

/** An argument payload as a driver encodes it: the list, with refs named by this process's ids. */
function payload(args: unknown[]): Uint8Array {
  const encoded = encodeValue(args, "args", undefined, undefined, true);
  const bytes = new Uint8Array(encoded.size);
  writeEncoded(encoded, bytes, 0);
  return bytes;
}

const refTo = (id: number) => new ObjectRef(id as ObjectId, undefined, false);
const noHooks = { ref: (id: ObjectId) => refTo(id), actor: () => { throw new Error("no actors here"); } };

const taskOptions = { numReturns: 1, maxRetries: 0, retryExceptions: false, resources: { cpu: 1 } };
let nextTaskId = 1;
function runTask(fields: Record<string, unknown>): Header {
  return { t: "run-task", owner: "drv", taskId: nextTaskId++, name: "t", options: taskOptions, refs: {}, ...fields };
}
const inline = (source: string) => ({ kind: "inline", source, name: "f" });

async function ask(h: Header, body?: Uint8Array): Promise<Frame> {
  return node.driver.request(h, body, REPLY_MS);
}

/** The values of a run-task or actor-call reply: inline ones decoded from its body, held ones pulled. */
async function values(reply: Frame, puller?: ObjectPuller): Promise<Array<{ value?: unknown; error?: Error; info: ResultInfo }>> {
  if (reply.h.error) throw fromWire(reply.h.error as WireError);
  let at = 0;
  const out = [];
  for (const info of reply.h.results as ResultInfo[]) {
    let bytes: Uint8Array;
    if (info.key === undefined) {
      bytes = reply.body.slice(at, at + info.size);
      at += info.size;
    } else {
      bytes = (await puller!.pull(node.address, info.key)).bytes;
    }
    const value = decodeValue(bytes, 0, noHooks, false);
    out.push(info.flags & L.FLAG_ERROR ? { error: fromWire(value as WireError), info } : { value, info });
  }
  assert.equal(at, reply.body.length, "the body holds exactly the inline results");
  return out;
}

async function value(reply: Frame): Promise<unknown> {
  const [r] = await values(reply);
  if (r!.error) throw r!.error;
  return r!.value;
}

const replyError = (reply: Frame): LoomError => {
  assert.ok(reply.h.error, `expected an error reply, got ${JSON.stringify(reply.h).slice(0, 200)}`);
  return fromWire(reply.h.error as WireError);
};

before(async () => {
  holder = await listen({ host: "127.0.0.1", port: 0, token: TOKEN }, (c) => {
    c.onFrame = (frame, conn) => {
      const key = String(frame.h.key);
      pulls.set(key, (pulls.get(key) ?? 0) + 1);
      const delay = slowKeys.get(key);
      if (delay) setTimeout(() => answerPull(conn, frame, (k) => objects.get(k)), delay);
      else answerPull(conn, frame, (k) => objects.get(k));
    };
  });
  holderAddress = `127.0.0.1:${holder.port}`;
  node = await startNode();
});

after(async () => {
  node?.driver.close();
  if (node && node.child.exitCode === null) {
    const gone = new Promise((resolve) => node.child.once("exit", resolve));
    node.child.stdin!.end();
    const timer = setTimeout(() => node.child.kill("SIGKILL"), 5_000);
    await gone;
    clearTimeout(timer);
  }
  await holder?.close();
});

test("an inline task whose argument is pulled from another process; a second task on it pulls it once", { timeout: 60_000 }, async () => {
  objects.set("drv/100/0", raw(6));
  const refs = { "4242": { key: "drv/100/0", from: holderAddress } };
  const body = payload([refTo(4242), 7]);
  const fn = inline("function mul(a, b) { return a * b; }");
  assert.equal(await value(await ask(runTask({ fn, refs }), body)), 42);
  assert.equal(await value(await ask(runTask({ fn, refs }), payload([refTo(4242), 2]))), 12);
  assert.equal(pulls.get("drv/100/0"), 1, "the argument was pulled once for both tasks");
});

test("a module task, its module's hash checked; a copy that differs is refused, naming the module and the node", { timeout: 60_000 }, async () => {
  const fn = { kind: "module", url: TASKS_URL, name: "add" };
  assert.equal(await value(await ask(runTask({ fn, moduleHash: sha256(TASKS_URL) }), payload([2, 3]))), 5);
  const pair = { kind: "module", url: TASKS_URL, name: "pair" };
  const two = await values(await ask(runTask({ fn: pair, options: { ...taskOptions, numReturns: 2 } }), payload([4])));
  assert.deepEqual(two.map((r) => r.value), [4, 40], "two inline returns, in order");
  const error = replyError(await ask(runTask({ fn, moduleHash: "0".repeat(64) }), payload([2, 3])));
  assert.equal(error.code, "ERR_LOOM");
  assert.match(error.message, /module .*tasks\.ts differs on node node-test from the driver's copy/);
});

test("a big argument and a big result move in chunks; the result is held until released", { timeout: 120_000 }, async () => {
  const n = 700_000; // 5.6 MB: two pulls of PULL_CHUNK_BYTES each way
  assert.ok(n * 8 > PULL_CHUNK_BYTES && n * 8 > INLINE_RESULT_BYTES);
  objects.set("drv/200/0", raw(Float64Array.from({ length: n }, (_, i) => i)));
  const fn = inline("function twice(xs) { return xs.map((x) => 2 * x); }");
  const h = runTask({ fn, refs: { "9": { key: "drv/200/0", from: holderAddress } } });
  const reply = await ask(h, payload([refTo(9)]));
  assert.equal(pulls.get("drv/200/0"), 2, "the argument came in two chunks");
  const [info] = reply.h.results as ResultInfo[];
  assert.equal(info!.key, `drv/${h.taskId}/0`, "the result waits under owner/taskId/returnIndex");
  assert.equal(reply.body.length, 0);
  assert.deepEqual(await node.command("held"), { held: 1 });
  const puller = new ObjectPuller(TOKEN);
  try {
    const [result] = await values(reply, puller);
    const xs = result!.value as Float64Array;
    assert.ok(xs instanceof Float64Array && xs.length === n);
    assert.equal(xs[n - 1], 2 * (n - 1));
    node.driver.send({ t: "release", keys: [info!.key!] });
    // A reply on the same connection comes after the release was handled (frames keep their order on one
    // connection; the test's command channel is another, with no order against it).
    const after = await node.driver.request({ t: "pull", key: info!.key!, offset: 0, length: 1 });
    assert.match(String((after.h.error as { message?: string } | undefined)?.message), /not held here/);
    assert.deepEqual(await node.command("held"), { held: 0 });
    await assert.rejects(puller.pull(node.address, info!.key!), (e: Error) => e instanceof ObjectLostError);
  } finally {
    await puller.close();
  }
});

test("a big result whose driver has gone before the reply is not held", { timeout: 60_000 }, async () => {
  const gone = await connect({ ...parseAddress(node.address), token: TOKEN });
  const fn = inline("async function big() { await new Promise((r) => setTimeout(r, 300)); return new Float64Array(100000); }");
  gone.request(runTask({ fn }), payload([])).catch(() => {});
  await new Promise((r) => setTimeout(r, 50));
  gone.close();
  // One worker: this task runs after the big one, so its reply comes after the big one was answered.
  assert.equal(await value(await ask(runTask({ fn: inline("function one() { return 1; }") }), payload([]))), 1);
  assert.deepEqual(await node.command("held"), { held: 0 });
});

test("a task that throws: its error bytes come back and decode to the TaskError", { timeout: 60_000 }, async () => {
  const fn = { kind: "module", url: TASKS_URL, name: "fail" };
  const [r] = await values(await ask(runTask({ fn, moduleHash: sha256(TASKS_URL) }), payload(["no such thing"])));
  assert.ok(r!.info.flags & L.FLAG_ERROR);
  assert.ok(r!.error instanceof TaskError, `got ${r!.error}`);
  assert.match(r!.error.message, /RangeError: no such thing/);
  assert.ok(r!.error instanceof RangeError, "the thrown class is known here too");
});

test("an actor's calls run in arrival order even when an earlier call's argument arrives late; a killed actor is gone", { timeout: 60_000 }, async () => {
  const actorKey = "drv/actor/1";
  const create = ask({ t: "actor-create", owner: "drv", actorKey, cls: { kind: "module", url: ACTORS_URL, name: "Counter" }, methods: ["inc", "calls", "value"], moduleHash: sha256(ACTORS_URL), options: { resources: { cpu: 1 } }, refs: {} }, payload([10]));
  objects.set("drv/300/0", raw(1));
  slowKeys.set("drv/300/0", 300);
  const call = (method: string, args: unknown[], refs: Record<string, unknown> = {}) =>
    ask({ t: "actor-call", actorKey, taskId: nextTaskId++, method, options: taskOptions, refs }, payload(args));
  // Sent before the creation is answered: the calls chain behind it.
  const first = call("inc", [refTo(77)], { "77": { key: "drv/300/0", from: holderAddress } });
  const rest = [2, 3, 4].map((by) => call("inc", [by]));
  const calls = call("calls", []);
  assert.deepEqual((await create).h, { t: "reply", re: (await create).h.re });
  assert.equal(await value(await first), 11);
  assert.deepEqual(await Promise.all(rest.map(async (r) => value(await r))), [13, 16, 20]);
  assert.deepEqual(await value(await calls), [1, 2, 3, 4]);
  const wrong = replyError(await call("nope", []));
  assert.match(wrong.message, /has no method "nope"/);
  node.driver.send({ t: "actor-kill", actorKey });
  const gone = replyError(await call("value", []));
  assert.match(gone.message, /actor drv\/actor\/1 is not hosted on node node-test/);
});

test("an actor that dies on the node: its calls' ActorDiedError travels as their results", { timeout: 60_000 }, async () => {
  const actorKey = "drv/actor/2";
  const url = new URL("../test-fixtures/cluster-actors.ts", import.meta.url).href;
  const created = await ask({ t: "actor-create", owner: "drv", actorKey, cls: { kind: "module", url, name: "Fragile" }, methods: ["ping", "crash"], moduleHash: sha256(url), options: { resources: { cpu: 1 } }, refs: {} }, payload([]));
  assert.equal(created.h.error, undefined);
  const call = (method: string) => ask({ t: "actor-call", actorKey, taskId: nextTaskId++, method, options: taskOptions, refs: {} }, payload([]));
  assert.equal(await value(await call("ping")), "pong");
  for (const method of ["crash", "ping"]) {
    const [r] = await values(await call(method));
    assert.ok(r!.info.flags & L.FLAG_ERROR, `${method}: an error value`);
    assert.equal((r!.error as LoomError).code, "ERR_ACTOR_DIED", `${method}: ${r!.error}`);
  }
  node.driver.send({ t: "actor-kill", actorKey });
});

test("objects holding refs: an argument needs its holder to say where they are; a returned ref is held and its pull says", { timeout: 60_000 }, async () => {
  objects.set("drv/400/0", { ...raw(1), hasRefs: true });
  const fn = inline("function one(x) { return x; }");
  const argument = replyError(await ask(runTask({ fn, refs: { "3": { key: "drv/400/0", from: holderAddress } } }), payload([refTo(3)])));
  assert.match(argument.message, /holds refs but its holder did not say where/);
  const returnsRef = { kind: "module", url: TASKS_URL, name: "returnsRef" };
  const reply = await ask(runTask({ fn: returnsRef }), payload([5]));
  const [info] = reply.h.results as ResultInfo[];
  assert.ok(info?.key, "a value holding refs is held, not sent inline");
  const puller = new ObjectPuller(TOKEN);
  try {
    const pulled = await puller.pull(node.address, info.key!);
    assert.equal(pulled.hasRefs, true, "its pull says it holds refs (a node in a cluster also says where they are: cluster-driver.test.ts)");
  } finally {
    await puller.close();
  }
});

test("malformed messages are answered with errors, and the node goes on serving", { timeout: 60_000 }, async () => {
  const fn = inline("function one() { return 1; }");
  const cases: Array<[string, Header, Uint8Array | undefined, RegExp]> = [
    ["no fn", runTask({ fn: undefined }), payload([]), /run-task: malformed message: fn is nothing/],
    ["a bad kind", runTask({ fn: { kind: "shell", name: "x" } }), payload([]), /fn\.kind/],
    ["no options", runTask({ fn, options: "fast" }), payload([]), /options is "fast"/],
    ["bad numReturns", runTask({ fn, options: { ...taskOptions, numReturns: 0 } }), payload([]), /options\.numReturns/],
    ["bad resources", runTask({ fn, options: { ...taskOptions, resources: { cpu: -1 } } }), payload([]), /resources\.cpu/],
    ["more than the node offers", runTask({ fn, options: { ...taskOptions, resources: { gpu: 1 } } }), payload([]), /needs \{"gpu":1\} but node node-test offers \{"cpu":1\}/],
    ["a bad taskId", runTask({ fn, taskId: "seven" }), payload([]), /taskId/],
    ["a bad ref source", runTask({ fn, refs: { "1": { key: "k", from: "nowhere" } } }), payload([]), /refs\[1\]\.from/],
    ["no body", runTask({ fn }), undefined, /argument payload has 0 bytes/],
    ["a body that is not a payload", runTask({ fn }), new Uint8Array(64).fill(7), /cannot be decoded/],
    ["a ref the message does not list", runTask({ fn }), payload([refTo(5)]), /names object 5/],
    ["a lost argument", runTask({ fn, refs: { "5": { key: "drv/none/0", from: holderAddress } } }), payload([refTo(5)]), /not held here/],
    ["an unknown type", { t: "make-coffee" }, undefined, /does not serve messages of type "make-coffee"/],
    ["a bad release", { t: "release", keys: "all" }, undefined, /release: malformed message: keys/],
    ["a call on no actor", { t: "actor-call", actorKey: "x", taskId: 1, method: "m", options: taskOptions, refs: {} }, payload([]), /actor x is not hosted/],
    ["a pull without a key", { t: "pull", offset: 0, length: 10 }, undefined, /pull: malformed request/],
  ];
  for (const [what, h, body, expected] of cases) {
    const error = replyError(await ask(h, body));
    assert.match(error.message, expected, what);
  }
  assert.equal(await value(await ask(runTask({ fn }), payload([]))), 1, "still serving");
});

test("an owner that died: what it left here goes (its held results, its actors), what others own stays", { timeout: 60_000 }, async () => {
  const big = inline("function big(n) { return new Float64Array(n); }");
  await ask(runTask({ fn: big, owner: "gone" }), payload([100_000]));
  await ask(runTask({ fn: big, owner: "kept" }), payload([100_000]));
  const actorKey = "gone/a/1";
  await ask({ t: "actor-create", owner: "gone", actorKey, cls: { kind: "module", url: ACTORS_URL, name: "Counter" }, methods: ["inc", "calls", "value"], moduleHash: sha256(ACTORS_URL), options: { resources: { cpu: 1 } }, refs: {} }, payload([1]));
  const before = (await node.command("held")).held as number;
  assert.deepEqual(await node.command("release-owner gone"), { results: 1, actors: 1 });
  assert.equal((await node.command("held")).held, before - 1, "the other owner's result stays");
  const call = replyError(await ask({ t: "actor-call", actorKey, taskId: 1, method: "inc", options: taskOptions, refs: {} }, payload([1])));
  assert.match(call.message, /not hosted/);
});

test("spillback: with no free worker, a task marked spill is handed back unstarted; unmarked, it waits for the worker", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "loom-spill-"));
  try {
    const sleep = { kind: "module", url: TASKS_URL, name: "sleep" };
    const record = { kind: "module", url: TASKS_URL, name: "record" };
    const busy = ask(runTask({ fn: sleep }), payload([500]));
    await new Promise((r) => setTimeout(r, 100)); // the node's one worker runs it
    const handedBack = await ask(runTask({ fn: record, spill: true }), payload([path.join(dir, "spilled"), "ran"]));
    assert.equal((handedBack.h.error as WireError | undefined)?.code, SPILLBACK);
    assert.match(replyError(handedBack).message, /node node-test has no free worker \(1 tasks for 1 workers\)/);
    assert.equal(handedBack.h.draining, false);
    const waited = ask(runTask({ fn: record }), payload([path.join(dir, "waited"), "ran"]));
    assert.equal(await value(await busy), 500);
    assert.equal(await value(await waited), "ran");
    assert.ok(!existsSync(path.join(dir, "spilled")), "the handed-back task never ran on the node");
    // With the worker free again, a task marked spill runs.
    assert.equal(await value(await ask(runTask({ fn: record, spill: true }), payload([path.join(dir, "free"), "ran"]))), "ran");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("drain: new tasks are refused while the work in flight finishes", { timeout: 60_000 }, async () => {
  const fn = { kind: "module", url: TASKS_URL, name: "sleep" };
  const running = ask(runTask({ fn }), payload([400]));
  await new Promise((r) => setTimeout(r, 100));
  const drained = node.command("drain");
  const reply = await ask(runTask({ fn: inline("function one() { return 1; }") }), payload([]));
  const refused = replyError(reply);
  assert.match(refused.message, /node node-test is draining/);
  assert.equal((reply.h.error as WireError).code, SPILLBACK, "handed back, for its submitter to place elsewhere");
  assert.equal(reply.h.draining, true);
  assert.equal(await value(await running), 400);
  assert.deepEqual(await drained, { drained: true });
});
