// The argument list of a task as it travels in its payload: encoded once as a list when small; big arguments
// (out-of-band buffers, or over INLINE_ARG_LIMIT) are put into the store by the caller and travel by ref.
// Shared by the driver and workers; where a big argument goes is the caller's `putBig`.
import { encodeValue, writeEncoded, type EncodedValue } from "./value-codec.js";
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

export function encodeArgs(args: unknown[], putBig: (encoded: EncodedValue) => ObjectRef): EncodedArgs {
  const deps: ObjectId[] = [];
  let list: unknown[] = args;
  let encoded = encodeValue(args, "args");
  if (encoded.buffers.length === 0 && encoded.size <= INLINE_ARG_LIMIT) {
    for (const a of args) if (isObjectRef(a)) deps.push(a.id);
  } else {
    list = args.map((a, i) => {
      if (isObjectRef(a)) { deps.push(a.id); return a; }
      const e = encodeValue(a, `args[${i}]`);
      if (e.buffers.length === 0 && e.size <= INLINE_ARG_LIMIT) return a;
      // Big arguments go into the store once and travel by ref, as Ray does.
      const ref = putBig(e);
      deps.push(ref.id);
      return ref;
    });
    encoded = encodeValue(list, "args");
  }
  const payload = new Uint8Array(encoded.size);
  writeEncoded(encoded, payload, 0);
  return { payload, deps, nested: encoded.refs.filter((r) => !deps.includes(r)) };
}
