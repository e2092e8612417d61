// What "round-trips as structured clone would" means for the value codec's tests: the same values and the same
// identity structure (an object met twice on one side is one object met twice on the other, cycles included),
// the same own keys in order (an array's named keys too), holes where the other side has holes. Views compare by type and elements, not by
// their buffer: the codec stores only a view's bytes (SPEC, Objects), where structuredClone copies the whole
// buffer. Refs are not structured-cloneable: a ref compares by its id. Iterative, so that values thousands of
// levels deep can be compared.

const REF_BRAND = Symbol.for("loom.ObjectRef");

/** The first difference between `actual` and `expected` as a path and a reason, or undefined when alike. */
export function cloneDifference(actual: unknown, expected: unknown): string | undefined {
  const pairs = new Map<object, object>();
  const reverse = new Map<object, object>();
  const stack: Array<[unknown, unknown, string]> = [[actual, expected, "value"]];
  while (stack.length > 0) {
    const [a, e, path] = stack.pop()!;
    if (typeof a !== typeof e) return `${path}: ${typeof a} where ${typeof e} was expected`;
    if (typeof e !== "object" || e === null || a === null) {
      if (!Object.is(a, e)) return `${path}: ${String(a)} where ${String(e)} was expected`;
      continue;
    }
    const ao = a as object;
    const eo = e as object;
    const paired = pairs.get(eo);
    if (paired !== undefined || reverse.has(ao)) {
      if (paired !== ao || reverse.get(ao) !== eo) return `${path}: identity differs (a shared part or cycle was not kept)`;
      continue;
    }
    pairs.set(eo, ao);
    reverse.set(ao, eo);
    const kind = kindOf(eo);
    if (kindOf(ao) !== kind) return `${path}: ${kindOf(ao)} where ${kind} was expected`;
    const push = (x: unknown, y: unknown, p: string) => { stack.push([x, y, p]); };
    switch (kind) {
      case "Array": {
        const [xa, xe] = [ao as unknown[], eo as unknown[]];
        if (xa.length !== xe.length) return `${path}: length ${xa.length} where ${xe.length} was expected`;
        for (let i = xe.length - 1; i >= 0; i--) {
          if ((i in xe) !== (i in xa)) return `${path}[${i}]: ${i in xe ? "a hole" : "an element"} where ${i in xe ? "an element" : "a hole"} was expected`;
          push(xa[i], xe[i], `${path}[${i}]`);
        }
        // Named keys (structured clone keeps an array's own enumerable non-index keys, in order).
        const [na, ne] = [namedKeys(xa), namedKeys(xe)];
        if (na.join("\u0001") !== ne.join("\u0001")) return `${path}: named keys ${JSON.stringify(na)} where ${JSON.stringify(ne)} were expected`;
        for (const k of ne) push(own(xa, k), own(xe, k), `${path}[${JSON.stringify(k)}]`);
        break;
      }
      case "Object": {
        const [ka, ke] = [Object.keys(ao), Object.keys(eo)];
        if (ka.join("\u0001") !== ke.join("\u0001")) return `${path}: keys ${JSON.stringify(ka)} where ${JSON.stringify(ke)} were expected`;
        if (Object.getPrototypeOf(ao) !== Object.prototype) return `${path}: its prototype is not Object.prototype`;
        for (const k of ke) push(own(ao, k), own(eo, k), `${path}[${JSON.stringify(k)}]`);
        break;
      }
      case "Map": {
        const [ea, ee] = [[...(ao as Map<unknown, unknown>)], [...(eo as Map<unknown, unknown>)]];
        if (ea.length !== ee.length) return `${path}: ${ea.length} entries where ${ee.length} were expected`;
        ee.forEach(([k, v], i) => { push(ea[i]![0], k, `${path}.<key ${i}>`); push(ea[i]![1], v, `${path}.<value ${i}>`); });
        break;
      }
      case "Set": {
        const [ia, ie] = [[...(ao as Set<unknown>)], [...(eo as Set<unknown>)]];
        if (ia.length !== ie.length) return `${path}: ${ia.length} items where ${ie.length} were expected`;
        ie.forEach((v, i) => push(ia[i], v, `${path}.<item ${i}>`));
        break;
      }
      case "ObjectRef":
        if ((ao as { id: unknown }).id !== (eo as { id: unknown }).id) return `${path}: a ref to another object`;
        break;
      case "Date":
        if (!Object.is((ao as Date).getTime(), (eo as Date).getTime())) return `${path}: another time`;
        break;
      case "RegExp":
        if (String(ao) !== String(eo)) return `${path}: ${String(ao)} where ${String(eo)} was expected`;
        break;
      case "Error": {
        const [xa, xe] = [ao as Error, eo as Error];
        if (xa.name !== xe.name || xa.message !== xe.message) return `${path}: ${xa.name}: ${xa.message} where ${xe.name}: ${xe.message} was expected`;
        if (Object.hasOwn(xa, "cause") !== Object.hasOwn(xe, "cause")) return `${path}: cause ${Object.hasOwn(xe, "cause") ? "lost" : "added"}`;
        if (Object.hasOwn(xe, "cause")) push(xa.cause, xe.cause, `${path}.cause`);
        break;
      }
      case "ArrayBuffer":
        if (!sameBytes(new Uint8Array(ao as ArrayBuffer), new Uint8Array(eo as ArrayBuffer))) return `${path}: other bytes`;
        break;
      case "Boolean": case "Number": case "String": case "BigInt":
        if (!Object.is((ao as object).valueOf(), (eo as object).valueOf())) return `${path}: another boxed value`;
        break;
      default: {
        if (!ArrayBuffer.isView(eo)) return `${path}: cannot compare a ${kind}`;
        const [va, ve] = [ao as ArrayBufferView, eo as ArrayBufferView];
        if (va.byteLength !== ve.byteLength) return `${path}: ${va.byteLength} bytes where ${ve.byteLength} were expected`;
        if (!sameBytes(new Uint8Array(va.buffer, va.byteOffset, va.byteLength), new Uint8Array(ve.buffer, ve.byteOffset, ve.byteLength))) {
          return `${path}: other elements`;
        }
      }
    }
  }
  return undefined;
}

/** An array's own enumerable keys that are not indices ("0" to "4294967294"), in order. */
function namedKeys(list: unknown[]): string[] {
  return Object.keys(list).filter((k) => { const n = Number(k); return !(n >>> 0 === n && n !== 4294967295 && String(n) === k); });
}

function own(o: object, key: string): unknown {
  return Object.getOwnPropertyDescriptor(o, key)?.value;
}

function kindOf(o: object): string {
  if ((o as Record<symbol, unknown>)[REF_BRAND] !== undefined) return "ObjectRef";
  if (Array.isArray(o)) return "Array";
  if (o instanceof Error) return "Error";
  if (ArrayBuffer.isView(o)) return o instanceof DataView ? "DataView" : (Object.getPrototypeOf(Object.getPrototypeOf(o)) === Uint8Array.prototype ? "Uint8Array" : o.constructor.name);
  const tag = Object.prototype.toString.call(o).slice(8, -1);
  return tag === "Object" ? "Object" : tag;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * How deep the codec reads `value`: the most containers (arrays, plain objects, Maps, Sets, Errors with a cause)
 * on one path, following each object only where it is first met in key order, as an encoder that keeps
 * identity does.
 */
export function nestingDepth(value: unknown): number {
  const seen = new Set<object>();
  const stack: Array<[unknown, number]> = [[value, 0]];
  let deepest = 0;
  while (stack.length > 0) {
    const [v, above] = stack.pop()!;
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    seen.add(v);
    const children: unknown[] = [];
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) children.push(v[i]);
      for (const k of namedKeys(v)) children.push(own(v, k));
    }
    else if (v instanceof Map) for (const [k, x] of v) children.push(k, x);
    else if (v instanceof Set) for (const x of v) children.push(x);
    else if (v instanceof Error) { if (!Object.hasOwn(v, "cause")) continue; children.push(v.cause); }
    else if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) for (const k of Object.keys(v)) children.push(own(v, k));
    else continue;
    deepest = Math.max(deepest, above + 1);
    for (let i = children.length - 1; i >= 0; i--) stack.push([children[i], above + 1]);
  }
  return deepest;
}
