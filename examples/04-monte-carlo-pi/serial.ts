// Monte Carlo π in one thread: the baseline.
import { estimatePi, isMain, JOBS_PER_WORKER, makeJobs, parseArgs } from "./jobs.js";
import countInside from "./tasks.js";

export function serialPi(samples: number, workers = 2): number {
  return estimatePi(makeJobs(samples, workers * JOBS_PER_WORKER).map(countInside), samples);
}

if (isMain(import.meta.url)) {
  const { samples } = parseArgs(process.argv);
  const t0 = performance.now();
  const pi = serialPi(samples);
  console.log(`serial: π ≈ ${pi} from ${samples.toLocaleString()} samples in ${Math.round(performance.now() - t0)} ms`);
}
