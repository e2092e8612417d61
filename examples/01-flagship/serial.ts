// The baseline: the same parts, partials and merges as the Loom job, in this thread, merged left to right.
// Its answers are the reference the Loom run must equal exactly.
import { decodePart } from "./load.js";
import type { FlightFile } from "./flight-file.js";
import { batchStats, mergeStats, type FlightStats } from "./flight-stats.js";

/** The partial of parts [from, to) of `parts`, computed here (default: the whole file). */
export async function computeSerial(file: FlightFile, parts: number, from = 0, to = parts): Promise<FlightStats> {
  let acc: FlightStats | undefined;
  for (let p = from; p < to; p++) {
    const part = batchStats(await decodePart(file.bytes, file.format, p, parts, file.rowGroups));
    acc = acc ? mergeStats(acc, part) : part;
  }
  return acc!;
}
