// Monte Carlo π with Loom's Pool, multiprocessing style: map a function over jobs.
// countInside is self-contained, so it is shipped to the workers by source.
import { Pool } from "../../engine/pool/index.js"; // in your project: from "loom-dag/pool"
import { estimatePi, isMain, JOBS_PER_WORKER, makeJobs, parseArgs } from "./jobs.js";
import countInside from "./tasks.js";

export async function poolPi(pool: Pool, samples: number, workers = 2): Promise<number> {
  const counts = await pool.map(countInside, makeJobs(samples, workers * JOBS_PER_WORKER), { chunksize: 1 });
  return estimatePi(counts, samples);
}

if (isMain(import.meta.url)) {
  const { samples, workers } = parseArgs(process.argv);
  const pool = new Pool({ workers });
  const t0 = performance.now();
  const pi = await poolPi(pool, samples, workers);
  console.log(`loom Pool: π ≈ ${pi} from ${samples.toLocaleString()} samples in ${Math.round(performance.now() - t0)} ms`);
  await pool.close();
}
