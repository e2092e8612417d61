// The normalized flight batch layout: load.ts produces it, flight-tasks.ts reads it.
// Owns column names and Arrow types only; no file I/O and no aggregation here.
import {
  Dictionary,
  Int16,
  Int32,
  RecordBatch,
  Schema,
  Field,
  Struct,
  Uint8,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
} from "apache-arrow";
import { COL } from "./columns.js";

export { COL };

/**
 * Columns of a file part, before making batches. `origin`/`destination` are codes
 * into `airports`; both columns share that one list, so a route key
 * `origin * airports.length + destination` means the same in every batch of the part.
 * A file may have an origin and no destination (its routes are unknown).
 */
export interface FlightColumns {
  hour: Uint8Array;
  delay: Int32Array;
  distance: Int32Array;
  airports?: string[];
  origin?: Int16Array;
  destination?: Int16Array;
}

/** Split columns into `count` record batches of near-equal size; the batches view the columns, no copy. */
export function makeFlightBatches(cols: FlightColumns, count: number): RecordBatch[] {
  const rows = cols.delay.length;
  const n = Math.max(1, Math.min(count, rows));
  const hasAirports = cols.airports !== undefined && cols.origin !== undefined;
  const hasDestination = hasAirports && cols.destination !== undefined;
  const fields: Field[] = [
    new Field(COL.hour, new Uint8(), false),
    new Field(COL.delay, new Int32(), false),
    new Field(COL.distance, new Int32(), false),
  ];
  // One dictionary vector for every batch and both airport columns: codes stay comparable.
  const dictionary = hasAirports ? vectorFromArray(cols.airports!, new Utf8()) : undefined;
  const originType = new Dictionary(new Utf8(), new Int16());
  const destType = new Dictionary(new Utf8(), new Int16());
  if (hasAirports) {
    fields.push(new Field(COL.origin, originType, false));
    if (hasDestination) fields.push(new Field(COL.destination, destType, false));
  }
  const schema = new Schema(fields);
  const batches: RecordBatch[] = [];
  for (let b = 0; b < n; b++) {
    const start = Math.floor((b * rows) / n);
    const end = Math.floor(((b + 1) * rows) / n);
    const length = end - start;
    const children: Data[] = [
      makeData({ type: new Uint8(), length, data: cols.hour.subarray(start, end) }),
      makeData({ type: new Int32(), length, data: cols.delay.subarray(start, end) }),
      makeData({ type: new Int32(), length, data: cols.distance.subarray(start, end) }),
    ];
    if (hasAirports) {
      children.push(makeData({ type: originType, length, data: cols.origin!.subarray(start, end), dictionary }));
      if (hasDestination) children.push(makeData({ type: destType, length, data: cols.destination!.subarray(start, end), dictionary }));
    }
    const struct = makeData({ type: new Struct(fields), length, nullCount: 0, children });
    batches.push(new RecordBatch(schema, struct));
  }
  return batches;
}
