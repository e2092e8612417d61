// The flagship's task module (every export is a remote function): `ingest` decodes one part of the file into a
// normalized record batch, which the store keeps; `aggregate` turns a batch into a FlightStats partial; `merge`
// combines two partials (the tree reduce's step).
import type { RecordBatch } from "apache-arrow";
import type { FileFormat } from "./flight-file.js";
import { batchStats, mergeStats, type FlightStats } from "./flight-stats.js";

/**
 * Part `part` of `parts` of the file (its bytes are a shared view on the store's copy). The decoders load on the
 * first call: the driver imports this module too (rt.module reads its exports) and never decodes.
 */
export async function ingest(bytes: Uint8Array, format: FileFormat, part: number, parts: number, rowGroups: number): Promise<RecordBatch> {
  const { decodePart } = await import("./load.js");
  return decodePart(bytes, format, part, parts, rowGroups);
}

export function aggregate(batch: RecordBatch): FlightStats {
  return batchStats(batch);
}

export function merge(a: FlightStats, b: FlightStats): FlightStats {
  return mergeStats(a, b);
}
