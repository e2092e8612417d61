// Trivial `pool.run(i)` tasks per second: loom/pool against piscina in the same process, reps interleaved,
// medians reported (issue 22: loom/pool's run() must not fall behind piscina's). `--against <path>` adds
// another copy of loom/pool's index.ts (an older commit checked out elsewhere) as a third side.
// Usage: node --import tsx/esm bench/micro/pool-run.ts [--tasks 50000] [--reps 5] [--threads 2] [--against path]
import { Piscina } from "piscina";
import { Pool } from "../../engine/pool/index.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : args[at + 1]!;
};
const tasks = Number(option("tasks", "50000"));
const reps = Number(option("reps", "5"));
const threads = Number(option("threads", "2"));
const against = option("against", "");
const filename = new URL("./pool-run-task.mjs", import.meta.url).href;

interface RunPool { run(task: number): Promise<number>; destroy(): Promise<void> }
type PoolClass = new (options: object) => RunPool;

const sides: Array<[string, PoolClass]> = [["loom/pool", Pool as unknown as PoolClass], ["piscina", Piscina as unknown as PoolClass]];
if (against !== "") sides.push([`loom/pool at ${against}`, ((await import(against)) as { Pool: PoolClass }).Pool]);

const pools = sides.map(([name, Class]) => [name, new Class({ filename, minThreads: threads, maxThreads: threads })] as const);
for (const [, pool] of pools) await Promise.all(Array.from({ length: 2_000 }, (_, i) => pool.run(i))); // threads up, module loaded

const rates = new Map<string, number[]>(pools.map(([name]) => [name, []]));
for (let rep = 0; rep < reps; rep++) {
  for (const [name, pool] of pools) {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: tasks }, (_, i) => pool.run(i)));
    rates.get(name)!.push(tasks / ((performance.now() - t0) / 1e3));
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const piscinaMedian = median(rates.get("piscina")!);
for (const [name, xs] of rates) {
  const m = median(xs);
  console.log(`${name.padEnd(28)} median ${Math.round(m).toString().padStart(7)} tasks/s  (${xs.map((x) => Math.round(x / 100) / 10 + "k").join(" ")})  ${(m / piscinaMedian).toFixed(2)}x piscina`);
}
for (const [, pool] of pools) await pool.destroy();
