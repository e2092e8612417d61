// The value codec's property (issue 27): any value either comes back from encode and decode as node's
// structuredClone gives it (same data, same identity structure, same own keys, an array's named keys included,
// same holes), in both the arena's copying decode and the segment's zero-copy one, or, when it is nested more
// than MAX_DEPTH containers deep, is refused at encode with a SerializationError naming that depth. Nothing else
// may be refused, except what structuredClone cannot clone either, and nothing may throw anything else.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeValue, writeEncoded, decodeValue, MAX_DEPTH, type DecodeHooks } from "../engine/serialization/value-codec.js";
import { SerializationError } from "../engine/errors.js";
import { ObjectRef } from "../engine/refs.js";
import { valuePlan, buildValue } from "./arbitraries/values.js";
import { cloneDifference, nestingDepth } from "./models/clone-equal.js";

const SEEDS = [0xc0dec, 1, 2, 27, 20261207] as const;
const RUNS_PER_SEED = 200;
const hooks: DecodeHooks = { ref: (id) => new ObjectRef(id), actor: (d) => d };

/** What structuredClone makes of `value`, or why it cannot clone it. */
function structuredCloneOf(value: unknown): { clone: unknown } | { error: Error } {
  try {
    return { clone: structuredClone(value) };
  } catch (error) {
    return { error: error as Error };
  }
}

function roundTripsOrIsRefused(value: unknown, zeroCopy: boolean): void {
  const depth = nestingDepth(value);
  const expected = structuredCloneOf(value);
  let encoded;
  try {
    encoded = encodeValue(value, "value");
  } catch (error) {
    assert.ok(error instanceof SerializationError, `encode threw ${String(error)}, not a SerializationError`);
    const forDepth = new RegExp(`more than ${MAX_DEPTH} levels deep`).test(error.message);
    // Refused for another reason: only what structuredClone cannot clone either, other than for its depth.
    const likeClone = !forDepth && "error" in expected && !(expected.error instanceof RangeError);
    assert.ok(forDepth ? depth > MAX_DEPTH : likeClone, `refused a value ${depth} deep: ${error.message}`);
    return;
  }
  assert.ok(depth <= MAX_DEPTH, `accepted a value ${depth} deep (more than MAX_DEPTH ${MAX_DEPTH})`);
  const bytes = new Uint8Array(encoded.size + 64);
  writeEncoded(encoded, bytes, 64);
  const back = decodeValue(bytes, 64, hooks, zeroCopy);
  // Where structuredClone gives up on the depth (near 1,900 objects), the value itself is what to compare with.
  const difference = cloneDifference(back, "clone" in expected ? expected.clone : value);
  assert.equal(difference, undefined, difference);
}

for (const seed of SEEDS) {
  test(`codec: every value round-trips as structuredClone does, or is refused as too deep (seed ${seed})`, () => {
    let i = 0;
    fc.assert(fc.property(valuePlan, (plan) => {
      roundTripsOrIsRefused(buildValue(plan), i++ % 2 === 0);
    }), { seed, numRuns: RUNS_PER_SEED });
  });
}

test("codec: the cases the property found or was built for, pinned", () => {
  const cyclicMap = new Map<unknown, unknown>();
  cyclicMap.set(cyclicMap, [cyclicMap]);
  const deepThenShared: Record<string, unknown> = { a: 1 };
  const chain = { inner: deepThenShared };
  const pinned: unknown[] = [
    cyclicMap,
    [chain, chain.inner],
    JSON.parse('{"__proto__": [1, {"__proto__": null}], "\\u0000loom": "ref", "id": 3}'),
    new Error("outer", { cause: { big: new Float64Array(4096) } }),
  ];
  // The first values the named-key arrays found (the codec dropped an array's own named keys).
  const namedProto: unknown[] = [];
  Object.defineProperty(namedProto, "__proto__", { value: new Uint8Array(2048), writable: true, enumerable: true, configurable: true });
  pinned.push([namedProto], Object.assign(new Array(200).fill(1), { constructor: /a+/ }));
  const ownCause = new Error("self");
  ownCause.cause = [ownCause];
  pinned.push(ownCause, { e: ownCause });
  for (const value of pinned) for (const zeroCopy of [false, true]) roundTripsOrIsRefused(value, zeroCopy);
});
