// Streaming generators and concurrent actors (issue 19): a generator streaming n × 1 MiB arrays to consumer tasks
// (time to the first ref, and the whole stream against one task returning the same n MiB as one array, summed by
// one task), and an async actor with maxConcurrency 100 serving 10,000 calls that each wait 10 ms on a timer
// (ideal: 10,000 × 10 ms / 100 = 1 s).
import os from "node:os";
import { progress, sample, timeOnce, type Stats } from "../lib/measure.js";
import { guard, startLoom, warmLoom } from "../lib/loom.js";
import { wrongAnswer } from "../lib/comparison.js";
import { evaluateTarget, type BenchResult, type BenchRow, type RunOptions } from "../lib/types.js";
import type * as StreamModule from "./modules/stream-task.js";

const MODULE = new URL("./modules/stream-task.ts", import.meta.url);

export async function run({ quick }: RunOptions): Promise<BenchResult> {
  const p = { chunks: quick ? 100 : 1000, calls: quick ? 2_000 : 10_000, napMs: 10, maxConcurrency: 100, reps: quick ? 1 : 3 };
  const expected = (p.chunks * (p.chunks - 1) / 2) * 131_072;
  let streamS: Stats | null = null, firstRefMs: number[] = [], oneArrayS: Stats | null = null, actorS: Stats | null = null;
  let skipped: string | undefined;
  const started = await startLoom();
  if ("skipped" in started) skipped = started.skipped;
  else {
    const { rt } = started;
    try {
      await guard(rt, "streaming", 300, async () => {
        const m = await rt.module<typeof StreamModule>(MODULE);
        await warmLoom(rt, m.warm, os.availableParallelism());
        const streamed = async () => {
          const t0 = performance.now();
          const sums: StreamModule.SumRef[] = [];
          for await (const ref of m.mibChunks.options({ numReturns: "streaming" }).remote(p.chunks)) {
            if (sums.length === 0) firstRefMs.push(performance.now() - t0);
            sums.push(m.sum.remote(ref));
          }
          const total = (await rt.get(sums)).reduce((a, b) => a + b, 0);
          if (total !== expected) throw wrongAnswer(`streaming: sum ${total}, expected ${expected}`);
        };
        const whole = async () => {
          const total = await rt.get(m.sum.remote(m.oneArray.remote(p.chunks)));
          if (total !== expected) throw wrongAnswer(`one array: sum ${total}, expected ${expected}`);
        };
        streamS = await sample(streamed, { warmup: 1, reps: p.reps, label: `stream ${p.chunks} × 1 MiB` });
        oneArrayS = await sample(whole, { warmup: 1, reps: p.reps, label: `one ${p.chunks} MiB array` });
        const napper = m.Napper.options({ maxConcurrency: p.maxConcurrency }).remote();
        await rt.get(napper.nap.remote(1));
        actorS = await sample(async () => {
          const n = await rt.get(Array.from({ length: p.calls }, () => napper.nap.remote(p.napMs)));
          if (n.length !== p.calls || n.some((v) => v !== 1)) throw wrongAnswer(`napper: ${n.length} answers, expected ${p.calls} ones`);
        }, { warmup: 1, reps: p.reps, label: `${p.calls} calls × ${p.napMs} ms, maxConcurrency ${p.maxConcurrency}` });
        progress(`first ref after ${firstRefMs.map((x) => x.toFixed(1)).join(", ")} ms`);
      });
    } catch (err) {
      skipped = `failed: ${(err as Error).message.split("\n")[0]}`;
    } finally {
      await rt.shutdown();
    }
  }
  const s = streamS as Stats | null, o = oneArrayS as Stats | null, a = actorS as Stats | null;
  const idealActorS = (p.calls * p.napMs) / 1e3 / p.maxConcurrency;
  firstRefMs.sort((x, y) => x - y);
  const rows: BenchRow[] = [
    {
      case: `stream ${p.chunks} × 1 MiB to consumer tasks (vs one ${p.chunks} MiB array)`,
      unit: "s",
      loom: s?.median ?? null,
      serial: o?.median ?? null,
      vs: "loom",
      peer: "loom, one task returning one array",
      peerValue: o?.median ?? null,
      ratio: s && o ? o.median / s.median : null,
      ratioLabel: "loom one array / loom stream",
      extra: {
        firstRefMsMedian: firstRefMs.length ? firstRefMs[Math.floor(firstRefMs.length / 2)]! : null,
        streamGiBps: s ? (p.chunks / 1024) / s.median : null,
        oneArrayS: o?.median ?? null,
      },
      note: "serial column: one task returns the same data as one array, one task sums it",
    },
    {
      case: `async actor, maxConcurrency ${p.maxConcurrency}: ${p.calls} calls × ${p.napMs} ms`,
      unit: "s",
      loom: a?.median ?? null,
      vs: "absolute",
      target: { on: "loom", op: "<=", value: 1.2 * idealActorS, text: `≤ 1.2 × ${idealActorS.toFixed(2)} s` },
      extra: { idealS: idealActorS },
    },
  ];
  return {
    name: "streaming",
    title: "Streaming generators and concurrent actors",
    quick,
    params: p,
    rows: rows.map(evaluateTarget),
    notes: ["firstRefMsMedian: from .remote() to the first ref out of the generator"],
    ...(skipped ? { skipped } : {}),
  };
}
