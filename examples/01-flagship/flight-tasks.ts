// The flagship's task module (every export is a remote function): `ingest` decodes one part of the file into a
// normalized record batch, which the store keeps; `aggregate` turns a batch into a FlightStats partial; `merge`
// combines two partials (the tree reduce's step).
import type { RecordBatch } from "apache-arrow";
import { decodePart, type FileFormat } from "./load.js";
import { batchStats, mergeStats, type FlightStats } from "./flight-stats.js";

/** Part `part` of `parts` of the file (its bytes are a shared view on the store's copy). */
export function ingest(bytes: Uint8Array, format: FileFormat, part: number, parts: number, units: number): RecordBatch {
  return decodePart(bytes, format, part, parts, units);
}

export function aggregate(batch: RecordBatch): FlightStats {
  return batchStats(batch);
}

export function merge(a: FlightStats, b: FlightStats): FlightStats {
  return mergeStats(a, b);
}
