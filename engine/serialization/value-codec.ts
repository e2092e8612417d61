// The value codec: JSON when the value is plain JSON data (4x cheaper than v8 here) unless it is a big, flat
// run of scalars (see FLAT_SCALARS), a structured-clone-compatible v8 encoding otherwise. Big binary buffers (typed arrays, DataView, ArrayBuffer, Arrow tables and
// record batches) go out of band: written once after the body, and decoded as views, not copies.
// Refs and actor handles become markers. It does not decide where the bytes live: the object store does.
import { serialize, deserialize } from "node:v8";
import { arrowModule, isArrowBatch, isArrowTable } from "./arrow-module.js";
import { SerializationError } from "../errors.js";
import type { ObjectId } from "../ids.js";
import { isObjectRef, isActorHandle, ACTOR_BRAND, type ActorHandleDescriptor, type ObjectRef } from "../refs.js";

/** Buffers at least this big travel out of band. */
export const BIG_BUFFER_BYTES = 16 * 1024;
const MARK = "\u0000loom";
const FORMAT_JSON = 1;
const FORMAT_V8 = 2;
/** [format u32][body bytes u32][buffer count u32][has markers u32], then [offset u32][length u32] per buffer. */
const HEADER_BYTES = 16;
const BUFFER_ALIGN = 64;

type OutOfBand = Uint8Array;
export interface EncodedValue {
  format: number;
  body: Uint8Array;
  buffers: OutOfBand[];
  refs: ObjectId[];
  hasMarkers: boolean;
  /** Total bytes this value needs in the store. */
  size: number;
}

export interface DecodeHooks {
  ref(id: ObjectId): ObjectRef;
  actor(descriptor: ActorHandleDescriptor): unknown;
}

const typedArrayCtors: Record<string, new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};

interface WalkState {
  buffers: OutOfBand[];
  refs: ObjectId[];
  json: boolean;
  markers: boolean;
  seen: Set<object>;
  /** The value's name (`args`, `return value`) and the keys from it down to the value being walked: the path
   *  is formatted only for an error (one string per element showed in the walk of big arrays). */
  root: string;
  keys: PathKey[];
  /** Numbers, strings, booleans and nulls; arrays and plain objects (see FLAT_SCALARS). */
  scalars: number;
  containers: number;
}

/** An array index, an object key, or a formatted step (Map and Set members). */
type PathKey = number | string | { step: string };

function pathOf(state: WalkState): string {
  let path = state.root;
  for (const k of state.keys) {
    if (typeof k === "number") path += `[${k}]`;
    else if (typeof k === "string") path += /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
    else path += k.step;
  }
  return path;
}

function describe(value: unknown): string {
  if (typeof value === "function") return `a function${value.name ? ` (${value.name})` : ""}`;
  if (typeof value === "symbol") return `a symbol (${String(value)})`;
  const ctor = (value as object)?.constructor?.name;
  return `an instance of ${ctor || "an unknown class"}`;
}

function oob(state: WalkState, bytes: Uint8Array): number {
  state.buffers.push(bytes);
  state.json = false;
  state.markers = true;
  return state.buffers.length - 1;
}

function viewBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Replaces what cannot go into the body; raises SerializationError with the path of what cannot cross. */
function walk(value: unknown, state: WalkState): unknown {
  switch (typeof value) {
    case "number":
      state.scalars++;
      if (!Number.isFinite(value) || Object.is(value, -0)) state.json = false;
      return value;
    case "string":
    case "boolean":
      state.scalars++;
      return value;
    case "undefined":
    case "bigint":
      state.json = false;
      return value;
    case "function":
    case "symbol": {
      const path = pathOf(state);
      throw new SerializationError(`${path} is ${describe(value)}, which cannot cross threads; pass data instead`, path);
    }
  }
  if (value === null) { state.scalars++; return null; }
  const obj = value as object;
  if (isObjectRef(obj)) {
    state.refs.push(obj.id);
    state.markers = true;
    return { [MARK]: "ref", id: obj.id };
  }
  if (isActorHandle(obj)) {
    state.markers = true;
    return { [MARK]: "actor", d: { ...obj[ACTOR_BRAND] } };
  }
  if (state.seen.has(obj)) {
    // Shared substructure and cycles are fine for v8 but need identity we do not rebuild through markers.
    state.json = false;
    return obj;
  }
  if (ArrayBuffer.isView(obj)) {
    const shared = obj.buffer instanceof SharedArrayBuffer;
    if (obj.byteLength < BIG_BUFFER_BYTES && !shared) {
      state.json = false;
      return obj;
    }
    const b = oob(state, viewBytes(obj));
    if (obj instanceof DataView) return { [MARK]: "dv", b };
    const ctor = Buffer.isBuffer(obj) ? "Buffer" : obj.constructor.name;
    return { [MARK]: "ta", c: ctor, b, n: (obj as unknown as { length: number }).length };
  }
  if (obj instanceof ArrayBuffer || obj instanceof SharedArrayBuffer) {
    if (obj.byteLength < BIG_BUFFER_BYTES && obj instanceof ArrayBuffer) {
      state.json = false;
      return obj;
    }
    return { [MARK]: obj instanceof ArrayBuffer ? "ab" : "sab", b: oob(state, new Uint8Array(obj)) };
  }
  if (isArrowTable(obj)) {
    return { [MARK]: "arrow-table", b: oob(state, arrowModule().tableToIPC(obj as never, "stream")) };
  }
  if (isArrowBatch(obj)) {
    const arrow = arrowModule();
    return { [MARK]: "arrow-batch", b: oob(state, arrow.tableToIPC(new arrow.Table(obj as never), "stream")) };
  }
  state.seen.add(obj);
  const keys = state.keys;
  const depth = keys.length;
  try {
    if (Array.isArray(obj)) {
      state.containers++;
      const out = new Array(obj.length);
      for (let i = 0; i < obj.length; i++) {
        keys[depth] = i;
        out[i] = walk(obj[i], state);
      }
      keys.length = depth;
      return out;
    }
    const proto = Object.getPrototypeOf(obj);
    if (proto === Object.prototype || proto === null) {
      state.containers++;
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(obj)) {
        keys[depth] = key;
        out[key] = walk((obj as Record<string, unknown>)[key], state);
      }
      keys.length = depth;
      if (proto === null) state.json = false;
      return out;
    }
    state.json = false;
    if (obj instanceof Map) {
      const out = new Map();
      let i = 0;
      for (const [k, v] of obj) {
        keys[depth] = { step: `.<key ${i}>` };
        const key = walk(k, state);
        keys[depth] = { step: `.get(${typeof k === "string" ? JSON.stringify(k) : i})` };
        out.set(key, walk(v, state));
        i++;
      }
      keys.length = depth;
      return out;
    }
    if (obj instanceof Set) {
      const out = new Set();
      let i = 0;
      for (const v of obj) {
        keys[depth] = { step: `.<item ${i++}>` };
        out.add(walk(v, state));
      }
      keys.length = depth;
      return out;
    }
    if (obj instanceof Date || obj instanceof RegExp || obj instanceof Error || obj instanceof Boolean ||
        obj instanceof String || obj instanceof Number) {
      return obj;
    }
    const path = pathOf(state);
    throw new SerializationError(
      `${path} is ${describe(obj)}; class instances cannot cross threads (their methods and private state would be lost). ` +
      `Pass plain data, or make it an actor`, path);
  } finally {
    state.seen.delete(obj);
  }
}

function isJsonScalar(v: unknown): boolean {
  return typeof v === "string" || typeof v === "boolean" || v === null ||
    typeof v === "number" && Number.isFinite(v) && !Object.is(v, -0);
}

/**
 * Big values made mostly of scalars (a long array of strings or numbers, not an array of records) take the v8
 * encoding even when JSON could hold them: v8 writes a one-byte string's bytes as they are and a number in
 * binary, where JSON escapes and transcodes to UTF-8 and prints digits. Encode and decode together, 10,000
 * random 20-byte strings: JSON 11 ms, v8 2.1 ms; 100,000 integers: 24 and 11 ms; 10,000 ASCII strings of
 * 200 chars: 14 and 6 ms. Records stay JSON (JSON.parse builds objects 2-3x faster than v8's deserializer:
 * 10,000 objects of 5 fields, 18 ms against 41 ms).
 */
const FLAT_SCALARS = 4096;
const FLAT_RATIO = 16;

/** The fast paths' empty lists, shared (two arrays per encoded scalar showed in allocation profiles); frozen. */
const NO_BUFFERS = Object.freeze([]) as unknown as EncodedValue["buffers"];
const NO_REFS = Object.freeze([]) as unknown as EncodedValue["refs"];

/** Encodes `value`; `path` names it in errors (`args[1]`, `return value`). */
export function encodeValue(value: unknown, path = "value"): EncodedValue {
  // Fast path: the common tiny scalar.
  if (typeof value === "number" && Number.isFinite(value) && !Object.is(value, -0) || typeof value === "string" || typeof value === "boolean" || value === null) {
    const body = Buffer.from(JSON.stringify(value));
    return { format: FORMAT_JSON, body, buffers: NO_BUFFERS, refs: NO_REFS, hasMarkers: false, size: HEADER_BYTES + body.length };
  }
  // Fast path: a flat array of JSON scalars (the usual argument list).
  if (Array.isArray(value) && value.length <= 64 && value.every(isJsonScalar)) {
    const body = Buffer.from(JSON.stringify(value));
    return { format: FORMAT_JSON, body, buffers: NO_BUFFERS, refs: NO_REFS, hasMarkers: false, size: HEADER_BYTES + body.length };
  }
  const state: WalkState = { buffers: [], refs: [], json: true, markers: false, seen: new Set(), root: path, keys: [], scalars: 0, containers: 0 };
  const replaced = walk(value, state);
  let body: Uint8Array;
  let format: number;
  if (state.json && !(state.scalars >= FLAT_SCALARS && state.scalars >= FLAT_RATIO * state.containers)) {
    body = Buffer.from(JSON.stringify(replaced));
    format = FORMAT_JSON;
  } else {
    try {
      body = serialize(replaced);
    } catch (error) {
      throw new SerializationError(`${path} cannot be serialized: ${(error as Error).message}`, path);
    }
    format = FORMAT_V8;
  }
  let size = align(HEADER_BYTES + state.buffers.length * 8 + body.length, BUFFER_ALIGN);
  for (const b of state.buffers) size = align(size + b.byteLength, BUFFER_ALIGN);
  return { format, body, buffers: state.buffers, refs: state.refs, hasMarkers: state.markers, size };
}

/** Little-endian u32 without a DataView (one per small value showed up in profiles). */
function getU32(source: Uint8Array, at: number): number {
  return (source[at] | source[at + 1] << 8 | source[at + 2] << 16 | source[at + 3] << 24) >>> 0;
}

function putU32(target: Uint8Array, at: number, v: number): void {
  target[at] = v & 0xff;
  target[at + 1] = v >>> 8 & 0xff;
  target[at + 2] = v >>> 16 & 0xff;
  target[at + 3] = v >>> 24 & 0xff;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Writes an encoded value at `target[offset]`; `target` must have `encoded.size` bytes there. */
export function writeEncoded(encoded: EncodedValue, target: Uint8Array, offset: number): void {
  putU32(target, offset, encoded.format);
  putU32(target, offset + 4, encoded.body.length);
  putU32(target, offset + 8, encoded.buffers.length);
  putU32(target, offset + 12, encoded.hasMarkers ? 1 : 0);
  const bodyAt = HEADER_BYTES + encoded.buffers.length * 8;
  target.set(encoded.body, offset + bodyAt);
  if (encoded.buffers.length === 0) return;
  const view = new DataView(target.buffer, target.byteOffset + offset, encoded.size);
  let at = align(bodyAt + encoded.body.length, BUFFER_ALIGN);
  encoded.buffers.forEach((b, i) => {
    view.setUint32(HEADER_BYTES + i * 8, at, true);
    view.setUint32(HEADER_BYTES + i * 8 + 4, b.byteLength, true);
    target.set(b, offset + at);
    at = align(at + b.byteLength, BUFFER_ALIGN);
  });
}

/**
 * Decodes a value written by writeEncoded at `source[offset]`. Out-of-band buffers come back as views on
 * `source`'s memory when `zeroCopy` (the caller guarantees that memory outlives the views), copies otherwise.
 */
/** A copy of `bytes` in an ArrayBuffer of its own (Buffer.from would copy small ones into Node's shared pool). */
function privateCopy(bytes: Buffer): Buffer {
  const copy = new Uint8Array(bytes);
  return Buffer.from(copy.buffer, 0, copy.byteLength);
}

export function decodeValue(source: Uint8Array, offset: number, hooks: DecodeHooks, zeroCopy: boolean): unknown {
  const format = getU32(source, offset);
  const bodyLength = getU32(source, offset + 4);
  const count = getU32(source, offset + 8);
  const hasMarkers = getU32(source, offset + 12) === 1;
  const bodyAt = offset + HEADER_BYTES + count * 8;
  let value: unknown;
  const body = Buffer.from(source.buffer, source.byteOffset + bodyAt, bodyLength);
  if (format === FORMAT_JSON) value = JSON.parse(body.toString("utf8"));
  // Node's deserializer makes typed arrays and DataViews as views on the bytes it reads: on the arena (whose
  // block is reused once the object is freed, and which is the engine's whole memory) they must read a private
  // copy; on a segment they are views like any big buffer (the segment lives while they do).
  else if (format === FORMAT_V8) value = deserialize(zeroCopy ? body : privateCopy(body));
  else throw new Error(`Loom codec: unknown format ${format} at offset ${offset} (corrupt object)`);
  if (!hasMarkers) return value;
  const buffers: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const at = getU32(source, offset + HEADER_BYTES + i * 8);
    const length = getU32(source, offset + HEADER_BYTES + i * 8 + 4);
    const bytes = source.subarray(offset + at, offset + at + length);
    buffers.push(zeroCopy ? bytes : bytes.slice());
  }
  return revive(value, buffers, hooks);
}

function revive(value: unknown, buffers: Uint8Array[], hooks: DecodeHooks): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], buffers, hooks);
    return value;
  }
  if (value instanceof Map) {
    const entries = [...value.entries()];
    value.clear();
    for (const [k, v] of entries) value.set(revive(k, buffers, hooks), revive(v, buffers, hooks));
    return value;
  }
  if (value instanceof Set) {
    const items = [...value];
    value.clear();
    for (const v of items) value.add(revive(v, buffers, hooks));
    return value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const record = value as Record<string, unknown>;
  const mark = record[MARK];
  if (typeof mark === "string") {
    const b = record.b as number;
    switch (mark) {
      case "ref": return hooks.ref(record.id as ObjectId);
      case "actor": return hooks.actor(record.d as ActorHandleDescriptor);
      case "ta": {
        const bytes = buffers[b];
        if (record.c === "Buffer") return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const Ctor = typedArrayCtors[record.c as string] ?? Uint8Array;
        return new Ctor(bytes.buffer, bytes.byteOffset, record.n as number);
      }
      case "dv": return new DataView(buffers[b].buffer, buffers[b].byteOffset, buffers[b].byteLength);
      case "ab": return buffers[b].slice().buffer;
      case "sab": {
        const copy = new SharedArrayBuffer(buffers[b].byteLength);
        new Uint8Array(copy).set(buffers[b]);
        return copy;
      }
      case "arrow-table": return arrowModule().tableFromIPC(buffers[b]);
      case "arrow-batch": return arrowModule().tableFromIPC(buffers[b]).batches[0];
    }
  }
  for (const key of Object.keys(record)) record[key] = revive(record[key], buffers, hooks);
  return record;
}
