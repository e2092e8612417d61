// The TypeScript baselines behind the same method names as the wasm exports, bound to one core's memory, so a
// property test can drive either implementation (or both, interleaved) through one interface.
// Benchmarks call the module functions directly instead, to keep their call sites monomorphic.
import type { CoreExports } from "../../../engine/wasm/core.js";
import {
  CORE_BASE, CTL_READY_QUEUE, CTL_ADMIT_QUEUE, CTL_DONE_QUEUE, CTL_ARENA_BUMP, CTL_ARENA_END,
} from "../../../core-wasm/shared/layout.js";
import * as Q from "./js-ready-queue.js";
import * as A from "./js-arena.js";
import * as O from "./js-object-table.js";
import * as T from "./js-task-table.js";

/** The worker records' exports: no baseline, as no benchmark or property of a single structure needs one. */
type WorkerRecordOps = "workerPark" | "workerUnpark" | "arenaAllocFor" | "objSealBy" | "workerBlockTaken" | "workerHeldRoom" |
  "workerDefer" | "workerHeldPosted" | "workerHeldTaken" | "workerHeldDropped" | "workerReclaim";

/** Every export the engine uses but the worker records', plus queueInit (exported by the wasm, not listed in CoreExports). */
export type CoreOps = Omit<CoreExports, "coreInit" | WorkerRecordOps> & { queueInit(q: number, capacity: number): void };

/** The wasm exports seen as CoreOps (queueInit is exported by core-wasm/assembly/index.ts). */
export function wasmOps(exports: CoreExports): CoreOps {
  if (typeof (exports as Partial<CoreOps>).queueInit !== "function") throw new Error("core.wasm does not export queueInit");
  return exports as unknown as CoreOps;
}

export class JsCore implements CoreOps {
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;

  constructor(buffer: ArrayBufferLike) {
    this.i32 = new Int32Array(buffer);
    this.i64 = new BigInt64Array(buffer);
  }

  private ctl(field: number): number { return this.i32[CORE_BASE + field >> 2]! >>> 0; }

  queueInit = (q: number, capacity: number): void => Q.queueInit(this.i32, q, capacity);
  queuePush = (q: number, value: number): number => Q.queuePush(this.i32, q, value) ? 1 : 0;
  queuePop = (q: number): number => Q.queuePop(this.i32, q);
  queueLength = (q: number): number => Q.queueLength(this.i32, q);
  readyPop = (): number => Q.queuePop(this.i32, this.ctl(CTL_READY_QUEUE));
  readyTake = (worker: number): number => {
    const slot = Q.queuePop(this.i32, this.ctl(CTL_READY_QUEUE));
    if (slot < 0) return -1;
    return T.taskStart(this.i32, slot, worker) ? slot : -2;
  };
  admitPop = (): number => Q.queuePop(this.i32, this.ctl(CTL_ADMIT_QUEUE));
  donePop = (): number => Q.queuePop(this.i32, this.ctl(CTL_DONE_QUEUE));

  arenaAlloc = (bytes: number): number => A.arenaAlloc(this, bytes);
  arenaFree = (ptr: number): void => A.arenaFree(this, ptr);
  arenaUsed = (): number => A.arenaUsed(this);
  arenaSizeOf = (ptr: number): number => A.arenaSizeOf(this, ptr);
  arenaClassOf = (bytes: number): number => A.arenaClassOf(bytes);
  arenaFresh = (): number => {
    const end = this.ctl(CTL_ARENA_END);
    const bump = Atomics.load(this.i32, CORE_BASE + CTL_ARENA_BUMP >> 2) >>> 0;
    return bump >= end ? 0 : end - bump;
  };

  objFind = (lo: number, hi: number): number => O.objFind(this.i32, lo, hi);
  objInsert = (lo: number, hi: number): number => O.objInsert(this.i32, lo, hi);
  objRemove = (entry: number): void => O.objRemove(this.i32, entry);
  objSeal = (entry: number, location: number, size: number, flags: number): number =>
    O.objSeal(this.i32, entry, location, size, flags);
  objReopen = (entry: number): void => O.objReopen(this.i32, entry);
  objSetState = (entry: number, state: number): void => O.objSetState(this.i32, entry, state);
  objState = (entry: number): number => O.objState(this.i32, entry);
  objLocation = (entry: number): number => O.objLocation(this.i32, entry);
  objSize = (entry: number): number => O.objSize(this.i32, entry);
  objFlags = (entry: number): number => O.objFlags(this.i32, entry);
  objAddWaiter = (entry: number, edge: number, slot: number): number => O.objAddWaiter(this.i32, entry, edge, slot);

  taskArm = (slot: number, deps: number, n: number): number => T.taskArm(this.i32, slot, deps, n);
  taskRelease = (slot: number): number => T.taskRelease(this.i32, slot);
  taskRequeue = (slot: number): void => T.taskRequeue(this.i32, slot);
  taskStart = (slot: number, worker: number): number => T.taskStart(this.i32, slot, worker) ? 1 : 0;
  taskFinish = (slot: number, outcome: number): void => T.taskFinish(this.i32, slot, outcome);
  taskCasState = (slot: number, expected: number, next: number): number => T.taskCasState(this.i32, slot, expected, next);
}
