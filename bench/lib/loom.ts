// The bench's door to the engine: loads `engine/index.js` at run time, so the harness and the
// baselines still run (and report the Loom side as skipped, with the reason) when the engine is
// missing or fails to load; starts one runtime per workload. Types are the engine's own.

import os from "node:os";
import type * as Engine from "../../engine/index.js";

export type { ActorHandle, InitOptions, ModuleWrappers, ObjectRef, Runtime } from "../../engine/index.js";

let cached: Promise<typeof Engine | string> | undefined;

/** The engine module, or a one-line reason why it cannot be loaded. LOOM_BENCH_ENGINE overrides the path. */
export function loadLoom(): Promise<typeof Engine | string> {
  cached ??= (async () => {
    const spec = process.env["LOOM_BENCH_ENGINE"] ?? "../../engine/index.js";
    try {
      const mod = (await import(new URL(spec, import.meta.url).href)) as typeof Engine;
      if (typeof mod.init !== "function") return `engine at ${spec} has no init()`;
      return mod;
    } catch (err) {
      return `engine not loadable (${spec}): ${(err as Error).message.split("\n")[0]}`;
    }
  })();
  return cached;
}

/** Whether `startLoom` pins the refs of every `get` until it settles (see `pinRefsDuringGet`). */
export const PIN_REFS = process.env["LOOM_BENCH_PIN_REFS"] === "1";

let lastHeld: unknown;

/**
 * Workaround for an engine bug found by this bench: `rt.get(ref)` keeps only the ref's id, so when
 * the ObjectRef itself becomes unreachable while the get is pending (`await rt.get(f.remote(x))`),
 * a GC lets the FinalizationRegistry free the object and the get fails with "Cannot read
 * properties of undefined (reading 'entry')". This wraps `get` on this one runtime instance so
 * its argument stays reachable until it settles (one extra promise per get). Fixed in the engine
 * since (getOne holds a reference while it waits), so off by default; LOOM_BENCH_PIN_REFS=1 turns it
 * on to benchmark an engine from before the fix.
 */
function pinRefsDuringGet(rt: Engine.Runtime): void {
  const original = rt.get.bind(rt) as (refs: unknown, opts?: { timeoutMs?: number }) => Promise<unknown>;
  const pinned = async (refs: unknown, opts?: { timeoutMs?: number }) => {
    try {
      return await original(refs, opts);
    } finally {
      lastHeld = refs;
      lastHeld = undefined;
    }
  };
  Object.defineProperty(rt, "get", { value: pinned, configurable: true, writable: true });
}

/** Starts a runtime with one worker per core unless told otherwise, or says why it cannot. */
export async function startLoom(opts: Engine.InitOptions = {}): Promise<{ rt: Engine.Runtime } | { skipped: string }> {
  const loom = await loadLoom();
  if (typeof loom === "string") return { skipped: loom };
  const rt = await loom.init({ workers: os.availableParallelism(), ...opts });
  if (PIN_REFS) pinRefsDuringGet(rt);
  return { rt };
}

/**
 * Makes every worker load the module of `warm` before the clock starts: batches of `workers`
 * calls that each hold a worker for 30 ms, until a batch takes under 4× that (or 10 tries).
 */
export async function warmLoom(rt: Engine.Runtime, warm: { remote(ms: number): Engine.ObjectRef<number> }, workers: number): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await rt.get(Array.from({ length: workers }, () => warm.remote(30)));
    if (performance.now() - t0 < 120) return;
  }
}

/**
 * Runs `fn` against `rt` but gives up after `limitS` seconds: the runtime is shut down (so a hung
 * `get` rejects and cleanup can run) and the promise rejects, naming `label`. Later calls on the
 * same runtime then fail at once, so one hang costs one limit, not the whole suite.
 */
export async function guard<T>(rt: Engine.Runtime, label: string, limitS: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void rt.shutdown().catch(() => undefined);
      reject(new Error(`${label}: no result after ${limitS} s (Loom hung; runtime shut down)`));
    }, limitS * 1000);
  });
  try {
    return await Promise.race([fn(), limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves with the workload's result, or rejects once it has run `limit` s: first the running
 * Loom runtime is shut down (its pending gets reject, so the workload's own cleanup runs), and if
 * the workload still has not settled 30 s later the runner gives up on it and moves on.
 */
export function withLimit<T>(name: string, work: Promise<T>, limit: number): Promise<T> {
  let soft: NodeJS.Timeout | undefined;
  let hard: NodeJS.Timeout | undefined;
  const giveUp = new Promise<never>((_, reject) => {
    soft = setTimeout(() => {
      console.error(`  ✗ ${name}: still running after ${limit} s; shutting the Loom runtime down`);
      void loadLoom().then(async (loom) => {
        if (typeof loom === "string") return;
        try {
          await (loom.current() as Engine.Runtime).shutdown();
        } catch {
          /* no runtime running */
        }
      });
      hard = setTimeout(() => reject(new Error(`timed out after ${limit} s`)), 30_000);
    }, limit * 1000);
  });
  return Promise.race([work, giveUp]).finally(() => {
    clearTimeout(soft);
    clearTimeout(hard);
  });
}
