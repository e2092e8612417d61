// The memory soak's sampler: one sample of the driver's memory, the store's, the engine's table sizes and each
// worker thread's heap, taken between program runs (nothing of ours in flight) after garbage collections, so
// that what a sample holds is what the runtime keeps, not what a run happened to have in flight.
import { setTimeout as sleep } from "node:timers/promises";
import type { Runtime, ObjectRef } from "loom-dag";
import type { WorkerHeap } from "../fixtures/memory-probe.js";

export const MEMORY_PROBE_URL = new URL("../fixtures/memory-probe.ts", import.meta.url);

export interface MemorySample {
  /** Seconds since the sampler started. */
  t: number;
  /** Program runs so far, and runtimes started (a failure replaces the runtime). */
  runs: number;
  runtimes: number;
  driverRss: number;
  /** Driver V8 heap in use after gc() (only with --expose-gc; otherwise whatever is live and dead). */
  driverHeapUsed: number;
  driverExternal: number;
  /** Object store: arena bytes in use, live and idle segment bytes, objects the driver knows. */
  arenaBytes: number;
  segmentBytes: number;
  idleSegmentBytes: number;
  storeObjects: number;
  /** The driver's tables (Runtime.tableSizes): tasks (and their lineage), objects, actors, segments, graph nodes. */
  tables: Record<string, number>;
  /** Per worker thread reached, its heap in use after its own gc(); sum and largest. */
  workerHeapUsed: number[];
  workerHeapSum: number;
  workerHeapMax: number;
  /** Workers whose probe answered, of workerCount (fewer when a thread was being replaced). */
  workersSeen: number;
  workerCount: number;
}

/** The numeric series of a sample the verdict looks at, by name. */
export type SeriesName = "driverRss" | "driverHeapUsed" | "workerHeapSum" | "workerHeapMax" | "arenaBytes" | "segmentBytes" | "storeObjects";

const gc = (globalThis as { gc?: () => void }).gc;

/** Collects garbage twice with a turn between (finalizers run later and release refs to the engine). */
export async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 3 && gc; i++) {
    gc();
    await sleep(20);
  }
}

export class MemorySampler {
  private readonly started = Date.now();
  private probes = new WeakMap<Runtime, Promise<Record<string, any>>>();
  constructor(private readonly options: { probeWaitMs?: number } = {}) {}

  async sample(rt: Runtime, counts: { runs: number; runtimes: number }): Promise<MemorySample> {
    const workers = await this.workerHeaps(rt);
    await collectGarbage();
    const mem = process.memoryUsage();
    const store = rt.storeUsage();
    const heaps = workers.map((w) => w.heapUsed);
    return {
      t: Math.round((Date.now() - this.started) / 100) / 10,
      runs: counts.runs, runtimes: counts.runtimes,
      driverRss: mem.rss, driverHeapUsed: mem.heapUsed, driverExternal: mem.external,
      arenaBytes: store.arenaBytes, segmentBytes: store.segmentBytes, idleSegmentBytes: store.idleSegmentBytes, storeObjects: store.objects,
      tables: { ...rt.tableSizes() },
      workerHeapUsed: heaps, workerHeapSum: heaps.reduce((s, h) => s + h, 0), workerHeapMax: Math.max(0, ...heaps),
      workersSeen: workers.length, workerCount: rt.workerCount,
    };
  }

  /** One probe per worker, held until all started (see memory-probe.ts); the heaps of distinct threads reached. */
  private async workerHeaps(rt: Runtime): Promise<WorkerHeap[]> {
    let probe = this.probes.get(rt);
    if (!probe) this.probes.set(rt, probe = rt.module(MEMORY_PROBE_URL) as Promise<Record<string, any>>);
    const m = await probe;
    const n = rt.workerCount;
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const waitMs = this.options.probeWaitMs ?? 3_000;
    const refs = Array.from({ length: n }, () => m.workerHeap.options({ maxRetries: 0 }).remote(counter, n, waitMs));
    const settled = await Promise.allSettled(refs.map((r) => rt.get(r as ObjectRef<WorkerHeap>, { timeoutMs: waitMs + 30_000 })));
    const byThread = new Map<number, WorkerHeap>();
    for (const s of settled) if (s.status === "fulfilled") byThread.set(s.value.threadId, s.value);
    return [...byThread.values()];
  }
}

/** One JSON line per sample (MiB with one decimal for bytes, so the file reads as a curve). */
export function sampleLine(s: MemorySample): string {
  const mib = (b: number): number => Math.round(b / 104857.6) / 10;
  return JSON.stringify({
    kind: "sample", t: s.t, runs: s.runs, runtimes: s.runtimes,
    driverRssMiB: mib(s.driverRss), driverHeapMiB: mib(s.driverHeapUsed), driverExternalMiB: mib(s.driverExternal),
    arenaMiB: mib(s.arenaBytes), segmentMiB: mib(s.segmentBytes), idleSegmentMiB: mib(s.idleSegmentBytes), storeObjects: s.storeObjects,
    tables: s.tables, workerHeapMiB: s.workerHeapUsed.map(mib), workersSeen: s.workersSeen, workerCount: s.workerCount,
  });
}
