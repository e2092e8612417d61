// Reads flights files and decodes one part of one (parquet row groups, or a range of Arrow rows) into a
// normalized record batch (schema.ts). Parquet goes through parquet-wasm (measured fastest on flights-3m.parquet,
// see README), Arrow IPC through apache-arrow. Nothing here touches Loom: the ingest task calls decodePart.
import { DataType, tableFromIPC, type Data, type RecordBatch, type Table } from "apache-arrow";
import { makeFlightBatches, type FlightColumns } from "./schema.js";
import type { FileFormat } from "./flight-file.js";

/**
 * Part `part` of `parts` of the file as one normalized record batch (schema.ts): with `units` parquet row groups,
 * row groups [floor(part * units / parts), floor((part + 1) * units / parts)); that range of rows of an Arrow file.
 */
export async function decodePart(bytes: Uint8Array, format: FileFormat, part: number, parts: number, rowGroups: number): Promise<RecordBatch> {
  let table: Table;
  if (format === "parquet") {
    // Loaded on first use: compiling its WebAssembly costs each thread 0.1-0.2 s, and Arrow files do not need it.
    const { readParquet } = await import("parquet-wasm");
    const [from, to] = range(part, parts, rowGroups);
    const groups = Array.from({ length: to - from }, (_, i) => from + i);
    // IPC is the documented way out of wasm memory; it copies once into JS memory.
    // A batch size past the row count makes the reader reserve for it: 1 << 22 grew its memory to 250-500 MB.
    table = tableFromIPC(readParquet(bytes, { rowGroups: groups, batchSize: 1 << 19 }).intoIPCStream());
  } else {
    const whole = tableFromIPC(bytes);
    table = whole.slice(...range(part, parts, whole.numRows));
  }
  return makeFlightBatches(normalize(table), 1)[0];
}

function range(part: number, parts: number, units: number): [number, number] {
  return [Math.floor((part * units) / parts), Math.floor(((part + 1) * units) / parts)];
}

/**
 * Map either source schema onto FlightColumns:
 * flights-3m.parquet has date (timestamp), delay, distance (int64), origin, destination (strings);
 * flights-200k.arrow has delay, distance (int16) and time (fractional hour of day). A file with an origin
 * but no destination keeps its origins; one without origin has neither.
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
  if (!table.getChild("origin")) return { hour, delay, distance };
  const airports = new AirportCodes();
  const origin = airports.encode(table, "origin");
  const destination = table.getChild("destination") ? airports.encode(table, "destination") : undefined;
  return { hour, delay, distance, airports: airports.names, origin, ...(destination ? { destination } : {}) };
}

/** Copy an integer column (int16/int32/int64, no nulls) into one Int32Array. */
function toInt32(table: Table, name: string): Int32Array {
  const type = column(table, name).type;
  if (!DataType.isInt(type)) throw new Error(`column '${name}' is ${String(type)}; expected integers`);
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

/**
 * Hour of day from a timestamp column, on its raw integer (no time zone): for microseconds,
 * `floor((date_us mod 86_400_000_000) / 3_600_000_000)`; other units scaled alike.
 */
function fillHourFromTimestamp(table: Table, hour: Uint8Array): void {
  const col = column(table, "date");
  const unitsPerHour = [3600, 3600e3, 3600e6, 3600e9][(col.type as { unit: number }).unit];
  const unitsPerDay = 24 * unitsPerHour;
  let at = 0;
  for (const data of col.data) {
    const { words, stride } = int32Words(data.values);
    for (let i = 0; i < data.length; i++) {
      // Exact while |value| < 2^53; microsecond timestamps qualify (nanoseconds after 1970-04 do not).
      const value = stride === 2 ? (words[2 * i] >>> 0) + words[2 * i + 1] * 4294967296 : words[i];
      if (!Number.isSafeInteger(value)) throw new Error(`'date' value at row ${at + i} is beyond 2^53`);
      hour[at + i] = checkedHour(Math.floor((value % unitsPerDay) / unitsPerHour), at + i);
    }
    at += data.length;
  }
}

/** Hour of day from a fractional-hour float column: floor(time). */
function fillHourFromFraction(table: Table, hour: Uint8Array): void {
  let at = 0;
  for (const data of column(table, "time").data) {
    const values = data.values as Float32Array | Float64Array;
    for (let i = 0; i < data.length; i++) hour[at + i] = checkedHour(Math.floor(values[i]), at + i);
    at += data.length;
  }
}

function checkedHour(h: number, row: number): number {
  if (!(h >= 0 && h < 24)) throw new Error(`the hour of row ${row} is ${h}, outside 0..23`);
  return h;
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
      if (data.dictionary) {
        // A dictionary column (as Arrow IPC files often have): code its entries once, then map the indices.
        const entries = this.codesOf(data.dictionary.data);
        const indices = data.values as ArrayLike<number>;
        for (let i = 0; i < data.length; i++) out[at + i] = entries[indices[i]];
        at += data.length;
        continue;
      }
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

  private codesOf(chunks: readonly Data[]): Int16Array {
    const out = new Int16Array(chunks.reduce((n, d) => n + d.length, 0));
    let at = 0;
    for (const data of chunks) {
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
