// Monte Carlo π over a cluster: examples/04-monte-carlo-pi/pool.ts with one line changed, the Pool's
// options (`{ address }` instead of `{ workers }`). The function is self-contained, so it travels to the
// nodes as source; every node computes its jobs and the driver adds up the counts.
import { Pool } from "../../engine/pool/index.js"; // in your project: from "loom-dag/pool"
import { estimatePi, isMain, JOBS_PER_WORKER, makeJobs, parseArgs } from "../04-monte-carlo-pi/jobs.js";
import countInside from "../04-monte-carlo-pi/tasks.js";

export async function clusterPi(pool: Pool, samples: number, workers = 2): Promise<number> {
  const counts = await pool.map(countInside, makeJobs(samples, workers * JOBS_PER_WORKER), { chunksize: 1 });
  return estimatePi(counts, samples);
}

if (isMain(import.meta.url)) {
  const { samples, workers } = parseArgs(process.argv);
  const pool = new Pool({ address: process.env.LOOM_ADDRESS ?? "auto" }); // the changed line
  const t0 = performance.now();
  const pi = await clusterPi(pool, samples, workers);
  console.log(`loom Pool on a cluster: π ≈ ${pi} from ${samples.toLocaleString()} samples in ${Math.round(performance.now() - t0)} ms`);
  await pool.close();
}
