// Creating 1,000 actors and calling each once (target ≤ 1 s): actors must share threads,
// so this measures placement and per-actor bookkeeping, not threads. No pool can do this
// (one single-thread pool per actor would be 1,000 threads), so there is no piscina column;
// the serial column is the same 1,000 objects made and called in the main thread, for scale.

import os from "node:os";
import { progress, sample, timeOnce, type Stats } from "../lib/measure.js";
import { guard, startLoom, warmLoom } from "../lib/loom.js";
import { wrongAnswer } from "../lib/comparison.js";
import { evaluateTarget, type BenchResult, type BenchRow, type RunOptions } from "../lib/types.js";
import { Counter } from "./modules/trivial-task.js";
import type * as TrivialModule from "./modules/trivial-task.js";

const TASK_MODULE = new URL("./modules/trivial-task.ts", import.meta.url);

export async function run({ quick }: RunOptions): Promise<BenchResult> {
  const p = { actors: 1000, warmup: quick ? 0 : 1, reps: quick ? 1 : 3 };
  const serialS = await timeOnce(() => {
    let s = 0;
    for (let i = 0; i < p.actors; i++) s += new Counter(i).inc(1);
    return s;
  });

  let stats: Stats | null = null;
  let firstRun: number | null = null;
  let skipped: string | undefined;
  const started = await startLoom();
  if ("skipped" in started) skipped = started.skipped;
  else {
    const { rt } = started;
    try {
      const r = await guard(rt, "1,000 actors", 120, async () => {
        const m = await rt.module<typeof TrivialModule>(TASK_MODULE);
        await warmLoom(rt, m.warm, os.availableParallelism());
        const once = async () => {
          const actors = Array.from({ length: p.actors }, (_, i) => m.Counter.remote(i));
          const out = await rt.get(actors.map((a) => a.inc.remote(1)));
          // Counter(i).inc(1) answers i + 1: every actor's, so a call routed to the wrong actor shows.
          out.forEach((v, i) => {
            if (v !== i + 1) throw wrongAnswer(`many-actors: actor ${i} answered ${v}, expected ${i + 1}`);
          });
          for (const a of actors) rt.kill(a);
        };
        // The first batch on a fresh runtime includes loading the module into each worker: reported apart.
        const first = await timeOnce(once);
        progress(`loom: first 1,000 actors ${(first * 1e3).toFixed(0)} ms`);
        return { first, stats: await sample(once, { warmup: p.warmup, reps: p.reps, label: "loom 1,000 actors" }) };
      });
      firstRun = r.first;
      stats = r.stats;
    } catch (err) {
      skipped = `failed: ${(err as Error).message.split("\n")[0]}`;
    } finally {
      await rt.shutdown();
    }
  }
  const rows: BenchRow[] = [
    {
      case: "create 1,000 actors, call each once",
      unit: "s",
      loom: stats?.median ?? null,
      serial: serialS,
      vs: "absolute",
      target: { on: "loom", op: "<=", value: 1, text: "≤ 1 s" },
      extra: { firstRunS: firstRun, perActorUs: stats ? (stats.median / p.actors) * 1e6 : null, rayReferenceActorsPerSec: 550.7 },
    },
  ];
  return {
    name: "many-actors",
    title: "1,000 actors",
    quick,
    params: p,
    rows: rows.map(evaluateTarget),
    notes: ["serial: new Counter() + one call in the main thread, for scale only; firstRunS: the first batch on a fresh runtime"],
    ...(skipped ? { skipped } : {}),
  };
}
