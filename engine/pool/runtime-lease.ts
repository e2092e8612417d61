// Which Loom runtime a Pool runs on: the current one when there is one, else one
// made with init(). Owns the count of pools on a runtime that pools made, and shuts
// that runtime down when its last pool lets go. A runtime the user made is never
// shut down here.

import { current, init } from "../index.js";

export type Runtime = Awaited<ReturnType<typeof init>>;

/** A pool's hold on a runtime, from acquire until release. */
export interface RuntimeLease {
  readonly runtime: Runtime;
  /** True when pools made this runtime (and so the last pool shuts it down). */
  readonly poolMade: boolean;
  /** Lets go; shuts the runtime down if pools made it and no other pool holds it. */
  release(): Promise<void>;
}

/** Pools holding each runtime that pools made; deleted at shutdown. */
const holders = new Map<Runtime, number>();
/** An init() a pool started and that has not resolved yet: other pools wait for it. */
let starting: Promise<Runtime> | undefined;

function currentRuntime(): Runtime | undefined {
  try {
    return (current() as Runtime | undefined) ?? undefined;
  } catch {
    return undefined; // no runtime yet: current() throws in the driver before init
  }
}

/**
 * Gets a runtime for a pool:
 * 1. a runtime that pools made (and have not shut down) is shared;
 * 2. else the current one (user-made, never shut down by pools);
 * 3. else init({ workers }) is started once, however many pools ask at the same time.
 */
export async function acquireRuntime(workers: number | undefined, address?: string): Promise<RuntimeLease> {
  if (starting !== undefined) await starting.catch(() => undefined);
  const existing = currentRuntime();
  if (existing !== undefined) {
    const poolMade = holders.has(existing);
    if (poolMade) holders.set(existing, holders.get(existing)! + 1);
    return lease(existing, poolMade);
  }
  // Registered before anyone can await `made`, so a pool waiting on `starting`
  // already sees this runtime as pool-made.
  const made = (init({ ...(workers === undefined ? {} : { workers }), ...(address === undefined ? {} : { address }) }) as Promise<Runtime>).then((runtime) => {
    holders.set(runtime, 0);
    return runtime;
  });
  starting = made;
  try {
    const runtime = await made;
    holders.set(runtime, holders.get(runtime)! + 1);
    return lease(runtime, true);
  } finally {
    if (starting === made) starting = undefined;
  }
}

function lease(runtime: Runtime, poolMade: boolean): RuntimeLease {
  let released = false;
  return {
    runtime,
    poolMade,
    async release() {
      if (released) return;
      released = true;
      if (!poolMade) return;
      const left = (holders.get(runtime) ?? 1) - 1;
      if (left > 0) {
        holders.set(runtime, left);
        return;
      }
      holders.delete(runtime);
      await runtime.shutdown();
    },
  };
}
