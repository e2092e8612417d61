// The types users hold for a runtime: `LoomApi` (what `current()` returns in any thread) and `Runtime` (the
// driver's, from `init`). Interfaces rather than the classes, so that the engine's own methods (submission,
// reference counting, recovery) stay off what users see and autocomplete.
import type { EventEmitter } from "eventemitter3";
import type { ObjectRef } from "./refs.js";
import type { ObjectRefGenerator } from "./streaming/object-ref-generator.js";
import type { ActorHandle, ModuleWrappers, RemoteFunction } from "./remote.js";
import type { GraphNode, GraphEdge } from "./runtime/runtime.js";

/** Options of `get`. */
export interface GetOptions {
  /** Reject with `GetTimeoutError` after this many milliseconds (≥ 0; `Infinity` means never). */
  timeoutMs?: number;
}

/** Options of `wait`. */
export interface WaitOptions {
  /** How many refs must be ready before `wait` returns (default 1; at most the number of refs). */
  numReturns?: number;
  /** Return after this many milliseconds with whatever is ready by then (never rejects on timeout). */
  timeoutMs?: number;
}

/** Options of `cancel`. */
export interface CancelOptions {
  /** Also kill the worker thread running the task (its other work is retried as after a crash). */
  force?: boolean;
}

/** Options of `kill`. */
export interface KillOptions {
  /** Default true: the actor stays dead. With false, it restarts if its `maxRestarts` allows. */
  noRestart?: boolean;
}

/** The values behind a list of refs, element by element: `[ObjectRef<number>, ObjectRef<string>]` gives `[number, string]`. */
export type ValuesOf<T extends readonly ObjectRef[]> = { -readonly [K in keyof T]: T[K] extends ObjectRef<infer V> ? V : never };

/** What `wait` returns: both lists keep the input order and the refs' types. */
export interface WaitResult<R extends ObjectRef> {
  ready: R[];
  pending: R[];
}

/** Bytes held by the object store (see `Runtime.storeUsage`). */
export interface StoreUsage {
  /** Bytes of small objects in the WebAssembly arena. */
  arenaBytes: number;
  /** Bytes of shared segments holding live big objects. */
  segmentBytes: number;
  /** Bytes of segments of freed objects kept for reuse (some may still be seen by views not yet collected). */
  idleSegmentBytes: number;
  /** Objects the driver knows of. */
  objects: number;
}

/**
 * The Loom API of one thread. In the driver it is the {@link Runtime} made by `init`; inside a task or an actor
 * method, `current()` returns the same API bound to the worker, so tasks submit tasks, put, get and wait.
 */
export interface LoomApi {
  /**
   * Makes a remote function of a self-contained function: its source is shipped to the workers, so it may not
   * use variables from around it (pass them as arguments, or export the function from a module instead).
   * The task's name (in errors, events and the graph) is the function's name.
   * @example
   * const square = rt.remote(function square(x: number) { return x * x; });
   * await rt.get(square.remote(7)); // 49
   */
  remote<F extends (...args: any[]) => any>(fn: F): RemoteFunction<F>;

  /**
   * Loads a module and wraps its exports: exported functions become remote functions, exported classes actor
   * classes (an exported `Error` subclass stays an error class: a task that throws it rejects with a
   * `TaskError` that is also `instanceof` it). Workers load the module on first use and keep it loaded.
   * @example
   * const m = await rt.module<typeof import("./tasks.js")>(new URL("./tasks.ts", import.meta.url));
   * const sum = await rt.get(m.add.remote(1, 2)); // 3
   */
  module<M = Record<string, unknown>>(url: URL | string): Promise<ModuleWrappers<M>>;

  /**
   * Stores a value once, in shared memory, and returns its ref. The object is immutable from then on; big
   * typed arrays, buffers and Arrow tables are read back as views without copying.
   * @example
   * const image = rt.put(new Float64Array(3000 * 3000));
   * const edges = m.convolve.remote(image, kernel); // every task reads the same shared copy
   */
  put<T>(value: T): ObjectRef<T>;

  /**
   * Waits for the value behind a ref (or each ref of a list) and returns it. A task's failure rejects with its
   * error (a `TaskError`, `WorkerCrashedError`, ...). Typed arrays, `ArrayBuffer`, `DataView` and Arrow data
   * of 16 KiB or more come back as views on the stored object, without a copy; smaller ones are copies.
   * Either way the value must not be written to: stored objects are immutable (copy with `.slice()` first).
   * With `init({ checkImmutable: true })`, a get of an object changed since it was stored rejects with
   * `ObjectMutatedError`.
   * @example
   * const total = await rt.get(m.add.remote(1, 2));            // number
   * const [a, b] = await rt.get([refA, refB]);                  // each element keeps its type
   * await rt.get(slow, { timeoutMs: 1_000 });                   // GetTimeoutError after 1 s
   */
  get<T>(ref: ObjectRef<T>, options?: GetOptions): Promise<T>;
  get<const T extends readonly ObjectRef[]>(refs: T, options?: GetOptions): Promise<ValuesOf<T>>;

  /**
   * Waits until `numReturns` of the refs are ready (finished or failed), or the timeout passes, and splits them.
   * Never rejects on timeout; `ready` holds at most `numReturns` refs, the first ready ones in input order.
   * @example
   * let pending = jobs;
   * while (pending.length > 0) {
   *   const done = await rt.wait(pending, { numReturns: 1 });
   *   console.log(await rt.get(done.ready));
   *   pending = done.pending;
   * }
   */
  wait<R extends ObjectRef>(refs: readonly R[], options?: WaitOptions): Promise<WaitResult<R>>;

  /**
   * Cancels the task behind a ref: a queued task never runs; a running one sees `current().signal` aborted
   * (with `force: true`, its worker is killed). The ref and its dependents reject with `TaskCancelledError`.
   * @example
   * const ref = m.slowSearch.remote(query);
   * rt.cancel(ref);
   * await rt.get(ref); // rejects with TaskCancelledError
   * // A streaming generator: its next() rejects with TaskCancelledError; refs taken before stay valid.
   * rt.cancel(gen);
   */
  cancel(ref: ObjectRef | ObjectRefGenerator, options?: CancelOptions): void;

  /**
   * Kills an actor. Its pending and later calls reject with `ActorDiedError`; by default it is not restarted.
   * @example
   * const counter = m.Counter.remote(0);
   * rt.kill(counter);
   */
  kill(handle: ActorHandle, options?: KillOptions): void;

  /**
   * The handle of a live named actor (one created with `.options({ name })`).
   * @example
   * m.Registry.options({ name: "registry" }).remote();
   * const registry = rt.getActor<Registry>("registry");
   */
  getActor<T = any>(name: string): ActorHandle<T>;

  /**
   * Inside a task or actor method: aborted when the task is cancelled. Reading it in the driver throws.
   * @example
   * export async function crawl(urls: string[]) {
   *   for (const url of urls) await fetch(url, { signal: current().signal });
   * }
   */
  readonly signal: AbortSignal;
}

/** Fault injection for tests and demos (`rt.faults`). */
export interface Faults {
  /**
   * Kills a worker thread mid-flight, as a crash would (default: a busy one); resolves to its index.
   * @example
   * await rt.faults.killWorker(); // tasks it ran are retried elsewhere
   */
  killWorker(index?: number): Promise<number>;
  /**
   * Drops a stored object without spilling, as a lost node would; false when it is not stored yet.
   * @example
   * rt.faults.evict(ref);
   * await rt.get(ref); // rebuilt by re-running the task that made it
   */
  evict(ref: ObjectRef): boolean;
  /**
   * Crashes an actor; it restarts (replaying its calls) if its `maxRestarts` allows.
   * @example
   * rt.faults.killActor(counter);
   */
  killActor(handle: ActorHandle): void;
  /**
   * Arms a crash point of the worker protocol: the next `times` threads (default 1) to reach `point` die
   * there, as a crash would. Resolves with what fired once every armed crash has (or at `disarm()`). Points:
   * `taken`, `running`, `sealing`, `sealed`, `putting`, `checkpointing` (see docs/faults.md).
   * @example
   * const fired = rt.faults.crashAt("sealed");
   * await rt.get(m.add.remote(1, 2)); // 3: the task is finished, not run twice
   * console.log((await fired).taskIds);
   */
  crashAt(point: "taken" | "running" | "sealing" | "sealed" | "putting" | "checkpointing", options?: { times?: number }): Promise<{ fired: number; taskIds: string[] }>;
  /**
   * Clears the armed crashes that have not fired; `crashAt`'s promises resolve with what did.
   * @example
   * rt.faults.disarm();
   */
  disarm(): void;
  /**
   * Kills a cluster node's process at once (SIGKILL), as a lost machine; never the driver's own node.
   * Resolves once the signal is sent; the head declares the node dead after its `nodeTimeoutMs`.
   * @example
   * const [node] = (await rt.nodes()).filter((n) => !n.isDriver && !n.isHead);
   * await rt.faults.killNode(node.nodeId);
   */
  killNode(nodeId: string): Promise<void>;
}

/** One node of a cluster as {@link Runtime.nodes} lists it (a standalone runtime is one node). */
export interface NodeSummary {
  nodeId: string;
  /** host:port of its object and work server ("local" for a standalone runtime). */
  address: string;
  state: "alive" | "dead";
  isHead: boolean;
  isDriver: boolean;
  /** Its worker threads. */
  workers: number;
  /** What it offers (`cpu` is its worker count unless given). */
  resources: Record<string, number>;
  /** Of `resources`, what is not in use, as last reported (0 when all are in use). */
  available: Record<string, number>;
}

/** The driver's runtime, made by `init`: the {@link LoomApi} plus what only the driver has. */
export interface Runtime extends LoomApi {
  /**
   * Task, worker, object and actor events (`task:finished`, `worker:died`, `object:rebuilt`, ...), each with a
   * plain-object payload. Listeners cost nothing when there are none.
   * @example
   * rt.events.on("task:failed", (e) => console.error(e.taskId, e.name));
   */
  readonly events: EventEmitter;
  /** Fault injection (see {@link Faults}). */
  readonly faults: Faults;
  /** The number of worker threads. */
  readonly workerCount: number;
  /** The capacity of the shared-memory object store, in bytes. */
  readonly objectStoreBytes: number;
  /**
   * The dynamic graph so far: one node per task, actor creation and `put`; edges of kind `data` (a ref
   * argument), `control` (a task submitted by a task) and `stateful` (consecutive calls on one actor).
   * @example
   * const { nodes, edges } = rt.graph();
   * console.log(`${nodes.length} tasks, ${edges.filter((e) => e.kind === "data").length} data edges`);
   */
  graph(): { nodes: GraphNode[]; edges: GraphEdge[] };
  /**
   * Bytes the object store holds now.
   * @example
   * console.log(rt.storeUsage().segmentBytes);
   */
  storeUsage(): StoreUsage;
  /**
   * Stops the workers, frees the shared memory and removes spill files. Pending `get`s reject.
   * @example
   * try { await main(rt); } finally { await rt.shutdown(); }
   */
  shutdown(): Promise<void>;
  /** True once `shutdown` was called. */
  readonly isShutdown: boolean;
  /**
   * Where the live dashboard serves (`init({ dashboard: true })`), or undefined when it is off.
   * @example
   * const rt = await init({ dashboard: { port: 0 } });
   * console.log(`open ${rt.dashboardUrl}`);
   */
  readonly dashboardUrl: string | undefined;
  /**
   * Every node the cluster's head knows, this driver's own included (`isDriver`), dead ones too. A standalone
   * runtime lists itself only.
   * @example
   * const rt = await init({ address: "127.0.0.1:6380" });
   * console.log((await rt.nodes()).filter((n) => n.state === "alive").length, "nodes alive");
   */
  nodes(): Promise<NodeSummary[]>;
  /** @internal Sizes of the driver's tables, for tests that check they do not grow without bound. */
  tableSizes(): TableSizes;
}

/** @internal Entries in the driver's tables (see {@link Runtime.tableSizes}). */
export interface TableSizes {
  /** Tasks the driver keeps (running, waiting, or kept as lineage). */
  tasks: number;
  objects: number;
  actors: number;
  /** Store segments the driver maps (big objects). */
  segments: number;
  /** Tasks whose SharedArrayBuffer arguments the workers keep. */
  sharedArgs: number;
  /** Graph nodes kept for rt.graph() (bounded: the oldest half goes past 100,000). */
  graphNodes: number;
  /** On a cluster: actors other processes own that this one has calls or kills in flight to (0 otherwise). */
  foreignActors: number;
}
