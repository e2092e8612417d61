// Reads a task's payload out of its slot: the JSON header (parsed once per function and options) and the
// encoded arguments. Does not turn ref arguments into values (see TaskExecutor.resolveTopLevel) nor run anything.
import * as L from "../../core-wasm/shared/layout.js";
import type { Core } from "../wasm/core.js";
import { decodeValue, type DecodeHooks } from "../serialization/value-codec.js";
import { ObjectRef } from "../refs.js";
import { handleCountActor, type TaskId } from "../ids.js";
import type { WorkerRefCounter } from "./worker-ref-counter.js";

/** The spec part of a task payload (the fixed part is in the task slot). */
export interface TaskPayload {
  f: number;          // function id
  a: unknown[];       // arguments; top-level refs are resolved before the call
  n: string;          // function name, for errors
  r: number;          // number of returns
  x: boolean;         // retry on exceptions
  m: number;          // max retries (-1: unlimited)
  am?: string;        // actor method name (actor calls)
  g?: number;         // a streaming generator: its generatorBackpressure (0: none)
}

/** The JSON header of a payload: the same for every call of one function with one set of options. */
type PayloadHeader = Pick<TaskPayload, "f" | "n" | "x" | "m" | "am" | "g">;

/** The id of the task in `slot`. */
export function taskIdOf(core: Core, slot: number): TaskId {
  return (core.taskField(slot, L.TASK_ID_HI) * 2 ** 32 + (core.taskField(slot, L.TASK_ID_LO) >>> 0)) as TaskId;
}

export class PayloadReader {
  /** The last header decoded per function id (at most one entry per function), never mutated after decoding. */
  private readonly headers = new Map<number, { bytes: Uint8Array; header: PayloadHeader }>();
  private decodedRefs: ObjectRef[] = [];
  /** Decode hooks that collect the refs they make, untracked (see readPayload); one object for every call. */
  private readonly collectingHooks: DecodeHooks;

  constructor(private readonly core: Core, private readonly hooks: DecodeHooks, private readonly refs: WorkerRefCounter) {
    this.collectingHooks = {
      ref: (id) => { const r = new ObjectRef(id, this.refs, false); this.decodedRefs.push(r); return r; },
      actor: (d) => this.refs.trackHandle(this.hooks.actor(d) as object, handleCountActor(d), true),
      shared: (key, index) => this.hooks.shared!(key, index),
    };
  }

  /** Reads a slot's payload: [header length u32][pad], the JSON header, the encoded arguments (8-aligned). */
  readPayload(slot: number, borrowNested = false): TaskPayload {
    const at = this.core.taskField(slot, L.TASK_PAYLOAD);
    const u8 = this.core.u8;
    const headerLength = u8[at] | u8[at + 1] << 8 | u8[at + 2] << 16 | u8[at + 3] << 24;
    const h = this.headerAt(at + 8, headerLength);
    const argsAt = at + 8 + Math.ceil(headerLength / 8) * 8;
    let args: unknown[];
    if (!borrowNested) {
      args = decodeValue(u8, argsAt, this.hooks, false) as unknown[];
    } else {
      // An actor call's nested refs may outlive the call in the actor's state: borrowed. Top-level refs become
      // their values before the call, so they are not.
      this.decodedRefs = [];
      args = decodeValue(u8, argsAt, this.collectingHooks, false) as unknown[];
      const decoded = this.decodedRefs;
      this.decodedRefs = [];
      for (const r of decoded) if (!args.includes(r)) this.refs.borrow(r);
    }
    return { f: h.f, a: args, n: h.n, r: this.core.taskField(slot, L.TASK_RETURNS), x: h.x, m: h.m, am: h.am, g: h.g };
  }

  /**
   * The JSON header at `at`, parsed only when its bytes differ from the last header seen for its function:
   * the driver writes the same bytes for every call of one function with one set of options.
   */
  private headerAt(at: number, length: number): PayloadHeader {
    const u8 = this.core.u8;
    // The key is the digits after `{"f":`; a hit is still compared byte for byte, so a wrong key only misses.
    let key = 0;
    for (let i = at + 5, end = at + Math.min(length, 20); i < end; i++) {
      const c = u8[i]!;
      if (c < 0x30 || c > 0x39) break;
      key = key * 10 + c - 0x30;
    }
    const cached = this.headers.get(key);
    if (cached !== undefined && cached.bytes.length === length && sameBytes(u8, at, cached.bytes)) return cached.header;
    const bytes = u8.slice(at, at + length);
    const header = JSON.parse(Buffer.from(bytes.buffer, 0, length).toString("utf8")) as PayloadHeader;
    this.headers.set(key, { bytes, header });
    return header;
  }
}

function sameBytes(u8: Uint8Array, at: number, bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (u8[at + i] !== bytes[i]) return false;
  return true;
}
