// piscina.ts with only its import line changed: the same piscina code, run on Loom.
import { Pool as Piscina } from "../../engine/pool/index.js"; // in your project: from "loom-dag/pool"
import { estimatePi, isMain, JOBS_PER_WORKER, makeJobs, parseArgs } from "./jobs.js";

export const tasks = new URL("./tasks.ts", import.meta.url).href;

export async function piscinaPi(pool: Piscina, samples: number, workers = 2): Promise<number> {
  const jobs = makeJobs(samples, workers * JOBS_PER_WORKER);
  const counts: number[] = await Promise.all(jobs.map((job) => pool.run(job)));
  return estimatePi(counts, samples);
}

if (isMain(import.meta.url)) {
  const { samples, workers } = parseArgs(process.argv);
  const pool = new Piscina({ filename: tasks, maxThreads: workers, minThreads: workers });
  const t0 = performance.now();
  const pi = await piscinaPi(pool, samples, workers);
  console.log(`${Piscina.name}: π ≈ ${pi} from ${samples.toLocaleString()} samples in ${Math.round(performance.now() - t0)} ms`);
  await pool.destroy();
}
