// Reads the flights files into normalized columns and splits them into Arrow record batches.
// Parquet goes through parquet-wasm (measured fastest on flights-3m.parquet, see README);
// the .arrow file through apache-arrow. Nothing here touches Loom.
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { tableFromIPC, type RecordBatch, type Table } from "apache-arrow";
import { makeFlightBatches, type FlightColumns } from "./schema.js";

export interface LoadedFlights {
  batches: RecordBatch[];
  rows: number;
  /** Milliseconds to read and decode the file into columns. */
  readMs: number;
  /** Milliseconds to normalize columns and split into batches. */
  splitMs: number;
  library: string;
}

export interface LoadOptions {
  /** How many record batches to split into. */
  batches: number;
  /** Read at most this many rows (the first ones). */
  limit?: number;
}

/** Load a flights file (.parquet or .arrow) as normalized record batches. */
export async function loadFlights(path: string, options: LoadOptions): Promise<LoadedFlights> {
  const t0 = performance.now();
  const bytes = await readFile(path);
  const parquet = path.endsWith(".parquet");
  let table = parquet ? await decodeParquet(bytes, options.limit) : tableFromIPC(bytes);
  if (options.limit !== undefined && table.numRows > options.limit) table = table.slice(0, options.limit);
  const t1 = performance.now();
  const cols = normalize(table);
  const batches = makeFlightBatches(cols, options.batches);
  const t2 = performance.now();
  return {
    batches,
    rows: cols.delay.length,
    readMs: t1 - t0,
    splitMs: t2 - t1,
    library: parquet ? "parquet-wasm" : "apache-arrow",
  };
}

/** Decode parquet bytes into an Arrow table (one big batch per million rows). */
async function decodeParquet(bytes: Uint8Array, limit?: number): Promise<Table> {
  // Imported lazily so that reading .arrow files (tests) does not load the wasm module.
  const { readParquet } = await import("parquet-wasm");
  const wasmTable = readParquet(bytes, { batchSize: 1 << 20, limit });
  // IPC is the documented way out of wasm memory; it copies once into JS memory.
  return tableFromIPC(wasmTable.intoIPCStream());
}

/**
 * Map either source schema onto FlightColumns:
 * flights-3m.parquet has date (timestamp), delay, distance (int64), origin, destination (strings);
 * flights-200k.arrow has delay, distance (int16) and time (fractional hour of day).
 */
export function normalize(table: Table): FlightColumns {
  const rows = table.numRows;
  const delay = toInt32(table, "delay");
  const distance = toInt32(table, "distance");
  const hour = new Uint8Array(rows);
  if (table.getChild("date")) {
    fillHourFromTimestamp(table, hour);
  } else if (table.getChild("time")) {
    fillHourFromFraction(table, hour);
  } else {
    throw new Error("flights file has neither a 'date' nor a 'time' column");
  }
  if (!table.getChild("origin") || !table.getChild("destination")) return { hour, delay, distance };
  const airports = new AirportCodes();
  const origin = airports.encode(table, "origin");
  const destination = airports.encode(table, "destination");
  return { hour, delay, distance, airports: airports.names, origin, destination };
}

/** Copy an integer column (int16/int32/int64, no nulls) into one Int32Array. */
function toInt32(table: Table, name: string): Int32Array {
  const out = new Int32Array(table.numRows);
  let at = 0;
  for (const data of column(table, name).data) {
    const { words, stride } = int32Words(data.values);
    for (let i = 0; i < data.length; i++) {
      const v = words[i * stride];
      // A 64-bit value fits in 32 bits iff its high word is the low word's sign.
      if (stride === 2 && words[i * 2 + 1] !== v >> 31) throw new Error(`'${name}' value out of int32 range at row ${at + i}`);
      out[at + i] = v;
    }
    at += data.length;
  }
  return out;
}

/**
 * A 32-bit view of an integer buffer: element i is `words[i * stride]`, and for
 * 64-bit buffers (stride 2) its high word follows it (little-endian). Reading words
 * instead of calling Number(bigint) per element made normalizing 3M rows take a second.
 */
function int32Words(values: ArrayLike<number | bigint>): { words: ArrayLike<number>; stride: 1 | 2 } {
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    return { words: new Int32Array(values.buffer, values.byteOffset, values.length * 2), stride: 2 };
  }
  return { words: values as ArrayLike<number>, stride: 1 };
}

/** Hour of day from a timestamp column; wall-clock time (the file is not UTC-adjusted). */
function fillHourFromTimestamp(table: Table, hour: Uint8Array): void {
  const col = column(table, "date");
  const unitsPerHour = [3600, 3600e3, 3600e6, 3600e9][(col.type as { unit: number }).unit];
  let at = 0;
  for (const data of col.data) {
    const { words, stride } = int32Words(data.values);
    for (let i = 0; i < data.length; i++) {
      // Exact while |value| < 2^53; microsecond timestamps qualify.
      const value = stride === 2 ? (words[2 * i] >>> 0) + words[2 * i + 1] * 4294967296 : words[i];
      const h = Math.floor(value / unitsPerHour) % 24;
      hour[at + i] = h < 0 ? h + 24 : h;
    }
    at += data.length;
  }
}

/** Hour of day from a fractional-hour float column (0 <= time < 24). */
function fillHourFromFraction(table: Table, hour: Uint8Array): void {
  let at = 0;
  for (const data of column(table, "time").data) {
    const values = data.values as Float32Array | Float64Array;
    for (let i = 0; i < data.length; i++) hour[at + i] = Math.min(23, Math.max(0, Math.floor(values[i])));
    at += data.length;
  }
}

function column(table: Table, name: string) {
  const col = table.getChild(name);
  if (!col) throw new Error(`flights file has no '${name}' column`);
  if (col.nullCount > 0) throw new Error(`column '${name}' has ${col.nullCount} nulls; expected none`);
  return col;
}

/**
 * Assigns airport codes one dense code each, shared by origin and destination.
 * Reads the string column's raw offsets and bytes: decoding 6M strings one by one
 * costs more than the parquet read itself. Codes of up to 3 bytes (all of them in
 * the vega files) go through a small open-addressing table; longer ones through a Map.
 */
class AirportCodes {
  readonly names: string[] = [];
  /** Packed short key + 1 per slot (0: empty); capacity stays >= 2x the names. */
  private slots = new Int32Array(1024);
  private slotCodes = new Int16Array(1024);
  private readonly longKeys = new Map<string, number>();
  private readonly decoder = new TextDecoder();

  encode(table: Table, name: string): Int16Array {
    const out = new Int16Array(table.numRows);
    let at = 0;
    for (const data of column(table, name).data) {
      // Offsets of one batch stay below 2^31 bytes, so the low words of LargeUtf8's int64 offsets suffice.
      const { words: offsets, stride } = int32Words(data.valueOffsets as ArrayLike<number | bigint>);
      const bytes = data.values as Uint8Array;
      for (let i = 0; i < data.length; i++) {
        const start = offsets[i * stride];
        const end = offsets[(i + 1) * stride];
        out[at + i] = end - start <= 3 ? this.shortCode(bytes, start, end) : this.longCode(bytes, start, end);
      }
      at += data.length;
    }
    return out;
  }

  private shortCode(bytes: Uint8Array, start: number, end: number): number {
    let key = end - start; // the length is part of the key so "A" and "\0A" differ
    for (let j = start; j < end; j++) key = (key << 8) | bytes[j];
    const mask = this.slots.length - 1;
    let s = this.hash(key) & mask;
    while (this.slots[s] !== 0) {
      if (this.slots[s] === key + 1) return this.slotCodes[s];
      s = (s + 1) & mask;
    }
    const code = this.add(bytes, start, end);
    if (2 * this.names.length > this.slots.length) this.rehash(); // keeps probes short; the new entry goes in below
    this.insert(key, code);
    return code;
  }

  private longCode(bytes: Uint8Array, start: number, end: number): number {
    const text = this.decoder.decode(bytes.subarray(start, end));
    let code = this.longKeys.get(text);
    if (code === undefined) {
      code = this.add(bytes, start, end);
      this.longKeys.set(text, code);
    }
    return code;
  }

  private add(bytes: Uint8Array, start: number, end: number): number {
    const code = this.names.length;
    if (code > 0x7fff) throw new Error("more than 32767 distinct airports; widen the code type");
    this.names.push(this.decoder.decode(bytes.subarray(start, end)));
    return code;
  }

  private insert(key: number, code: number): void {
    const mask = this.slots.length - 1;
    let s = this.hash(key) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = key + 1;
    this.slotCodes[s] = code;
  }

  private hash(key: number): number {
    const h = Math.imul(key, 0x9e3779b1);
    return h ^ (h >>> 15);
  }

  private rehash(): void {
    const { slots, slotCodes } = this;
    this.slots = new Int32Array(slots.length * 2);
    this.slotCodes = new Int16Array(slots.length * 2);
    for (let s = 0; s < slots.length; s++) if (slots[s] !== 0) this.insert(slots[s] - 1, slotCodes[s]);
  }
}
