// The flagship's task module: pure aggregates over flight record batches, each returning a
// mergeable KeyedStats partial, and `merge` to combine two partials. Every export is a remote function.
import type { Data, RecordBatch, Table, Vector } from "apache-arrow";
import { COL } from "./schema.js";
import { accumulate, emptyStats, mergeStats, type KeyedStats } from "./keyed-stats.js";
import { DISTANCE_BANDS, distanceBand, routeKey } from "./flight-keys.js";

/** A record batch, or a table of several (the functions read both alike). */
export type FlightSource = RecordBatch | Table;

/** Delay distribution by scheduled departure hour (key: 0..23). */
export function byHour(source: FlightSource): KeyedStats {
  return perChunk(source, COL.hour, (hours, delays) => accumulate(values<Uint8Array>(hours), delays, 24));
}

/** Delay distribution by distance band (key: band index, see flight-keys.ts). */
export function byDistance(source: FlightSource): KeyedStats {
  return perChunk(source, COL.distance, (miles, delays) => {
    const distances = values<Int32Array>(miles);
    const bands = new Uint8Array(distances.length);
    for (let i = 0; i < distances.length; i++) bands[i] = distanceBand(distances[i]);
    return accumulate(bands, delays, DISTANCE_BANDS);
  });
}

/** Delay distribution by origin airport (key: airport code). Empty when the source has no airports. */
export function byOrigin(source: FlightSource): KeyedStats {
  if (!source.getChild(COL.origin)) return emptyStats();
  return perChunk(source, COL.origin, (origins, delays) =>
    accumulate(values<Int16Array>(origins), delays, dictionarySize(origins)),
  );
}

/** Delay distribution by route (key: routeKey(origin, destination)). Empty when the source has no airports. */
export function byRoute(source: FlightSource): KeyedStats {
  const destinations = source.getChild(COL.destination)?.data;
  if (!source.getChild(COL.origin) || !destinations) return emptyStats();
  return perChunk(source, COL.origin, (origins, delays, chunk) => {
    const dest = destinations[chunk];
    const airports = dictionarySize(origins);
    if (dictionarySize(dest) !== airports) throw new Error("origin and destination must share one airport dictionary");
    const o = values<Int16Array>(origins);
    const d = values<Int16Array>(dest);
    const keys = new Int32Array(o.length);
    for (let i = 0; i < o.length; i++) keys[i] = routeKey(o[i], d[i], airports);
    return accumulate(keys, delays, airports * airports);
  });
}

/** Combine two partials of the same aggregate. */
export function merge(a: KeyedStats, b: KeyedStats): KeyedStats {
  return mergeStats(a, b);
}

/**
 * Run `fn` on each chunk of `keyColumn` with the matching delay chunk, and merge.
 * A record batch has one chunk; a table has one per batch, aligned across columns.
 */
function perChunk(
  source: FlightSource,
  keyColumn: string,
  fn: (keys: Data, delays: Int32Array, chunk: number) => KeyedStats,
): KeyedStats {
  const keys = column(source, keyColumn).data;
  const delays = column(source, COL.delay).data;
  let out: KeyedStats | undefined;
  for (let c = 0; c < keys.length; c++) {
    if (keys[c].length !== delays[c].length) throw new Error(`'${keyColumn}' and 'delay' chunks are not aligned`);
    const part = fn(keys[c], values<Int32Array>(delays[c]), c);
    out = out ? mergeStats(out, part) : part;
  }
  return out ?? emptyStats();
}

/**
 * The chunk's values, exactly `data.length` of them. Buffers read from IPC or shared memory
 * are padded (to 8 bytes or more), so `data.values.length` can exceed the row count; sliced
 * data keeps `offset` only for its null bitmap, its values buffer already starts at row 0.
 */
function values<T extends Uint8Array | Int16Array | Int32Array>(data: Data): T {
  return (data.values as T).subarray(0, data.length) as T;
}

function column(source: FlightSource, name: string): Vector {
  const col = source.getChild(name);
  if (!col) throw new Error(`flight batch has no '${name}' column`);
  return col;
}

function dictionarySize(data: Data): number {
  const dictionary = data.dictionary;
  if (!dictionary) throw new Error("airport column is not dictionary-encoded");
  return dictionary.length;
}
