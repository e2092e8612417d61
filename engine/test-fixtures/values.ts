// Tasks for the value codec's runtime tests: values built in a worker (return values), and what a worker sees
// of an argument (identity is checked where the value was decoded, before it travels back).
import { current } from "loom-dag";

export function echo<T>(x: T): T {
  return x;
}

/** What the worker sees of a cyclic, shared argument: [self kept, shared kept]. */
export function identityInWorker(v: { self: unknown; x: unknown; y: unknown }): [boolean, boolean] {
  return [v.self === v, v.x === v.y];
}

export function protoKeyed(): unknown {
  return JSON.parse('{"__proto__": {"x": 1}, "a": 2}');
}

export function holey(): unknown[] {
  // eslint-disable-next-line no-sparse-arrays
  return [1, , 3];
}

/** Arrays with named keys (structured clone keeps them), a hole, and one long enough for the codec's pre-check. */
export function tagged(): unknown[] {
  // eslint-disable-next-line no-sparse-arrays
  return Object.assign([1, , 3], { tag: "x", inner: Object.assign([4], { n: 5 }), long: Object.assign(new Array(300).fill(0), { k: "v" }) });
}

export function nested(depth: number, kind: "object" | "array"): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = kind === "object" ? { a: v } : [v];
  return v;
}

export function cycleWithRef(): unknown {
  const a: Record<string, unknown> = { r: current().put(123) };
  a.self = a;
  return a;
}

export function cycleWithBigArray(): unknown {
  const a: Record<string, unknown> = { big: new Float64Array(8192).fill(2) };
  a.self = a;
  return a;
}

export function sharedParts(): unknown {
  const shared = { n: 1 };
  const v: Record<string, unknown> = { x: shared, y: shared };
  v.self = v;
  return v;
}
