// V8 paces its collections by the JS heap and by non-shared ArrayBuffers; the memory of SharedArrayBuffers does
// not count. A thread that makes big objects and drops their refs can therefore hold gigabytes of dead segments
// with no collection in sight (a loop of 8 MiB puts made 60 of them, 500 MB, with one full collection and no
// freed object). Refs and view handles are only found dead, and their segments freed or reused, by a full
// collection, so each thread asks for one after enough segment bytes could have died in it: in the driver, every
// segment that enters (the refs to it die unseen, in user code); in a worker, every segment it lets go (its
// handle is garbage from then on, unless a view the task kept still holds it).
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { MAX_IDLE_BYTES } from "./segment-pool.js";

/** Never collect more often than once per this many segment bytes, however small the store. */
const MIN_BUDGET_BYTES = 8 * 2 ** 20;
/** Never let more than this many segment bytes pass without a collection, however big the store. */
const MAX_BUDGET_BYTES = 256 * 2 ** 20;

type GcFunction = (options?: { type?: "major" | "minor"; execution?: "sync" | "async" }) => Promise<void> | void;
let gcFn: GcFunction | undefined;

/**
 * Asks for a full collection on a later turn of this thread's event loop (the caller, a put, is not held up by
 * it; finalizers need a turn anyway). `--expose-gc` only adds `gc` to contexts made after it is set.
 */
function collectGarbage(): void {
  if (!gcFn) {
    const exposed = (globalThis as { gc?: GcFunction }).gc;
    if (exposed) gcFn = exposed;
    else {
      setFlagsFromString("--expose-gc");
      gcFn = runInNewContext("gc") as GcFunction;
    }
  }
  void gcFn({ type: "major", execution: "async" });
}

export class CollectionPacer {
  private bytesSinceCollection = 0;
  private readonly budgetBytes: number;

  /**
   * `storeBytes`: the store's capacity. A collection comes after at most a sixteenth of it: a segment can wait for
   * a driver collection (its refs) and then a worker's (its handles) before it is free, and two budgets must fit
   * in the quarter of the store that the driver's segment pool keeps for reuse.
   */
  constructor(storeBytes: number) {
    this.budgetBytes = Math.min(MAX_BUDGET_BYTES, Math.max(MIN_BUDGET_BYTES, Math.floor(storeBytes / 16)));
  }

  /**
   * A segment of `bytes` may have died in this thread (see above). A big one (over MAX_IDLE_BYTES) is worth a
   * collection by itself: the driver's pool hands it to the next object of its size only once every handle on it
   * is collected, and the fresh segment that object gets otherwise costs a page fault per 4 KiB (a quarter of a
   * second per 64 MiB on a VM).
   */
  note(bytes: number): void {
    this.bytesSinceCollection += bytes;
    if (bytes > MAX_IDLE_BYTES) this.collectUnlessHeapBig(2);
    else if (this.bytesSinceCollection >= this.budgetBytes) this.collectUnlessHeapBig();
  }

  /**
   * The driver's pool had no free segment of `size` bytes. Waiting for the budget would leave later puts on fresh
   * segments until then (the pool runs dry when puts outpace one budget's worth of freed segments), so collect
   * early once a quarter of the budget, and a few segments of this size, have entered since the last collection.
   */
  poolMissed(size: number): void {
    if (this.bytesSinceCollection >= Math.max(this.budgetBytes / 4, 4 * size)) this.collectUnlessHeapBig();
  }

  /**
   * A full collection costs about the live heap; with a big heap, collect less often so that it stays a small
   * share of the work of writing the segments: only while the heap is at most `heapPerByte` times the segment
   * bytes since the last one. A big segment may be paid for with more (its fresh pages cost several times what
   * collecting as many bytes of heap does).
   */
  private collectUnlessHeapBig(heapPerByte = 0.5): void {
    if (getHeapStatistics().used_heap_size > heapPerByte * this.bytesSinceCollection) return;
    this.bytesSinceCollection = 0;
    collectGarbage();
  }
}
