// From a file to answers on a started runtime: read the file, put its bytes once, submit the job, get the
// merged partial, turn it into answers. Shared by main.ts, answers-only.ts, the tests and the DuckDB bench.
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import type { RecordBatch } from "apache-arrow";
import type { ObjectRef, Runtime } from "../../engine/index.js";
import { answersFrom, type FlightAnswers } from "./answers.js";
import type { FlightStats } from "./flight-stats.js";
import { partCount, readFlightFile, type FlightFile } from "./flight-file.js";
import { submitFlightJob, type SubmittedJob } from "./loom-job.js";
import type * as FlightTasks from "./flight-tasks.js";

export type FlightJob = SubmittedJob<ObjectRef<RecordBatch>, ObjectRef<FlightStats>>;
export const DEFAULT_PARTS = 16;

/** A file of the vega-datasets package, found from its entry point (the same from source and from dist/). */
export function vegaData(name: string): string {
  return fileURLToPath(new URL(`../data/${name}`, import.meta.resolve("vega-datasets")));
}
const GET = { timeoutMs: 120_000 };

/** The task module, as source under tsx and compiled under dist/. */
export async function loadFlightTasks(rt: Runtime) {
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  return rt.module<typeof FlightTasks>(new URL(`./flight-tasks.${ext}`, import.meta.url));
}
export type LoadedTasks = Awaited<ReturnType<typeof loadFlightTasks>>;

export interface Submitted {
  file: FlightFile;
  bytes: ObjectRef<Uint8Array>;
  job: FlightJob;
  parts: number;
}

/** Read the file, put its bytes, submit the whole job; returns at once with the refs. */
export async function submitFile(rt: Runtime, tasks: LoadedTasks, path: string, wantedParts = DEFAULT_PARTS): Promise<Submitted> {
  const file = await readFlightFile(path);
  const bytes = rt.put(file.bytes);
  const parts = partCount(file, wantedParts);
  const job = submitFlightJob<ObjectRef<Uint8Array>, ObjectRef<RecordBatch>, ObjectRef<FlightStats>>(
    tasks as never, { bytes, format: file.format, parts, rowGroups: file.rowGroups });
  return { file, bytes, job, parts };
}

/** The whole path, file to answers. */
export async function answersOnLoom(rt: Runtime, tasks: LoadedTasks, path: string, wantedParts = DEFAULT_PARTS): Promise<FlightAnswers> {
  const { job } = await submitFile(rt, tasks, path, wantedParts);
  const stats = (await rt.get(job.root, GET)) as FlightStats;
  return answersFrom(stats, { producer: "loom", dataset: basename(path) });
}
