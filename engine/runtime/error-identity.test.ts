// Errors keep their identity across threads (SPEC "Errors"): a task's rejection is a TaskError and also an
// instance of the thrown class where the driver knows it, with its own fields, its cause chain, and a stack of
// the remote frames then the caller's; a crash names its exit code or the uncaught error.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, LoomError, TaskError, WorkerCrashedError, type Runtime, type ModuleWrappers } from "loom-dag";
import { InsufficientFunds } from "../test-fixtures/errors.js";

type Fixtures = typeof import("../test-fixtures/errors.js");
let rt: Runtime;
let m: ModuleWrappers<Fixtures>;

before(async () => {
  rt = await init({ workers: 2 });
  m = await rt.module<Fixtures>(new URL("../test-fixtures/errors.ts", import.meta.url));
});
after(async () => {
  await rt.shutdown();
});

function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => assert.fail("expected a rejection"), (e: unknown) => e);
}

async function callerOfGet(): Promise<unknown> {
  return await rt.get(m.withdraw.remote(5, 10));
}

test("a user's exported error class: TaskError and InsufficientFunds at once, with its fields and cause chain", async () => {
  const error = await rejection(callerOfGet());
  assert.ok(error instanceof TaskError, "a TaskError");
  assert.ok(error instanceof LoomError, "a LoomError");
  assert.ok(error instanceof InsufficientFunds, "an InsufficientFunds (the class the task threw)");
  assert.ok(error instanceof Error, "an Error");
  assert.equal((error as InsufficientFunds).balance, 5, "the thrown error's own field");
  assert.equal((error as TaskError).code, "ERR_TASK", "TaskError's code, not overwritten");
  assert.equal((error as TaskError).functionName, "withdraw");
  assert.equal((error as TaskError).remoteName, "InsufficientFunds");
  assert.match((error as Error).message, /withdraw .*threw InsufficientFunds: balance 5 is too low/);

  const cause = (error as Error).cause as InsufficientFunds;
  assert.ok(cause instanceof InsufficientFunds, "cause is the thrown error rebuilt as its class");
  assert.ok(!(cause instanceof TaskError), "the cause itself is not a TaskError");
  assert.equal(cause.balance, 5);
  const inner = cause.cause as TypeError;
  assert.ok(inner instanceof TypeError, "the cause's cause keeps its built-in class");
  assert.equal(inner.message, "limit check failed");
  const innermost = inner.cause as Error & { code?: string };
  assert.equal(innermost.message, "ledger unreachable", "the chain is kept to its end");
  assert.equal(innermost.code, "ELEDGER", "with each error's own fields");
});

test("the stack shows the remote frames, then the caller's", async () => {
  const stack = String(((await rejection(callerOfGet())) as Error).stack);
  const lines = stack.split("\n");
  assert.match(lines[0]!, /^TaskError: Task withdraw/, `the header line (stack: ${stack})`);
  const remote = lines.findIndex((l) => /at withdraw .*test-fixtures\/errors\.ts/.test(l));
  const caller = lines.findIndex((l) => /callerOfGet .*error-identity\.test\.ts/.test(l));
  assert.ok(remote > 0, `a remote frame of withdraw (stack: ${stack})`);
  assert.ok(caller > remote, `the caller's frame after the remote ones (stack: ${stack})`);
  assert.ok(!/engine\/(worker|serialization|object-store|streaming|wasm)\/|worker-runtime|value-codec/.test(stack), `no frames of Loom's internals (stack: ${stack})`);
});

test("built-in error classes are known everywhere; an unexported class gives a plain TaskError with its fields on cause", async () => {
  const range = await rejection(rt.get(m.badRange.remote()));
  assert.ok(range instanceof RangeError && range instanceof TaskError, "RangeError and TaskError");
  const hidden = await rejection(rt.get(m.privateProblem.remote()));
  assert.ok(hidden instanceof TaskError, "a TaskError");
  assert.equal((hidden as TaskError).remoteName, "PrivateProblem");
  const cause = (hidden as Error).cause as Error & { detail?: string };
  assert.equal(cause.name, "PrivateProblem", "the cause keeps the thrown name");
  assert.equal(cause.detail, "kept", "and its own fields");
});

test("dependents fail with the same identity; actor calls too", async () => {
  const failed = m.withdraw.remote(1, 2);
  const dependent = await rejection(rt.get(m.withdraw.remote(failed, 1)));
  assert.ok(dependent instanceof InsufficientFunds && dependent instanceof TaskError, "a dependent's error keeps the class");
  const vault = m.Vault.remote();
  const fromActor = await rejection(rt.get(vault.take.remote(50)));
  assert.ok(fromActor instanceof InsufficientFunds, "an actor method's error keeps the class");
  assert.equal((fromActor as InsufficientFunds).balance, 10);
});

test("an exported Error subclass is an error class, not an actor class", () => {
  assert.ok(!("InsufficientFunds" in m), "rt.module does not wrap it as an actor class");
  assert.ok("Vault" in m, "while an ordinary exported class is one");
});

test("thrown non-Errors are shown as values (bounded util.inspect), not [object Object]", async () => {
  const text = await rejection(rt.get(m.throwValue.remote("string")));
  assert.match((text as Error).message, /threw 'plain string'/);
  assert.equal((text as Error).cause, "plain string", "the thrown value is the cause");
  const obj = await rejection(rt.get(m.throwValue.remote("object")));
  assert.match((obj as Error).message, /threw \{ code: 42, why: 'an object', fn: \[Function: fn\] \}/);
  assert.doesNotMatch((obj as Error).message, /object Object/);
  const big = await rejection(rt.get(m.throwValue.remote("big")));
  assert.ok((big as Error).message.length < 700, `a huge value is cut short (${(big as Error).message.length} chars)`);
});

test("a worker that exits: WorkerCrashedError names the exit code in its message and cause", async () => {
  const error = await rejection(rt.get(m.exitWith.options({ maxRetries: 0 }).remote(7)));
  assert.ok(error instanceof WorkerCrashedError, `a WorkerCrashedError (got ${String(error)})`);
  assert.match((error as Error).message, /exited with code 7/);
  const cause = (error as Error).cause as Error & { exitCode?: number };
  assert.equal(cause.exitCode, 7, "the cause holds the exit code");
});

test("a worker killed by an error escaping the task: WorkerCrashedError names that error", async () => {
  const error = await rejection(rt.get(m.escape.options({ maxRetries: 0 }).remote("escaped the task")));
  assert.ok(error instanceof WorkerCrashedError, `a WorkerCrashedError (got ${String(error)})`);
  assert.match((error as Error).message, /uncaught SyntaxError: escaped the task/);
  const cause = (error as Error).cause as Error;
  assert.ok(cause instanceof SyntaxError, "the cause is the uncaught error, with its class");
  assert.equal(cause.message, "escaped the task");
});
