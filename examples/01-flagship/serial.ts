// The baseline: the same aggregates as the Loom job, in one thread, merged left to right.
// Its answers are the reference the Loom run must equal exactly.
import type { RecordBatch } from "apache-arrow";
import { AGGREGATES, type FlightAnswers } from "./answers.js";
import * as tasks from "./flight-tasks.js";

/** Every aggregate over every batch, in this thread. */
export function computeSerial(batches: readonly RecordBatch[]): FlightAnswers {
  const answers = {} as FlightAnswers;
  for (const name of AGGREGATES) {
    let acc = tasks[name](batches[0]);
    for (let b = 1; b < batches.length; b++) acc = tasks.merge(acc, tasks[name](batches[b]));
    answers[name] = acc;
  }
  return answers;
}
