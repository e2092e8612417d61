// The encode side's walk over a value: it builds the copy that goes into the body (refs, actor handles and big
// buffers replaced by markers), keeps identity (an object met twice becomes one copy met twice, so cycles and
// shared parts survive v8's encoding), and refuses what cannot cross, naming its path. It does not pick the
// format or lay out bytes (value-codec.ts does).
import { inspect } from "node:util";
import { isProxy } from "node:util/types";
import { arrowModule, isArrowBatch, isArrowTable } from "./arrow-module.js";
import { SerializationError } from "../errors.js";
import { actorHandleObjectId, handleCountActor, type ObjectId } from "../ids.js";
import { isObjectRef, isActorHandle, checkOwnedBy, ACTOR_BRAND } from "../refs.js";

/** Buffers at least this big travel out of band. */
export const BIG_BUFFER_BYTES = 16 * 1024;
/** The key of a marker object in the body; a plain object with this key of its own is escaped. */
export const MARK = "\u0000loom";

/**
 * The most containers (arrays, plain objects, Maps, Sets, Errors with a cause) on one path that a value may
 * have. Decoding recurses in v8's deserializer, which overflows the main thread's stack near 1,900 nested
 * objects when called from a shallow stack (structuredClone fails there too); half of that leaves room for
 * whatever stack the reader already uses, in every thread, so an accepted value can always be read.
 */
export const MAX_DEPTH = 1000;

export interface WalkState {
  buffers: Uint8Array[];
  refs: ObjectId[];
  json: boolean;
  markers: boolean;
  /** Each object met so far and what replaces it in the body (its copy, a marker, or itself). */
  memo: Map<object, unknown>;
  /** The value's name (`args`, `return value`) and the keys from it down to the value being walked: the path
   *  is formatted only for an error (one string per element showed in the walk of big arrays). */
  root: string;
  keys: PathKey[];
  /** Numbers, strings, booleans and nulls; arrays and plain objects (see FLAT_SCALARS in value-codec.ts). */
  scalars: number;
  containers: number;
  /** Set when an array with named keys was met: the decoder must revive those keys too (markers in them). */
  arrayNames: boolean;
  /** The copies of the Errors whose cause is being walked; made at the first such Error. */
  openErrors?: Set<unknown>;
  /** The runtime encoding: a ref or handle made by another one is refused (see checkOwnedBy). */
  owner?: object;
  /**
   * Set when encoding a task's arguments: SharedArrayBuffers (and views on them) are shared with the task, not
   * copied; they are listed here and travel beside the payload (see engine/runtime/shared-buffers.ts).
   */
  shared?: { key: number; buffers: SharedArrayBuffer[] };
}

/** An array index, an object key, or a formatted step (Map and Set members). */
type PathKey = number | string | { step: string };

export function newWalkState(root: string, owner?: object): WalkState {
  return { buffers: [], refs: [], json: true, markers: false, memo: new Map(), root, keys: [], scalars: 0, containers: 0, arrayNames: false, owner };
}

/** Steps kept at each end of a path longer than twice this; the middle is counted, not spelled out. */
const PATH_ENDS = 8;

function pathOf(state: WalkState): string {
  const keys = state.keys;
  let path = state.root;
  for (let i = 0; i < keys.length; i++) {
    if (i === PATH_ENDS && keys.length > 2 * PATH_ENDS + 1) {
      path += `…(${keys.length - 2 * PATH_ENDS} more)…`;
      i = keys.length - PATH_ENDS;
    }
    const k = keys[i]!;
    if (typeof k === "number") path += `[${k}]`;
    else if (typeof k === "string") path += /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
    else path += k.step;
  }
  return path;
}

/** The error for a container deeper than MAX_DEPTH, or for a stack that ran out while walking or encoding. */
export function tooDeep(state: WalkState, stackRanOut = false): SerializationError {
  const path = pathOf(state);
  const depth = state.keys.length + 1;
  const reason = stackRanOut
    ? `the stack ran out while encoding it, ${depth} levels deep (the caller's own stack was deep)`
    : `it is nested more than ${MAX_DEPTH} levels deep`;
  return new SerializationError(`${path} cannot be encoded: ${reason}. Flatten it (a list of nodes with indices ` +
    `instead of links), or pass it in pieces`, path);
}

/** Called as a container is entered: refuses one below MAX_DEPTH containers. */
function enter(state: WalkState): void {
  if (state.keys.length >= MAX_DEPTH) throw tooDeep(state);
}

export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && error.message.includes("call stack");
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

/** Whether `buffer` was transferred away. Only an empty buffer can be: the test costs a throw only then. */
function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0 || !(buffer instanceof ArrayBuffer)) return false;
  try {
    buffer.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

function refuseDetached(state: WalkState, what: string): never {
  const path = pathOf(state);
  throw new SerializationError(`${path} is ${what} (it was transferred, e.g. by postMessage or ` +
    `ArrayBuffer.transfer, and holds nothing now); pass the value before transferring it, or a copy`, path);
}

/**
 * Arrays at least this long are first asked whether they may have named keys (see mayHaveNames): Object.keys
 * costs about 7 ns an index here (a 128-element array about 1 µs, what the pre-check costs at any length).
 */
const NAMES_PRECHECK_LENGTH = 128;
const PRECHECK_OPTIONS = {
  maxArrayLength: 0, depth: 0, customInspect: false, showHidden: false, getters: false, showProxy: false,
  breakLength: Infinity, compact: true, sorted: false,
} as const;
const NO_NAMES = /^\[ \.\.\. \d+ more items? \]$/;

/**
 * Whether `list` may have own enumerable keys that are not indices. Object.keys answers exactly, but lists every
 * index as a string first, and past V8's number-string cache (about 16k entries) that costs about as much as
 * the walk of an array of numbers itself (100,000 integers: 8-10 ms against 10-15 ms for the whole encode).
 * util.inspect with no elements shown reads only the non-index keys (node's native getOwnNonIndexProperties),
 * in 1-2 µs at any length, and with these options calls no inspect hook and no getter of a key: a plain array
 * without named keys prints exactly `[ ... N more items ]`. Any other output (named or symbol keys, a subclass,
 * another format in a later node) sends the array to the exact check, so this can only skip work, never a key;
 * the codec's tests pin a long array's named key. A Proxy goes to the exact check too (inspect would read its
 * target, not its traps).
 */
function mayHaveNames(list: unknown[]): boolean {
  if (list.length < NAMES_PRECHECK_LENGTH || isProxy(list)) return true;
  return !NO_NAMES.test(inspect(list, PRECHECK_OPTIONS));
}

/** A canonical array index ("0" to "4294967294"). */
export function isIndex(key: string): boolean {
  const n = Number(key);
  return n >>> 0 === n && n !== 4294967295 && String(n) === key;
}

/** The own enumerable non-index keys of `list`, in order, or undefined when none. `present`: how many
 *  elements it has (Object.keys lists the indices first). */
function namedKeys(list: unknown[], present: number): string[] | undefined {
  const all = Object.keys(list);
  if (all.length <= present && (all.length === 0 || isIndex(all[all.length - 1]!))) return undefined;
  let start = Math.min(present, all.length);
  // A getter on an element may have added or deleted elements during the walk: find the boundary itself.
  while (start > 0 && !isIndex(all[start - 1]!)) start--;
  while (start < all.length && isIndex(all[start]!)) start++;
  return start === all.length ? undefined : all.slice(start);
}

/** Sets an own data key; a plain assignment of `__proto__` would set the prototype instead. */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  else out[key] = value;
}

/** Replaces what cannot go into the body; raises SerializationError with the path of what cannot cross. */
export function walk(value: unknown, state: WalkState): unknown {
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
  const memo = state.memo;
  const known = memo.get(obj);
  if (known !== undefined) {
    if (state.openErrors?.has(known)) refuseErrorCycle(state);
    // JSON would write a second copy, and a cycle not at all.
    state.json = false;
    return known;
  }
  if (isObjectRef(obj)) {
    if (state.owner) checkOwnedBy(state.owner, obj, pathOf(state));
    state.refs.push(obj.id);
    state.markers = true;
    return { [MARK]: "ref", id: obj.id };
  }
  if (isActorHandle(obj)) {
    if (state.owner) checkOwnedBy(state.owner, obj, pathOf(state));
    // Held like a nested ref: a task's argument or a stored value that holds the handle keeps its actor.
    state.refs.push(actorHandleObjectId(handleCountActor(obj[ACTOR_BRAND])));
    state.markers = true;
    return { [MARK]: "actor", d: { ...obj[ACTOR_BRAND] } };
  }
  if (ArrayBuffer.isView(obj)) return walkView(obj, state);
  if (obj instanceof SharedArrayBuffer && state.shared) return sharedMarker(obj, state, null);
  if (obj instanceof ArrayBuffer || obj instanceof SharedArrayBuffer) {
    if (obj.byteLength < BIG_BUFFER_BYTES && obj instanceof ArrayBuffer) {
      if (isDetached(obj)) refuseDetached(state, "a detached ArrayBuffer");
      state.json = false;
      return obj;
    }
    const marker = { [MARK]: obj instanceof ArrayBuffer ? "ab" : "sab", b: oob(state, new Uint8Array(obj)) };
    memo.set(obj, marker);
    return marker;
  }
  if (isArrowTable(obj) || isArrowBatch(obj)) {
    // apache-arrow is loaded on the first Arrow value (arrow-module.ts); these checks need no import.
    const arrow = arrowModule();
    const isTable = isArrowTable(obj);
    const table = isTable ? obj as never : new arrow.Table(obj as never);
    const marker = { [MARK]: isTable ? "arrow-table" : "arrow-batch", b: oob(state, arrow.tableToIPC(table, "stream")) };
    memo.set(obj, marker);
    return marker;
  }
  const keys = state.keys;
  const depth = keys.length;
  if (Array.isArray(obj)) {
    enter(state);
    state.containers++;
    const n = obj.length;
    const out = new Array(n);
    memo.set(obj, out);
    let present = 0;
    for (let i = 0; i < n; i++) {
      const item = obj[i];
      if (item === undefined && !(i in obj)) {
        state.json = false; // JSON would write null
        continue;
      }
      present++;
      keys[depth] = i;
      out[i] = walk(item, state);
    }
    // Own enumerable named keys (`Object.assign([1, 2], { tag: "x" })`, a RegExp match's `index`): structured
    // clone keeps them after the elements, JSON drops them.
    const names = mayHaveNames(obj) ? namedKeys(obj, present) : undefined;
    if (names !== undefined) {
      state.json = false;
      state.arrayNames = true;
      for (const key of names) {
        keys[depth] = key;
        setOwn(out as unknown as Record<string, unknown>, key, walk((obj as unknown as Record<string, unknown>)[key], state));
      }
    }
    keys.length = depth;
    return out;
  }
  const proto = Object.getPrototypeOf(obj);
  if (proto === Object.prototype || proto === null) {
    enter(state);
    state.containers++;
    const out: Record<string, unknown> = {};
    let result: unknown = out;
    if (Object.hasOwn(obj, MARK)) {
      // The user's own key must not be read as a marker: the copy travels inside a marker that says so.
      state.markers = true;
      result = { [MARK]: "plain", v: out };
    }
    memo.set(obj, result);
    for (const key of Object.keys(obj)) {
      keys[depth] = key;
      setOwn(out, key, walk((obj as Record<string, unknown>)[key], state));
    }
    keys.length = depth;
    if (proto === null) state.json = false;
    return result;
  }
  state.json = false;
  if (obj instanceof Map) {
    enter(state);
    const out = new Map();
    memo.set(obj, out);
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
    enter(state);
    const out = new Set();
    memo.set(obj, out);
    let i = 0;
    for (const v of obj) {
      keys[depth] = { step: `.<item ${i++}>` };
      out.add(walk(v, state));
    }
    keys.length = depth;
    return out;
  }
  if (obj instanceof Error) return Object.hasOwn(obj, "cause") ? walkErrorCause(obj, state) : obj;
  if (obj instanceof Date || obj instanceof RegExp || obj instanceof Boolean || obj instanceof String || obj instanceof Number) {
    return obj;
  }
  const path = pathOf(state);
  throw new SerializationError(
    `${path} is ${describe(obj)}; class instances cannot cross threads (their methods and private state would be lost). ` +
    `Pass plain data, or make it an actor`, path);
}

/** A marker naming a shared buffer by its place in the argument list's side list (and the view on it, if any). */
function sharedMarker(sab: SharedArrayBuffer, state: WalkState, view: ArrayBufferView | null): unknown {
  const list = state.shared!.buffers;
  let i = list.indexOf(sab);
  if (i < 0) i = list.push(sab) - 1;
  state.json = false;
  state.markers = true;
  const marker = view === null
    ? { [MARK]: "shared", k: state.shared!.key, i }
    : {
      [MARK]: "shared", k: state.shared!.key, i, o: view.byteOffset,
      c: view instanceof DataView ? "DataView" : Buffer.isBuffer(view) ? "Buffer" : view.constructor.name,
      n: view instanceof DataView ? view.byteLength : (view as unknown as { length: number }).length,
    };
  state.memo.set(view ?? sab, marker);
  return marker;
}

function walkView(view: ArrayBufferView, state: WalkState): unknown {
  const isDataView = view instanceof DataView;
  const shared = view.buffer instanceof SharedArrayBuffer;
  if (shared && state.shared) return sharedMarker(view.buffer as SharedArrayBuffer, state, view);
  // A DataView on a detached buffer throws at byteLength; a typed array reads 0.
  if (!shared && isDetached(view.buffer)) refuseDetached(state, `a ${isDataView ? "DataView" : view.constructor.name} on a detached ArrayBuffer`);
  if (view.byteLength < BIG_BUFFER_BYTES && !shared) {
    state.json = false;
    return view;
  }
  const b = oob(state, new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  const ctor = Buffer.isBuffer(view) ? "Buffer" : view.constructor.name;
  const marker = isDataView ? { [MARK]: "dv", b } : { [MARK]: "ta", c: ctor, b, n: (view as unknown as { length: number }).length };
  state.memo.set(view, marker);
  return marker;
}

/**
 * v8 encodes an Error's own `cause` with the error: the cause is walked like any member (its refs become markers,
 * its depth counts), inside a copy of the error that keeps what v8 keeps (name, message, stack).
 */
function walkErrorCause(error: Error, state: WalkState): Error {
  enter(state);
  const out = Object.hasOwn(error, "message") ? new Error(error.message) : new Error();
  const keep = (key: string, value: unknown) => Object.defineProperty(out, key, { value, writable: true, configurable: true, enumerable: false });
  if (error.name !== "Error") keep("name", error.name);
  keep("stack", error.stack);
  state.memo.set(error, out);
  const open = state.openErrors ??= new Set();
  open.add(out);
  const depth = state.keys.length;
  state.keys[depth] = "cause";
  keep("cause", walk(error.cause, state));
  state.keys.length = depth;
  open.delete(out);
  return out;
}

/** v8 encodes such a value but cannot decode it (structuredClone fails on it the same way): refused here. */
function refuseErrorCycle(state: WalkState): never {
  const path = pathOf(state);
  throw new SerializationError(`${path} is an Error met again inside its own cause, which structured clone cannot ` +
    `rebuild; break the cycle (keep the error's message, not the error, in its cause)`, path);
}
