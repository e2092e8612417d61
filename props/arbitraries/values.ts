// Random values for the value codec's property: a plan (plain data fast-check can print and shrink) and the
// value built from it. A `back` step reuses an object already built, so plans make shared parts (a finished
// object) and cycles (an ancestor still being filled); a `deep` step wraps its leaf in up to 3,000 containers.
// Arrays have holes and, some of them, named keys (`Object.assign([1], { tag: "x" })`), some past 128 elements.
import fc from "fast-check";

type Leaf =
  | { t: "num"; v: number } | { t: "str"; v: string } | { t: "bool"; v: boolean } | { t: "null" } | { t: "undef" }
  | { t: "big"; v: bigint } | { t: "date"; v: number } | { t: "regexp"; source: string; flags: string }
  | { t: "view"; ctor: ViewCtor; length: number; offset: number; spare: number; seed: number }
  | { t: "buffer"; bytes: number; seed: number } | { t: "back"; k: number };
export type ValuePlan =
  | Leaf
  | { t: "array"; items: ValuePlan[]; holes: number[]; names: Array<[string, ValuePlan]>; long: number | undefined }
  | { t: "object"; entries: Array<[string, ValuePlan]> }
  | { t: "map"; entries: Array<[ValuePlan, ValuePlan]> }
  | { t: "set"; items: ValuePlan[] }
  | { t: "error"; kind: "Error" | "TypeError" | "RangeError"; message: string; cause?: ValuePlan }
  | { t: "deep"; depth: number; via: "array" | "object" | "map"; leaf: ValuePlan };

const VIEW_CTORS = ["Uint8Array", "Int16Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "DataView"] as const;
type ViewCtor = typeof VIEW_CTORS[number];

/** Keys that trip naive encoders: the prototype setter, inherited names, index-like and empty keys, the marker. */
const oddKey = fc.oneof(
  fc.constant("__proto__"),
  fc.constantFrom( "constructor", "toString", "hasOwnProperty", "", "0", "1", "-1", "1e3", "length",
    "\u0000loom", "id", "b", "é", "a b"),
  fc.string({ maxLength: 4 }),
);

const leaf: fc.Arbitrary<ValuePlan> = fc.oneof(
  { arbitrary: fc.double().map((v) => ({ t: "num" as const, v })), weight: 3 },
  { arbitrary: fc.integer().map((v) => ({ t: "num" as const, v })), weight: 3 },
  { arbitrary: fc.string({ maxLength: 8 }).map((v) => ({ t: "str" as const, v })), weight: 3 },
  fc.boolean().map((v) => ({ t: "bool" as const, v })),
  fc.constant({ t: "null" as const }),
  fc.constant({ t: "undef" as const }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((v) => ({ t: "big" as const, v })),
  fc.integer({ min: -1e12, max: 1e12 }).map((v) => ({ t: "date" as const, v })),
  fc.record({ source: fc.constantFrom("a+", "^x$", "[0-9]{2}"), flags: fc.constantFrom("", "g", "iu") }).map((r) => ({ t: "regexp" as const, ...r })),
  {
    // Lengths reach past 16 KiB of bytes so both the in-body and the out-of-band paths run; views sit on slices.
    arbitrary: fc.record({
      ctor: fc.constantFrom(...VIEW_CTORS),
      length: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 2048, max: 5000 })),
      offset: fc.integer({ min: 0, max: 3 }),
      spare: fc.integer({ min: 0, max: 3 }),
      seed: fc.integer({ min: 0, max: 255 }),
    }).map((r) => ({ t: "view" as const, ...r })),
    weight: 2,
  },
  fc.record({ bytes: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constant(20_000)), seed: fc.integer({ min: 0, max: 255 }) })
    .map((r) => ({ t: "buffer" as const, ...r })),
  { arbitrary: fc.nat().map((k) => ({ t: "back" as const, k })), weight: 3 },
);

export const valuePlan: fc.Arbitrary<ValuePlan> = fc.letrec<{ value: ValuePlan }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { arbitrary: leaf, weight: 4 },
    fc.record({
      t: fc.constant("array" as const), items: fc.array(tie("value"), { maxLength: 5 }), holes: fc.array(fc.nat(6), { maxLength: 2 }),
      // Named keys (index-like ones become elements, as they would in any program); `long` pads the array past
      // the codec's named-key pre-check (NAMES_PRECHECK_LENGTH, 128) with numbers and a trailing hole.
      names: fc.oneof({ arbitrary: fc.constant<Array<[string, ValuePlan]>>([]), weight: 2 }, fc.array(fc.tuple(oddKey, tie("value")), { minLength: 1, maxLength: 3 })),
      long: fc.oneof({ arbitrary: fc.constant(undefined), weight: 5 }, fc.integer({ min: 100, max: 3000 })),
    }),
    fc.record({ t: fc.constant("object" as const), entries: fc.array(fc.tuple(oddKey, tie("value")), { maxLength: 5 }) }),
    fc.record({ t: fc.constant("map" as const), entries: fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 3 }) }),
    fc.record({ t: fc.constant("set" as const), items: fc.array(tie("value"), { maxLength: 3 }) }),
    fc.record({
      t: fc.constant("error" as const), kind: fc.constantFrom("Error" as const, "TypeError" as const, "RangeError" as const),
      message: fc.string({ maxLength: 6 }), cause: fc.option(tie("value"), { nil: undefined }),
    }),
    {
      arbitrary: fc.record({
        t: fc.constant("deep" as const),
        depth: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 900, max: 1100 }), fc.integer({ min: 1, max: 3000 })),
        via: fc.constantFrom("array" as const, "object" as const, "map" as const),
        leaf: tie("value"),
      }),
      weight: 1,
    },
  ),
})).value;

/** Builds the value a plan describes. Containers join `pool` before their members are built (for `back`). */
export function buildValue(plan: ValuePlan, pool: object[] = []): unknown {
  switch (plan.t) {
    case "num": case "str": case "bool": case "big": return plan.v;
    case "null": return null;
    case "undef": return undefined;
    case "date": return new Date(plan.v);
    case "regexp": return new RegExp(plan.source, plan.flags);
    case "back": return pool.length === 0 ? null : pool[plan.k % pool.length];
    case "buffer": {
      const b = new Uint8Array(plan.bytes).map((_, i) => (i * 31 + plan.seed) & 255);
      return b.buffer;
    }
    case "view": {
      const width = plan.ctor === "DataView" ? 1 : (globalThis[plan.ctor] as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      const buffer = new ArrayBuffer((plan.offset + plan.length + plan.spare) * width);
      new Uint8Array(buffer).forEach((_, i, a) => { a[i] = (i * 7 + plan.seed) & 255; });
      const view = plan.ctor === "DataView"
        ? new DataView(buffer, plan.offset, plan.length)
        : new (globalThis[plan.ctor] as unknown as new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView)(buffer, plan.offset * width, plan.length);
      pool.push(view);
      return view;
    }
    case "array": {
      const out: unknown[] = [];
      pool.push(out);
      plan.items.forEach((p, i) => { out[i] = buildValue(p, pool); });
      if (plan.long !== undefined) {
        for (let i = out.length; i < plan.long; i++) out[i] = i;
        out.length = plan.long + 1;
      }
      for (const h of plan.holes) if (h < out.length) delete out[h];
      for (const [k, p] of plan.names) {
        if (k === "length") continue; // an array's own length, not a key that could be added
        Object.defineProperty(out, k, { value: buildValue(p, pool), writable: true, enumerable: true, configurable: true });
      }
      return out;
    }
    case "object": {
      const out: Record<string, unknown> = {};
      pool.push(out);
      for (const [k, p] of plan.entries) Object.defineProperty(out, k, { value: buildValue(p, pool), writable: true, enumerable: true, configurable: true });
      return out;
    }
    case "map": {
      const out = new Map();
      pool.push(out);
      for (const [k, v] of plan.entries) out.set(buildValue(k, pool), buildValue(v, pool));
      return out;
    }
    case "set": {
      const out = new Set();
      pool.push(out);
      for (const p of plan.items) out.add(buildValue(p, pool));
      return out;
    }
    case "error": {
      const out = new globalThis[plan.kind](plan.message);
      pool.push(out);
      if (plan.cause !== undefined) out.cause = buildValue(plan.cause, pool);
      return out;
    }
    case "deep": {
      // Built from the inside out, without recursion, so a deep plan does not need a deep stack.
      let v = buildValue(plan.leaf, pool);
      for (let i = 0; i < plan.depth; i++) v = plan.via === "array" ? [v] : plan.via === "object" ? { a: v } : new Map([["a", v]]);
      return v;
    }
  }
}
