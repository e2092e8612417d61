// Splitting the samples into jobs and turning counts into an estimate; shared by
// every variant so that they compute exactly the same thing.
import { pathToFileURL } from "node:url";
import type { Job } from "./tasks.js";

/** `samples` split into `parts` jobs with seeds 1..parts (the last takes the remainder). */
export function makeJobs(samples: number, parts: number): Job[] {
  const each = Math.floor(samples / parts);
  return Array.from({ length: parts }, (_, i) => ({
    samples: i === parts - 1 ? samples - each * (parts - 1) : each,
    seed: i + 1,
  }));
}

export function estimatePi(counts: number[], samples: number): number {
  return (4 * counts.reduce((a, b) => a + b, 0)) / samples;
}

/** Command line: `[samples] [workers]`, defaults 20M samples on 2 workers. */
export function parseArgs(argv: string[]): { samples: number; workers: number } {
  const samples = Number(argv[2] ?? 20_000_000);
  const workers = Number(argv[3] ?? 2);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`samples must be a positive integer, got ${argv[2]}`);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers must be a positive integer, got ${argv[3]}`);
  return { samples, workers };
}

/** True when `url` is the script node was started with. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === url;
}

/** Jobs per worker: enough to balance, few enough that each is long. */
export const JOBS_PER_WORKER = 4;
