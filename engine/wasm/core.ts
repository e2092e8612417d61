// The only module that touches the WebAssembly exports: loads the core, plans the memory map, and gives the
// engine typed calls. The driver creates the shared memory; workers attach to it with the same compiled module.
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import * as L from "../../core-wasm/shared/layout.js";
import { LoomError } from "../errors.js";

export interface CoreExports {
  queuePush(q: number, value: number): number;
  queuePop(q: number): number;
  queueLength(q: number): number;
  arenaAlloc(bytes: number): number;
  arenaFree(ptr: number): void;
  arenaUsed(): number;
  arenaFresh(): number;
  arenaSizeOf(ptr: number): number;
  arenaClassOf(bytes: number): number;
  objFind(lo: number, hi: number): number;
  objInsert(lo: number, hi: number): number;
  objRemove(entry: number): void;
  objSeal(entry: number, location: number, size: number, flags: number): number;
  objReopen(entry: number): void;
  objSetState(entry: number, state: number): void;
  objState(entry: number): number;
  objLocation(entry: number): number;
  objSize(entry: number): number;
  objFlags(entry: number): number;
  objAddWaiter(entry: number, edge: number, slot: number): number;
  taskArm(slot: number, deps: number, n: number): number;
  taskRelease(slot: number): number;
  taskRequeue(slot: number): void;
  taskStart(slot: number, worker: number): number;
  taskFinish(slot: number, outcome: number): void;
  taskCasState(slot: number, expected: number, next: number): number;
  // Worker records (core-wasm/assembly/worker-table.ts): what a thread is in the middle of, undone if it dies.
  workerPark(worker: number): void;
  workerUnpark(worker: number): void;
  arenaAllocFor(bytes: number, worker: number): number;
  objSealBy(entry: number, location: number, size: number, flags: number, worker: number): number;
  workerBlockTaken(worker: number, location: number): void;
  workerHeldRoom(worker: number, capacity: number): number;
  workerDefer(worker: number, location: number, capacity: number): number;
  workerHeldPosted(worker: number, list: number): void;
  workerHeldTaken(worker: number, list: number): void;
  workerHeldDropped(worker: number, list: number): void;
  workerReclaim(worker: number): number;
  coreInit(
    readyQueue: number, admitQueue: number, doneQueue: number, queueCapacity: number,
    taskTable: number, taskSlots: number, objectTable: number, objectCapacity: number,
    freeLists: number, arenaStart: number, arenaEnd: number, workerTable: number, workerSlots: number,
  ): void;
  readyPop(): number;
  readyTake(worker: number): number;
  admitPop(): number;
  donePop(): number;
}

/** Capacities the driver chooses; every address follows from them. */
export interface CoreSizes {
  taskSlots: number;       // power of two
  objectCapacity: number;  // power of two, at least 2 (one entry always stays empty: it holds capacity - 1 objects)
  arenaBytes: number;
  /** Worker indexes with a record (WORKER_BYTES each; default DEFAULT_WORKER_SLOTS): a higher index is not recorded. */
  workers?: number;
}

/** Worker records planned when CoreSizes.workers is not given. */
export const DEFAULT_WORKER_SLOTS = 64;

export interface CorePlan extends CoreSizes {
  workers: number;
  readyQueue: number;
  admitQueue: number;
  doneQueue: number;
  taskTable: number;
  objectTable: number;
  freeLists: number;
  workerTable: number;
  scratch: number;
  scratchBytes: number;
  arenaStart: number;
  arenaEnd: number;
  pages: number;
}

/** What a worker needs to attach: both clone through workerData. */
export interface CoreHandle {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  plan: CorePlan;
}

const PAGE = 65536;
const SCRATCH_BYTES = 256 * 1024;
/**
 * Every address in the core must stay below 2^31: the core and JavaScript pass addresses as i32, and the seal's
 * edge walk (`edge > 0`) and every `Int32Array` read of an address treat them as signed.
 */
export const CORE_ADDRESS_LIMIT = 2 ** 31;
const align = (n: number, a: number) => Math.ceil(n / a) * a;
const isPowerOfTwo = (n: number) => Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;

function checkSizes(sizes: CoreSizes): void {
  const { taskSlots, objectCapacity, arenaBytes, workers = DEFAULT_WORKER_SLOTS } = sizes;
  if (!isPowerOfTwo(taskSlots) || taskSlots > 2 ** 30) {
    throw new LoomError(`core layout: taskSlots ${String(taskSlots)} must be a power of two between 1 and 2^30`);
  }
  if (!isPowerOfTwo(objectCapacity) || objectCapacity < 2 || objectCapacity > 2 ** 30) {
    throw new LoomError(`core layout: objectCapacity ${String(objectCapacity)} must be a power of two between 2 and 2^30 (one entry always stays empty)`);
  }
  if (!Number.isSafeInteger(workers) || workers < 1 || workers > 2 ** 16) {
    throw new LoomError(`core layout: workers ${String(workers)} must be an integer between 1 and 65536`);
  }
  if (!Number.isSafeInteger(arenaBytes) || arenaBytes <= 0) {
    throw new LoomError(`core layout: arenaBytes ${String(arenaBytes)} must be a positive integer`);
  }
}

/**
 * Lays the regions out after the control block, each on a cache line. Throws a LoomError when a size is not a
 * valid capacity, or when the plan would put any address at or above 2^31 (CORE_ADDRESS_LIMIT).
 */
export function planLayout(sizes: CoreSizes): CorePlan {
  checkSizes(sizes);
  let at = L.CORE_BASE + L.CONTROL_BYTES;
  const take = (bytes: number, alignment = L.CACHE_LINE) => {
    at = align(at, alignment);
    const start = at;
    at += bytes;
    return start;
  };
  const queueBytes = L.QUEUE_HEADER_BYTES + sizes.taskSlots * L.QUEUE_CELL_BYTES;
  const readyQueue = take(queueBytes);
  const admitQueue = take(queueBytes);
  const doneQueue = take(queueBytes);
  const taskTable = take(sizes.taskSlots * L.TASK_BYTES);
  const objectTable = take(sizes.objectCapacity * L.OBJ_BYTES);
  const freeLists = take(L.ARENA_CLASSES * 8);
  const workers = sizes.workers ?? DEFAULT_WORKER_SLOTS;
  const workerTable = take(workers * L.WORKER_BYTES);
  const scratch = take(SCRATCH_BYTES);
  const arenaStart = take(sizes.arenaBytes, 1 << L.ARENA_MAX_SHIFT);
  const arenaEnd = arenaStart + sizes.arenaBytes;
  const pages = Math.ceil(arenaEnd / PAGE);
  // arenaEnd itself is stored in the control block and compared as an i32, so it must stay below the limit too.
  if (arenaEnd >= CORE_ADDRESS_LIMIT) {
    const mib = (n: number) => `${Math.ceil(n / 2 ** 20)} MiB`;
    throw new LoomError(
      `core layout: the shared memory would end at ${mib(arenaEnd)} (tables up to ${mib(arenaStart)}, arena ${mib(sizes.arenaBytes)}); ` +
      `every core address must stay below 2 GiB because addresses are signed i32: lower arenaBytes, objectCapacity or taskSlots`,
    );
  }
  return {
    ...sizes, workers, readyQueue, admitQueue, doneQueue, taskTable, objectTable, freeLists, workerTable, scratch,
    scratchBytes: SCRATCH_BYTES, arenaStart, arenaEnd, pages,
  };
}

let workaroundsApplied = false;
/**
 * Node 20's baseline wasm compiler (Liftoff) loses loop-carried locals across atomic waits. The core never
 * waits inside wasm, and we also compile with TurboFan only, so a future wait cannot hit the bug.
 */
export function applyWasmWorkarounds(): void {
  if (workaroundsApplied) return;
  workaroundsApplied = true;
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 22) setFlagsFromString("--no-liftoff");
}

let compiled: WebAssembly.Module | undefined;
export function coreWasmUrl(): URL {
  // Works from engine/wasm (source, under tsx) and from dist/engine/wasm (compiled).
  const here = new URL(".", import.meta.url);
  const up = here.pathname.includes("/dist/engine/") ? "../../../" : "../../";
  return new URL(`${up}build/core.wasm`, here);
}

export function compileCore(): WebAssembly.Module {
  applyWasmWorkarounds();
  if (!compiled) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(coreWasmUrl());
    } catch (error) {
      throw new Error(`Loom's WebAssembly core is not built (${coreWasmUrl().pathname}); run \`npm run build\``, { cause: error });
    }
    compiled = new WebAssembly.Module(new Uint8Array(bytes));
  }
  return compiled;
}

/** The core as one thread sees it: the exports plus views on the shared memory. */
export class Core {
  readonly exports: CoreExports;
  readonly memory: WebAssembly.Memory;
  readonly plan: CorePlan;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;

  private constructor(handle: CoreHandle) {
    this.memory = handle.memory;
    this.plan = handle.plan;
    const instance = new WebAssembly.Instance(handle.module, { env: { memory: handle.memory } });
    this.exports = instance.exports as unknown as CoreExports;
    // The memory is allocated at its full size up front and never grows, so these views stay valid.
    this.i32 = new Int32Array(handle.memory.buffer);
    this.u8 = new Uint8Array(handle.memory.buffer);
  }

  /** Driver: allocates the shared memory and initialises every structure. */
  static create(sizes: CoreSizes): { core: Core; handle: CoreHandle } {
    const plan = planLayout(sizes);
    const module = compileCore();
    const memory = new WebAssembly.Memory({ initial: plan.pages, maximum: plan.pages, shared: true });
    const handle = { module, memory, plan };
    const core = new Core(handle);
    core.exports.coreInit(
      plan.readyQueue, plan.admitQueue, plan.doneQueue, plan.taskSlots,
      plan.taskTable, plan.taskSlots, plan.objectTable, plan.objectCapacity,
      plan.freeLists, plan.arenaStart, plan.arenaEnd, plan.workerTable, plan.workers,
    );
    return { core, handle };
  }

  /** Worker: instantiates the same module over the driver's memory. */
  static attach(handle: CoreHandle): Core {
    applyWasmWorkarounds();
    const core = new Core(handle);
    if (Atomics.load(core.i32, (L.CORE_BASE + L.CTL_MAGIC) >> 2) !== L.CORE_MAGIC) {
      throw new Error("Loom core: attached to a memory the driver has not initialised");
    }
    return core;
  }

  /** Index into `i32` of a control-block field. */
  static ctl(field: number): number {
    return (L.CORE_BASE + field) >> 2;
  }

  taskField(slot: number, field: number): number {
    return this.i32[(this.plan.taskTable + slot * L.TASK_BYTES + field) >> 2];
  }
  setTaskField(slot: number, field: number, value: number): void {
    this.i32[(this.plan.taskTable + slot * L.TASK_BYTES + field) >> 2] = value;
  }
}
