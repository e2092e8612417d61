// The seeds' stateful workload (Ray blog, "stateful computation"): 2 actors × N documents of
// 10,000 random 20-byte strings; each actor counts every prefix and keeps those seen more than
// 3 times; the popular sets are merged at the end. Loom actors vs serial code and vs piscina's strongest
// form, one pinned single-thread pool per actor (module-level state); a pool that must pass the state in and
// out of every call stays as context (the multiprocessing pattern, run once, cold: 30+ s a run).

import type { Piscina } from "piscina";
import os from "node:os";
import { interleave, progress, type Stats, type Variant } from "../lib/measure.js";
import { makePool, warmPool } from "../lib/pools.js";
import { guard, startLoom, warmLoom, type ModuleWrappers, type Runtime } from "../lib/loom.js";
import { AnswerLog, peerRows } from "../lib/comparison.js";
import type { BenchResult, BenchRow, RunOptions } from "../lib/types.js";
import { countDocument, emptyState, makeDocument, mergePopular } from "./modules/prefix-kernel.js";
import type { PrefixState } from "./modules/prefix-kernel.js";
import type * as PrefixActorModule from "./modules/prefix-actor.js";
import type { PassStateTask } from "./modules/prefix-pool.js";

const ACTORS = 2;
const POOL_MODULE = new URL("./modules/prefix-pool.ts", import.meta.url);
const ACTOR_MODULE = new URL("./modules/prefix-actor.ts", import.meta.url);

interface Params {
  actors: number;
  docsPerActor: number;
  docSize: number;
  warmup: number;
  reps: number;
  passStateReps: number;
}

function params(quick: boolean, workers?: number, reps?: number): Params {
  const actors = workers ?? ACTORS;
  const p = quick
    ? { actors, docsPerActor: 3, docSize: 10_000, warmup: 1, reps: 1, passStateReps: 1 }
    : { actors, docsPerActor: 10, docSize: 10_000, warmup: 1, reps: 3, passStateReps: 1 };
  return reps === undefined ? p : { ...p, reps };
}

/** Two states in the main thread; documents generated inside the clock, as in every variant. */
function serial(p: Params): number {
  const states = Array.from({ length: p.actors }, emptyState);
  for (let i = 0; i < p.actors * p.docsPerActor; i++) countDocument(states[i % p.actors]!, makeDocument(i, p.docSize));
  return mergePopular(states.map((s) => s.popular)).size;
}

/** Multiprocessing style: each actor's state is a value that travels to the pool and back per document. */
async function passState(pool: Piscina, p: Params): Promise<number> {
  const chains = Array.from({ length: p.actors }, async (_, a) => {
    let state: PrefixState = emptyState();
    for (let k = 0; k < p.docsPerActor; k++) {
      const task: PassStateTask = { state, doc: makeDocument(k * p.actors + a, p.docSize) };
      state = (await pool.run(task, { name: "passState" })) as PrefixState;
    }
    return state.popular;
  });
  return mergePopular(await Promise.all(chains)).size;
}

/** State kept in module scope of a single-thread pool per actor: the only correct piscina form. */
async function pinned(pools: Piscina[], p: Params): Promise<number> {
  await Promise.all(pools.map((pool) => pool.run(null, { name: "resetPinned" })));
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < p.actors * p.docsPerActor; i++) {
    pending.push(pools[i % p.actors]!.run(makeDocument(i, p.docSize), { name: "addPinned" }));
  }
  await Promise.all(pending);
  const parts = (await Promise.all(pools.map((pool) => pool.run(null, { name: "popularPinned" })))) as string[][];
  return mergePopular(parts).size;
}

/** Loom actors: the driver generates each document and sends it to its actor; nothing waits until the merge. */
async function loomActors(rt: Runtime, m: ModuleWrappers<typeof PrefixActorModule>, p: Params): Promise<number> {
  const actors = Array.from({ length: p.actors }, () => m.PrefixCounter.remote());
  for (let i = 0; i < p.actors * p.docsPerActor; i++) actors[i % p.actors]!.addDocument.remote(makeDocument(i, p.docSize));
  const parts = await rt.get(actors.map((a) => a.popular.remote()));
  for (const a of actors) rt.kill(a);
  return mergePopular(parts).size;
}

/**
 * `workers` (bench/scaling.ts) sets the actors, the Loom workers and the pool's threads alike;
 * by default 2 actors on one Loom worker and one pool thread per core.
 */
export async function run({ quick, workers, reps }: RunOptions): Promise<BenchResult> {
  const p = params(quick, workers, reps);
  const notes: string[] = [];
  const answers = new AnswerLog<number>();
  const keep = (name: string) => answers.keep(name);

  progress(`${p.actors} actors × ${p.docsPerActor} docs of ${p.docSize} strings`);
  const pool = await makePool(POOL_MODULE, workers === undefined ? {} : { threads: workers });
  const pinnedPools = await Promise.all(Array.from({ length: p.actors }, () => makePool(POOL_MODULE, { threads: 1 })));
  await Promise.all([pool, ...pinnedPools].map((pp) => warmPool(pp, "resetPinned", null)));
  const variants: Record<string, Variant> = {
    serial: { fn: () => keep("serial")(serial(p)) },
    // Context only (no target): one cold run, as it takes 15-20× as long as the others.
    "piscina pass-state": { fn: async () => keep("piscina pass-state")(await passState(pool, p)), reps: p.passStateReps, warmup: 0 },
    "piscina pinned": { fn: async () => keep("piscina pinned")(await pinned(pinnedPools, p)) },
  };

  let skipped: string | undefined;
  const started = await startLoom(workers === undefined ? {} : { workers });
  let stats: Record<string, Stats | null> = {};
  let errors: Record<string, string> = {};
  if ("skipped" in started) skipped = started.skipped;
  try {
    if (!("skipped" in started)) {
      const { rt } = started;
      const m = await rt.module<typeof PrefixActorModule>(ACTOR_MODULE);
      await warmLoom(rt, m.warm, workers ?? os.availableParallelism());
      variants["loom actors"] = { fn: () => guard(rt, "loom actors", 120, async () => keep("loom actors")(await loomActors(rt, m, p))) };
    }
    ({ stats, errors } = await interleave(variants, { warmup: p.warmup, reps: p.reps }));
  } finally {
    if (!("skipped" in started)) await started.rt.shutdown();
    await Promise.all([pool, ...pinnedPools].map((pp) => pp.destroy()));
  }
  const serialStats = stats["serial"] ?? null;
  const passStats = stats["piscina pass-state"] ?? null;
  const pinnedStats = stats["piscina pinned"] ?? null;
  const loomStats = stats["loom actors"] ?? null;

  for (const [k, e] of Object.entries(errors)) {
    if (k.startsWith("loom")) skipped ??= `failed: ${e}`;
    else notes.push(`${k} failed: ${e}`);
  }
  const ran = Object.keys(variants).filter((k) => !(k in errors));
  for (const w of answers.check("serial", ran)) notes.push(`WRONG ANSWER: ${w} (popular prefixes)`);
  notes.push(`answer: ${answers.first("serial") ?? "?"} popular prefixes (union of ${p.actors} actors' sets), every run of every variant checked`);
  notes.push(`piscina pinned: one maxThreads:1 pool per actor with module-level state (the strongest pool form); piscina pass-state (context): state (Map + Set) cloned into and out of every call, ${p.passStateReps} cold run`);

  const loom = loomStats?.median ?? null;
  const spread = (s: Stats | null) => (s ? `${s.min.toFixed(2)}–${s.max.toFixed(2)}` : null);
  const rows: BenchRow[] = peerRows({
    case: "actors",
    unit: "s",
    loom,
    variants: [
      { peer: "serial", variant: "two states in the main thread", value: serialStats?.median },
      { peer: "piscina", variant: "pinned pool per actor", value: pinnedStats?.median },
      { peer: "piscina", variant: "state passed in and out", value: passStats?.median },
    ],
    targets: {
      serial: { op: ">=", value: 1.8, text: "≥ 1.8× (2 cores)" },
      piscina: { op: ">=", value: 1, text: "≥ 1× (no slower than the strongest pool)" },
    },
    extra: { loomRange: spread(loomStats), serialRange: spread(serialStats), pinnedRange: spread(pinnedStats), passStateRange: spread(passStats) },
  });
  rows.find((r) => r.vs === "peer" && r.peer?.startsWith("piscina"))!.headline = true;
  return {
    name: "stateful-prefix",
    title: "Stateful prefix count (actors)",
    quick,
    params: { ...p },
    rows,
    notes,
    ...(skipped ? { skipped } : {}),
  };
}
