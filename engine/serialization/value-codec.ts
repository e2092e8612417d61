// The value codec: JSON when the value is plain JSON data (4x cheaper than v8 here) unless it is a big, flat
// run of scalars (see FLAT_SCALARS), a structured-clone-compatible v8 encoding otherwise. Big binary buffers (typed arrays, DataView, ArrayBuffer, Arrow tables and
// record batches) go out of band: written once after the body, and decoded as views, not copies.
// Refs and actor handles become markers. It does not decide where the bytes live: the object store does.
import { serialize, deserialize } from "node:v8";
import { arrowModule } from "./arrow-module.js";
import { SerializationError } from "../errors.js";
import type { ObjectId } from "../ids.js";
import type { ActorHandleDescriptor, ObjectRef } from "../refs.js";
import { walk, newWalkState, tooDeep, isStackOverflow, isIndex, MARK, type WalkState } from "./value-walk.js";

export { BIG_BUFFER_BYTES, MAX_DEPTH } from "./value-walk.js";

const FORMAT_JSON = 1;
const FORMAT_V8 = 2;
/** [format u32][body bytes u32][buffer count u32][flags u32], then [offset u32][length u32] per buffer. */
const HEADER_BYTES = 16;
/** The flags word's bits: the body has markers to revive; an array in it has named keys (revive those too). */
const MARKERS = 1;
const ARRAY_NAMES = 2;
const BUFFER_ALIGN = 64;

export interface EncodedValue {
  format: number;
  body: Uint8Array;
  buffers: Uint8Array[];
  refs: ObjectId[];
  hasMarkers: boolean;
  /** Whether an array in it has named keys (`Object.assign([1], { tag: "x" })`); only read where it has markers. */
  arrayNames?: boolean;
  /** Total bytes this value needs in the store. */
  size: number;
}

export interface DecodeHooks {
  ref(id: ObjectId): ObjectRef;
  actor(descriptor: ActorHandleDescriptor): unknown;
  /** The `index`-th SharedArrayBuffer shared with the arguments listed under `key` (task arguments only). */
  shared?(key: number, index: number): SharedArrayBuffer;
}

const typedArrayCtors: Record<string, new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};

function isJsonScalar(v: unknown): boolean {
  return typeof v === "string" || typeof v === "boolean" || v === null ||
    typeof v === "number" && Number.isFinite(v) && !Object.is(v, -0);
}

/**
 * Whether `list` is short, holds only JSON scalars (a hole reads as undefined, which is not one) and has no
 * named keys (JSON would drop them): with no holes, Object.keys lists exactly its indices. A task's argument
 * list skips that last check (about 60 ns, 5-10% of this path): it is spread into the call, so keys of its own
 * other than indices never reach the task.
 */
function isFlatJsonList(list: unknown[], argList: boolean): boolean {
  if (list.length > 64) return false;
  for (let i = 0; i < list.length; i++) if (!isJsonScalar(list[i])) return false;
  return argList || Object.keys(list).length === list.length;
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
/**
 * `owner`: the runtime encoding, when refs and handles in the value must be its own. `shared`: set for a task's
 * arguments, whose SharedArrayBuffers are shared with the task (listed there), not copied. `argList`: `value` is
 * a task's argument list, spread into the call at the other end (see isFlatJsonList).
 */
export function encodeValue(value: unknown, path = "value", owner?: object, shared?: WalkState["shared"], argList = false): EncodedValue {
  // Fast path: the common tiny scalar.
  if (typeof value === "number" && Number.isFinite(value) && !Object.is(value, -0) || typeof value === "string" || typeof value === "boolean" || value === null) {
    const body = Buffer.from(JSON.stringify(value));
    return { format: FORMAT_JSON, body, buffers: NO_BUFFERS, refs: NO_REFS, hasMarkers: false, size: HEADER_BYTES + body.length };
  }
  // Fast path: a flat array of JSON scalars (the usual argument list).
  if (Array.isArray(value) && isFlatJsonList(value, argList)) {
    const body = Buffer.from(JSON.stringify(value));
    return { format: FORMAT_JSON, body, buffers: NO_BUFFERS, refs: NO_REFS, hasMarkers: false, size: HEADER_BYTES + body.length };
  }
  const state = newWalkState(path, owner);
  state.shared = shared;
  let replaced: unknown;
  try {
    replaced = walk(value, state);
  } catch (error) {
    // MAX_DEPTH bounds the walk, but a caller already deep in its own recursion can still run out of stack.
    if (isStackOverflow(error)) throw tooDeep(state, true);
    throw error;
  }
  let body: Uint8Array;
  let format: number;
  try {
    if (state.json && !(state.scalars >= FLAT_SCALARS && state.scalars >= FLAT_RATIO * state.containers)) {
      body = Buffer.from(JSON.stringify(replaced));
      format = FORMAT_JSON;
    } else {
      body = serialize(replaced);
      format = FORMAT_V8;
    }
  } catch (error) {
    if (isStackOverflow(error)) {
      throw new SerializationError(`${path} cannot be encoded: the stack ran out (the caller's own stack was deep); ` +
        `call from a shallower stack, or pass a flatter value`, path);
    }
    throw new SerializationError(`${path} cannot be serialized: ${(error as Error).message}`, path);
  }
  let size = align(HEADER_BYTES + state.buffers.length * 8 + body.length, BUFFER_ALIGN);
  for (const b of state.buffers) size = align(size + b.byteLength, BUFFER_ALIGN);
  return { format, body, buffers: state.buffers, refs: state.refs, hasMarkers: state.markers, arrayNames: state.arrayNames, size };
}

/** The longest list encodeIntList takes (a task's arguments: a handful). */
const INT_LIST_MAX = 8;

/**
 * An argument list of int32s (the commonest of trivial tasks: `inc.remote(i)`), written as encodeValue and
 * writeEncoded would write it (JSON, no buffers, no markers), straight into `alloc(size)`: no string, Buffer or
 * EncodedValue on the way. About a tenth of a trivial task's driver time went to those. Undefined (nothing
 * allocated) when `list` is anything else, -0 included (encodeValue keeps -0 out of JSON).
 */
export function encodeIntList(list: unknown[], alloc: (size: number) => Uint8Array): Uint8Array | undefined {
  const n = list.length;
  if (n > INT_LIST_MAX) return undefined;
  let bodyLength = n === 0 ? 2 : n + 1; // the brackets and the commas
  for (let i = 0; i < n; i++) {
    const v = list[i];
    if (typeof v !== "number" || (v | 0) !== v || Object.is(v, -0)) return undefined;
    bodyLength += decimalLength(v);
  }
  const out = alloc(HEADER_BYTES + bodyLength);
  putU32(out, 0, FORMAT_JSON);
  putU32(out, 4, bodyLength);
  putU32(out, 8, 0);
  putU32(out, 12, 0);
  let at = HEADER_BYTES;
  out[at++] = 0x5b; // [
  for (let i = 0; i < n; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    at = writeDecimal(out, at, list[i] as number);
  }
  out[at] = 0x5d; // ]
  return out;
}

function decimalLength(v: number): number {
  let digits = v < 0 ? 2 : 1;
  for (let rest = Math.abs(v); rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/** Writes an int32's decimal digits at `at`; returns the offset after them. */
function writeDecimal(out: Uint8Array, at: number, v: number): number {
  if (v < 0) out[at++] = 0x2d; // -
  const end = at + decimalLength(Math.abs(v));
  let rest = Math.abs(v);
  for (let i = end - 1; i >= at; i--) {
    out[i] = 0x30 + rest % 10;
    rest = Math.floor(rest / 10);
  }
  return end;
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
  putU32(target, offset + 12, (encoded.hasMarkers ? MARKERS : 0) | (encoded.arrayNames ? ARRAY_NAMES : 0));
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
  const flags = getU32(source, offset + 12);
  const hasMarkers = (flags & MARKERS) !== 0;
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
  return revive(value, buffers, hooks, new Map(), (flags & ARRAY_NAMES) !== 0);
}

/**
 * Replaces the markers in a decoded value, in place. `done` maps each object already visited to what replaces
 * it (itself, or the marker's value), so cycles end and an object met twice is revived once.
 */
function revive(value: unknown, buffers: Uint8Array[], hooks: DecodeHooks, done: Map<object, unknown>, arrayNames: boolean): unknown {
  if (typeof value !== "object" || value === null) return value;
  const known = done.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    done.set(value, value);
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item === "object" && item !== null) value[i] = revive(item, buffers, hooks, done, arrayNames);
    }
    if (arrayNames) {
      // Only values whose encoder met an array with named keys pay for listing every array's keys.
      const record = value as unknown as Record<string, unknown>;
      for (const key of Object.keys(value)) {
        const item = record[key];
        if (typeof item === "object" && item !== null && !isIndex(key)) record[key] = revive(item, buffers, hooks, done, arrayNames);
      }
    }
    return value;
  }
  if (value instanceof Map) {
    done.set(value, value);
    const entries = [...value.entries()];
    value.clear();
    for (const [k, v] of entries) value.set(revive(k, buffers, hooks, done, arrayNames), revive(v, buffers, hooks, done, arrayNames));
    return value;
  }
  if (value instanceof Set) {
    done.set(value, value);
    const items = [...value];
    value.clear();
    for (const v of items) value.add(revive(v, buffers, hooks, done, arrayNames));
    return value;
  }
  if (value instanceof Error) {
    done.set(value, value);
    if (Object.hasOwn(value, "cause")) value.cause = revive(value.cause, buffers, hooks, done, arrayNames);
    return value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let record = value as Record<string, unknown>;
  const mark = record[MARK];
  if (typeof mark === "string") {
    if (mark === "plain") {
      record = record.v as Record<string, unknown>;
      done.set(value, record);
    } else {
      const revived = reviveMarker(record, mark, buffers, hooks);
      done.set(value, revived);
      return revived;
    }
  }
  done.set(record, record);
  for (const key of Object.keys(record)) {
    const item = record[key];
    // An own `__proto__` key is a data property here, so plain assignment writes it.
    if (typeof item === "object" && item !== null) record[key] = revive(item, buffers, hooks, done, arrayNames);
  }
  return record;
}

function reviveMarker(record: Record<string, unknown>, mark: string, buffers: Uint8Array[], hooks: DecodeHooks): unknown {
  const b = record.b as number;
  switch (mark) {
    case "ref": return hooks.ref(record.id as ObjectId);
    case "actor": return hooks.actor(record.d as ActorHandleDescriptor);
    case "ta": {
      const bytes = buffers[b]!;
      if (record.c === "Buffer") return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const Ctor = typedArrayCtors[record.c as string] ?? Uint8Array;
      return new Ctor(bytes.buffer, bytes.byteOffset, record.n as number);
    }
    case "dv": return new DataView(buffers[b]!.buffer, buffers[b]!.byteOffset, buffers[b]!.byteLength);
    case "ab": return buffers[b]!.slice().buffer;
    case "sab": {
      const copy = new SharedArrayBuffer(buffers[b]!.byteLength);
      new Uint8Array(copy).set(buffers[b]!);
      return copy;
    }
    case "arrow-table": return arrowModule().tableFromIPC(buffers[b]!);
    case "arrow-batch": return arrowModule().tableFromIPC(buffers[b]!).batches[0];
    case "shared": {
      if (!hooks.shared) throw new Error("Loom codec: a shared buffer marker outside a task's arguments (corrupt object)");
      const sab = hooks.shared(record.k as number, record.i as number);
      if (record.c === undefined) return sab;
      if (record.c === "DataView") return new DataView(sab, record.o as number, record.n as number);
      if (record.c === "Buffer") return Buffer.from(sab, record.o as number, record.n as number);
      const Ctor = typedArrayCtors[record.c as string] ?? Uint8Array;
      return new Ctor(sab, record.o as number, record.n as number);
    }
  }
  throw new Error(`Loom codec: unknown marker ${JSON.stringify(mark)} (corrupt object)`);
}
