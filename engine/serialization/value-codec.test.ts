// The value codec alone (no runtime): what structured clone keeps survives one encode and decode, in both the
// arena's copying decode and the segment's zero-copy one; what cannot be kept is refused at encode with a
// SerializationError that names where, never a RangeError and never a value that then cannot be decoded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeValue, encodeIntList, writeEncoded, decodeValue, MAX_DEPTH, type DecodeHooks } from "./value-codec.js";
import { ObjectRef, isObjectRef, REF_BRAND } from "../refs.js";
import { SerializationError } from "../errors.js";
import type { ObjectId } from "../ids.js";
import { cloneDifference } from "../../props/models/clone-equal.js";

const hooks: DecodeHooks = { ref: (id) => new ObjectRef(id), actor: (d) => ({ decodedActor: d }) };

function roundTrip<T>(value: T, zeroCopy = false): T {
  const encoded = encodeValue(value, "value");
  const bytes = new Uint8Array(encoded.size + 8);
  writeEncoded(encoded, bytes, 8);
  return decodeValue(bytes, 8, hooks, zeroCopy) as T;
}

function refusal(fn: () => unknown): SerializationError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SerializationError, `expected a SerializationError, got ${String(error)}`);
    return error;
  }
  assert.fail("the value was accepted");
}

function nest(depth: number, kind: "object" | "array" | "map"): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = kind === "object" ? { a: v } : kind === "array" ? [v] : new Map([["a", v]]);
  return v;
}

test("own __proto__ keys stay own data keys, at the top, nested, and beside markers", () => {
  const parsed = JSON.parse('{"__proto__": {"x": 1}, "a": 2, "inner": {"__proto__": 5}}');
  for (const value of [parsed, { ...{ list: [parsed] }, ref: new ObjectRef(3 as ObjectId) }, { m: new Map([[1, parsed]]), b: 1n }]) {
    for (const zeroCopy of [false, true]) {
      const back = roundTrip(value, zeroCopy);
      assert.equal(cloneDifference(back, value), undefined);
    }
  }
  const back = roundTrip(parsed);
  assert.deepEqual(Object.keys(back), ["__proto__", "a", "inner"]);
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(back, "__proto__")?.value, { x: 1 });
  assert.equal(Object.getOwnPropertyDescriptor(back.inner, "__proto__")?.value, 5);
});

test("cycles and shared parts keep their identity, in JSON-able values and beside markers", () => {
  const shared = { n: 1 };
  const plain: Record<string, unknown> = { x: shared, y: shared, list: [shared] };
  plain.self = plain;
  const withRef: Record<string, unknown> = { r: new ObjectRef(9 as ObjectId), x: shared, y: shared };
  withRef.self = withRef;
  const map = new Map<unknown, unknown>([[shared, shared]]);
  map.set("me", map);
  for (const value of [plain, withRef, map, [shared, shared], new Set([shared, [shared]])]) {
    const back = roundTrip(value);
    assert.equal(cloneDifference(back, value), undefined);
  }
  const back = roundTrip(withRef);
  assert.equal(back.self, back);
  assert.equal(back.x, back.y);
  assert.ok(isObjectRef(back.r) && back.r.id === 9, "the ref in the cycle is the same ref");
});

test("a cycle holding a ref or a 64 KiB Float64Array decodes (it overflowed the stack at decode before)", () => {
  const big = new Float64Array(8192).map((_, i) => i);
  const a: Record<string, unknown> = { r: new ObjectRef(4 as ObjectId), big, again: big };
  a.self = a;
  for (const zeroCopy of [false, true]) {
    const back = roundTrip(a, zeroCopy);
    assert.equal(back.self, back);
    assert.equal(back.big, back.again, "one array met twice is one array");
    assert.ok(back.big instanceof Float64Array && (back.big as Float64Array)[8191] === 8191, "the big array came back whole");
    assert.ok(isObjectRef(back.r), "the ref is a ref");
  }
});

test("holes stay holes: a flat array, a nested one, and one beside a marker", () => {
  // eslint-disable-next-line no-sparse-arrays
  const holey = [1, , 3];
  for (const value of [holey, { a: holey }, [holey, new ObjectRef(1 as ObjectId)], [, undefined]]) {
    assert.equal(cloneDifference(roundTrip(value), value), undefined);
  }
  const back = roundTrip(holey);
  assert.equal(1 in back, false);
  assert.equal(back.length, 3);
});

test(`values nested deeper than MAX_DEPTH (${MAX_DEPTH}) are a SerializationError naming the path and depth; MAX_DEPTH round-trips`, () => {
  for (const kind of ["object", "array", "map"] as const) {
    assert.equal(cloneDifference(roundTrip(nest(MAX_DEPTH, kind)), nest(MAX_DEPTH, kind)), undefined, kind);
    for (const depth of [MAX_DEPTH + 1, 3_000, 5_000, 100_000]) {
      const error = refusal(() => encodeValue({ top: nest(depth, kind) }, "args[0]"));
      assert.match(error.message, new RegExp(`nested more than ${MAX_DEPTH} levels deep`));
      assert.ok(error.path.startsWith(kind === "map" ? "args[0].top.get(\"a\")" : kind === "array" ? "args[0].top[0][0]" : "args[0].top.a.a"), error.path);
      assert.match(error.path, /more/, "a path thousands of steps long is shortened");
    }
  }
});

test("a value encoded from a nearly exhausted stack is a SerializationError, not a RangeError", () => {
  const value = nest(MAX_DEPTH, "object");
  // Compiling a function takes stack too: a first call from a full stack overflows before the codec runs.
  // Warm the codec's paths first, as any program has by the time its stack is deep.
  assert.ok(encodeValue(value).size > 0, "MAX_DEPTH levels encode from a shallow stack");
  assert.throws(() => encodeValue(nest(MAX_DEPTH + 1, "object")), SerializationError);
  let refused: unknown;
  const dive = (n: number): void => {
    try {
      dive(n + 1);
    } catch (error) {
      if (!(error instanceof RangeError) || refused !== undefined) throw error;
      // Unwound by up to 200 frames: room to build an error, not to walk a thousand levels.
      if (n % 200 !== 0) throw error;
      try { encodeValue({ value }, "value"); refused = "accepted"; } catch (e) { refused = e; }
    }
  };
  dive(0);
  assert.ok(refused instanceof SerializationError, `got ${String(refused)}`);
  assert.match(refused.message, /the stack ran out/);
  assert.match(refused.path, /^value\.value\.a/);
});

test("a detached buffer is refused with the element's path, not the whole value's", () => {
  const ab = new ArrayBuffer(8);
  structuredClone(ab, { transfer: [ab] });
  const onDetached = new Uint8Array(new ArrayBuffer(64));
  structuredClone(onDetached.buffer, { transfer: [onDetached.buffer] });
  for (const [value, path] of [[[1, ab], "args[0][1]"], [[{ v: onDetached }], "args[0][0].v"]] as const) {
    const error = refusal(() => encodeValue([value], "args"));
    assert.equal(error.path, path);
    assert.match(error.message, /detached/);
  }
});

test("an object that merely carries the ref brand, or a copy of a ref, is plain data, not a ref", () => {
  const fake = { [REF_BRAND]: true, id: 1 };
  const spread = { ...new ObjectRef(2 as ObjectId) };
  assert.equal(isObjectRef(fake), false);
  assert.equal(isObjectRef(spread), false);
  const back = roundTrip([fake, spread]);
  assert.deepEqual(back, [{ id: 1 }, { id: 2 }]);
  assert.ok(!isObjectRef(back[0]) && !isObjectRef(back[1]), "neither came back as a ref");
  assert.deepEqual(encodeValue([fake]).refs, []);
});

test("a plain key that looks like the codec's own marker stays plain data", () => {
  const value = { "\u0000loom": "ref", id: 5, b: 1 };
  for (const around of [value, [value, new ObjectRef(1 as ObjectId)]]) {
    assert.equal(cloneDifference(roundTrip(around), around), undefined);
  }
});

test("an array's own named keys survive as structuredClone keeps them: short, long, holey, beside markers, in cycles", () => {
  const tagged = Object.assign([1, 2], { tag: "x", "-1": { deep: [3] } });
  // eslint-disable-next-line no-sparse-arrays
  const holey = Object.assign([1, , 3], { note: null });
  // Past the pre-check length (128), where util.inspect is asked first, and past V8's number-string cache.
  const long = Object.assign(Array.from({ length: 20_000 }, (_, i) => i), { name: "n", nested: { a: [1] } });
  delete (long as unknown[])[7];
  const withRef = Object.assign([new ObjectRef(1 as ObjectId)], { ref: new ObjectRef(2 as ObjectId), big: new Float64Array(4096) });
  const cyclic: unknown[] & { self?: unknown; shared?: unknown } = [{ n: 1 }];
  cyclic.self = cyclic;
  cyclic.shared = cyclic[0];
  const proto = [1];
  Object.defineProperty(proto, "__proto__", { value: [2], enumerable: true, writable: true, configurable: true });
  const hidden = Object.defineProperty([1], "secret", { value: 2, enumerable: false });
  for (const value of [tagged, holey, long, withRef, cyclic, proto, hidden, { inside: [tagged, tagged] }, new Map([[1, tagged]])]) {
    for (const zeroCopy of [false, true]) {
      assert.equal(cloneDifference(roundTrip(value, zeroCopy), value), undefined);
    }
  }
  assert.deepEqual(Object.keys(roundTrip(tagged)), Object.keys(structuredClone(tagged)));
  assert.equal(roundTrip(long).name, "n");
  assert.equal(roundTrip(long).length, 20_000);
  assert.equal(7 in roundTrip(long), false);
  const refs = roundTrip(withRef);
  assert.ok(isObjectRef(refs.ref) && refs.ref.id === 2, "a ref in a named key is revived");
  assert.ok(refs.big instanceof Float64Array && refs.big.length === 4096, "an out-of-band buffer in a named key is revived");
  assert.deepEqual(encodeValue(withRef).refs, [1, 2]);
  const back = roundTrip(cyclic);
  assert.equal(back.self, back);
  assert.equal(back.shared, back[0]);
  assert.equal(Object.getPrototypeOf(roundTrip(proto)), Array.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(roundTrip(proto), "__proto__")?.value, [2]);
  assert.equal(Object.hasOwn(roundTrip(hidden), "secret"), false, "a non-enumerable key is not cloned (structuredClone drops it)");
  // The flat JSON fast path (short lists of scalars) must not drop them either.
  assert.equal(roundTrip(Object.assign([1, "a", true], { k: 1 })).k, 1);
});

test("an array's named key is walked like a member: a function there is refused with its path", () => {
  const error = refusal(() => encodeValue([Object.assign([1], { fn: () => 1 })], "args"));
  assert.equal(error.path, "args[0].fn");
  const long = Object.assign(new Array<number>(500).fill(0), { "odd key": Symbol("s") });
  assert.equal(refusal(() => encodeValue({ long }, "value")).path, 'value.long["odd key"]');
});

test("an int32 argument list is written byte for byte as encodeValue writes it, and anything else is left to it", () => {
  const lists: unknown[][] = [[], [0], [7], [-1], [10], [99, 100, -100], [2 ** 31 - 1, -(2 ** 31)], [1, 2, 3, 4, 5, 6, 7, 8], [123456789, -987654321, 0]];
  for (const list of lists) {
    const encoded = encodeValue(list, "args", undefined, undefined, true);
    const expected = new Uint8Array(encoded.size);
    writeEncoded(encoded, expected, 0);
    const direct = encodeIntList(list, (size) => new Uint8Array(size));
    assert.deepEqual(direct, expected, JSON.stringify(list));
    assert.deepEqual(decodeValue(direct!, 0, hooks, false), list);
  }
  let allocated = 0;
  const count = (size: number) => { allocated++; return new Uint8Array(size); };
  for (const list of [[-0], [1.5], [NaN], [Infinity], [2 ** 31], [-(2 ** 31) - 1], ["1"], [null], [true], [undefined], [1n], [1, 2, 3, 4, 5, 6, 7, 8, 9], [[1]]]) {
    assert.equal(encodeIntList(list, count), undefined, String(list));
  }
  assert.equal(allocated, 0, "a list it leaves allocates nothing");
});
