// The entry of a Pool's own threads: loads task modules, runs their handlers, posts results back on the port
// the pool gave it. It keeps parentPort free for the user's own messages (the pool's 'message' event).
// It does not decide anything about the pool (replacement, idling, queueing): thread-group.ts does.
import { parentPort, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import {
  POOL_THREAD_MARK, READY_KEY, REQUEST_COUNT, RESPONSE_COUNT,
  type AtomicsMode, type ResultMessage, type StartupMessage, type TaskMessage,
} from "./thread-protocol.js";
import { isMovable, unwrapMovable } from "./task-transfer.js";

(globalThis as Record<symbol, unknown>)[POOL_THREAD_MARK] = true;

/** Handlers by "url#name"; a module's top-level code runs once per thread. */
const handlers = new Map<string, Promise<Function>>();
let tsxRegistered: Promise<unknown> | undefined;
/** Tasks started and not finished; the thread waits on Atomics only when it is 0. */
let running = 0;
let lastRequestCount = 0;

function urlOf(filename: string): string {
  return filename.startsWith("file:") || /^[a-z][a-z0-9+.-]*:\/\//i.test(filename) ? filename : pathToFileURL(filename).href;
}

/**
 * The function a task calls:
 * 1. the module's export `name` (awaited: an export may be a Promise of the function);
 * 2. else, for a CommonJS module or a default export that is an object, its property `name`;
 * 3. else, when `name` is "default", the default export itself (awaited).
 */
async function loadHandler(filename: string, name: string): Promise<Function> {
  if (/\.[cm]?tsx?$/.test(filename)) {
    tsxRegistered ??= import("tsx/esm/api").then((tsx) => tsx.register());
    await tsxRegistered;
  }
  const ns = (await import(urlOf(filename))) as Record<string, unknown>;
  const named = await ns[name];
  if (typeof named === "function") return named;
  const fallback = await ns.default;
  const member = fallback != null && (typeof fallback === "object" || typeof fallback === "function")
    ? await (fallback as Record<string, unknown>)[name]
    : undefined;
  if (typeof member === "function") return member;
  throw new Error(`No handler function "${name}" exported from ${filename}`);
}

/** The last handler asked for: most pools run one export of one module, so most lookups end here. */
let last: { filename: string; name: string; handler: Promise<Function> } | undefined;

function handlerOf(filename: string, name: string): Promise<Function> {
  if (last !== undefined && last.filename === filename && last.name === name) return last.handler;
  const key = `${filename}#${name}`;
  let handler = handlers.get(key);
  if (handler === undefined) {
    handler = loadHandler(filename, name);
    handlers.set(key, handler);
    handler.catch(() => {
      handlers.delete(key);
      if (last?.handler === handler) last = undefined;
    });
  }
  last = { filename, name, handler };
  return handler;
}

async function runTask(port: MessagePort, counts: Int32Array, mode: AtomicsMode, message: TaskMessage): Promise<void> {
  running++;
  let result: ResultMessage;
  let transferList: unknown[] = [];
  try {
    const handler = await handlerOf(message.filename, message.name);
    const value: unknown = await handler(message.task);
    if (isMovable(value)) {
      const out = unwrapMovable(value);
      result = { id: message.id, ok: true, value: out.value };
      transferList = out.transferList;
    } else result = { id: message.id, ok: true, value };
    // A thread about to block in Atomics.wait must not leave console output stuck in its buffers.
    if (mode === "sync") await flushStdio();
  } catch (error) {
    result = { id: message.id, ok: false, error };
  }
  running--;
  port.postMessage(result, transferList as never);
  Atomics.add(counts, RESPONSE_COUNT, 1);
  waitForWork(port, counts, mode);
}

async function flushStdio(): Promise<void> {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.writableLength > 0) await new Promise((resolve) => stream.write("", resolve));
  }
}

/** Takes every task already posted on the port (synchronously, without a turn of the event loop). */
function drain(port: MessagePort, counts: Int32Array, mode: AtomicsMode): void {
  lastRequestCount = Atomics.load(counts, REQUEST_COUNT);
  for (let entry = receiveMessageOnPort(port); entry !== undefined; entry = receiveMessageOnPort(port)) {
    void runTask(port, counts, mode, entry.message as TaskMessage);
  }
}

/**
 * With atomics, an idle thread waits on the request counter instead of its event loop:
 * "sync" blocks the thread (no timers run between tasks, as in piscina), "async" waits without blocking.
 */
function waitForWork(port: MessagePort, counts: Int32Array, mode: AtomicsMode): void {
  if (mode === "disabled" || running > 0) return;
  if (mode === "async") {
    const waited = Atomics.waitAsync(counts, REQUEST_COUNT, lastRequestCount);
    if (waited.async) void waited.value.then(() => drain(port, counts, mode));
    else drain(port, counts, mode);
    return;
  }
  while (running === 0) {
    Atomics.wait(counts, REQUEST_COUNT, lastRequestCount);
    drain(port, counts, mode);
  }
}

parentPort!.once("message", async (startup: StartupMessage) => {
  const { port, counts, atomics } = startup;
  if (startup.filename !== null) await handlerOf(startup.filename, startup.name).catch(() => undefined);
  parentPort!.postMessage({ [READY_KEY]: true });
  // A message taken by receiveMessageOnPort never reaches this listener: each task runs once.
  port.on("message", (m: TaskMessage) => void runTask(port, counts, atomics, m));
  if (atomics === "disabled") return;
  drain(port, counts, atomics);
  waitForWork(port, counts, atomics);
});
