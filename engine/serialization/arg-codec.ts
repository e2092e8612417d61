// The argument list of a task as it travels in its payload: encoded once as a list when small; big arguments
// (out-of-band buffers, or over INLINE_ARG_LIMIT) are put into the store by the caller and travel by ref.
// Shared by the driver and workers; where a big argument goes is the caller's `putBig`.
import { encodeValue, encodeIntList, writeEncoded, type EncodedValue } from "./value-codec.js";
import { isObjectRef, type ObjectRef } from "../refs.js";
import type { ObjectId } from "../ids.js";

export const INLINE_ARG_LIMIT = 64 * 1024;

export interface EncodedArgs {
  payload: Uint8Array;
  /** Top-level refs: resolved before the task runs (data edges). */
  deps: ObjectId[];
  /** Refs nested inside arguments: passed as refs, held while the task is pending. */
  nested: ObjectId[];
}

/** The usual dependency and nested-ref lists are empty: one frozen list for all of them (a task keeps them). */
const EMPTY: ObjectId[] = Object.freeze([]) as unknown as ObjectId[];

/**
 * Carves small payloads out of shared chunks: a task keeps its payload as lineage, and a typed array with an
 * ArrayBuffer of its own per task costs about twice the bytes of the view alone. A chunk lives while any view
 * into it does. Never for payloads that are posted to another thread: cloning a view copies its whole chunk.
 */
export class PayloadSlab {
  private chunk = new Uint8Array(0);
  private used = 0;
  constructor(private readonly chunkBytes = 64 * 1024, private readonly maxBytes = 1024) {}
  readonly alloc = (size: number): Uint8Array => {
    if (size > this.maxBytes) return new Uint8Array(size);
    if (this.used + size > this.chunk.length) { this.chunk = new Uint8Array(this.chunkBytes); this.used = 0; }
    const view = this.chunk.subarray(this.used, this.used + size);
    this.used += (size + 7) & ~7;
    return view;
  };
}

const ownBuffer = (size: number): Uint8Array => new Uint8Array(size);

export function encodeArgs(
  args: unknown[], putBig: (encoded: EncodedValue) => ObjectRef, alloc: (size: number) => Uint8Array = ownBuffer, owner?: object,
  shared?: { key: number; buffers: SharedArrayBuffer[] },
): EncodedArgs {
  const ints = encodeIntList(args, alloc);
  if (ints !== undefined) return { payload: ints, deps: EMPTY, nested: EMPTY };
  let deps: ObjectId[] = EMPTY;
  let list: unknown[] = args;
  let encoded = encodeValue(args, "args", owner, shared, true);
  if (encoded.buffers.length === 0 && encoded.size <= INLINE_ARG_LIMIT) {
    for (const a of args) if (isObjectRef(a)) (deps === EMPTY ? (deps = []) : deps).push(a.id);
  } else {
    list = args.map((a, i) => {
      if (isObjectRef(a)) { (deps === EMPTY ? (deps = []) : deps).push(a.id); return a; }
      const e = encodeValue(a, `args[${i}]`, owner, shared);
      if (e.buffers.length === 0 && e.size <= INLINE_ARG_LIMIT) return a;
      // Big arguments go into the store once and travel by ref, as Ray does.
      const ref = putBig(e);
      (deps === EMPTY ? (deps = []) : deps).push(ref.id);
      return ref;
    });
    encoded = encodeValue(list, "args", owner, shared, true);
  }
  const payload = alloc(encoded.size);
  writeEncoded(encoded, payload, 0);
  const nested = encoded.refs.length === 0 ? EMPTY : encoded.refs.filter((r) => !deps.includes(r));
  return { payload, deps, nested: nested.length === 0 ? EMPTY : nested };
}
