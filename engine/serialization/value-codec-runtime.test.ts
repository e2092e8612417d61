// The value codec through the runtime (SPEC, Objects): arguments, put and return values keep what structured
// clone keeps across each thread crossing; a value nested too deep is refused where it is made (at the call,
// or at get for a return value) with a SerializationError naming path and depth; what is accepted can be read.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { init, isObjectRef, LoomError, ObjectRef, SerializationError, type Runtime } from "loom-dag";

type Fixtures = typeof import("../test-fixtures/values.js");
let rt: Runtime;
let fx: Record<string, any>;

before(async () => {
  rt = await init({ workers: 2 });
  fx = (await rt.module<Fixtures>(new URL("../test-fixtures/values.ts", import.meta.url))) as Record<string, any>;
});
after(async () => {
  await rt.shutdown();
});

function ownProto(v: unknown): unknown {
  return Object.getOwnPropertyDescriptor(v, "__proto__")?.value;
}

test("own __proto__ keys survive arguments, put and return values", async () => {
  const parsed = JSON.parse('{"__proto__": {"x": 1}, "a": 2}');
  const backs = [await rt.get(fx.echo.remote(parsed)), await rt.get(rt.put(parsed)), await rt.get(fx.protoKeyed.remote()),
    await rt.get(fx.echo.remote({ deeper: [parsed], d: new Date(0) }))];
  for (const back of backs.slice(0, 3)) {
    assert.deepEqual(Object.keys(back), ["__proto__", "a"]);
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.deepEqual(ownProto(back), { x: 1 });
  }
  assert.deepEqual(ownProto(backs[3].deeper[0]), { x: 1 });
});

test("cycles and shared parts keep their identity across each crossing", async () => {
  const shared = { n: 1 };
  const v: Record<string, unknown> = { x: shared, y: shared };
  v.self = v;
  assert.deepEqual(await rt.get(fx.identityInWorker.remote(v)), [true, true], "in the worker");
  for (const back of [await rt.get(fx.echo.remote(v)), await rt.get(rt.put(v)), await rt.get(fx.sharedParts.remote())] as any[]) {
    assert.equal(back.self, back);
    assert.equal(back.x, back.y);
  }
  const twice = (await rt.get(fx.echo.remote(await rt.get(fx.echo.remote(v))))) as any;
  assert.equal(twice.self.self, twice, "no level is unrolled, however many crossings");
});

test("an array's named keys survive put, arguments and return values", async () => {
  // eslint-disable-next-line no-sparse-arrays
  const tagged = Object.assign([1, , 3], { tag: "x", inner: Object.assign([4], { n: 5 }), long: Object.assign(new Array(300).fill(0), { k: "v" }) });
  const backs = [await rt.get(rt.put(tagged)), await rt.get(fx.echo.remote(tagged)), await rt.get(fx.tagged.remote()),
    ((await rt.get(fx.echo.remote({ a: tagged, d: new Date(0) }))) as any).a];
  for (const back of backs as any[]) {
    assert.deepEqual(Object.keys(back), ["0", "2", "tag", "inner", "long"]);
    assert.equal(1 in back, false, "index 1 is a hole");
    assert.equal(back.tag, "x");
    assert.equal(back.inner.n, 5);
    assert.equal(back.long.k, "v");
    assert.equal(back.long.length, 300);
  }
});

test("holes stay holes in put, arguments and return values", async () => {
  // eslint-disable-next-line no-sparse-arrays
  const holey = [1, , 3];
  const backs = [await rt.get(rt.put(holey)), await rt.get(fx.echo.remote(holey)), await rt.get(fx.holey.remote()),
    ((await rt.get(fx.echo.remote({ a: holey, u: undefined }))) as any).a];
  for (const back of backs as unknown[][]) {
    assert.equal(back.length, 3);
    assert.equal(1 in back, false, "index 1 is a hole");
    assert.equal(back[2], 3);
  }
});

test("depth 3,000 / 5,000 / 100k is a SerializationError naming path and depth, at the call and for a return value", async () => {
  for (const depth of [3_000, 5_000, 100_000]) {
    for (const kind of ["object", "array"] as const) {
      const deep = buildNested(depth, kind);
      for (const call of [() => fx.echo.remote(deep), () => rt.put({ deep })]) {
        assert.throws(call, (e: unknown) => e instanceof SerializationError && /levels deep/.test(e.message) &&
          /^(args\[0\]|value\.deep)/.test(e.path), `${kind} ${depth} at the call`);
      }
      await assert.rejects(rt.get(fx.nested.remote(depth, kind)), (e: unknown) => e instanceof SerializationError &&
        /levels deep/.test(e.message) && e.path.startsWith("return value"), `${kind} ${depth} returned`);
    }
  }
  // What is accepted can be read back and passed on, both ways.
  const ok = await rt.get(fx.nested.remote(500, "object"));
  assert.equal(JSON.stringify(await rt.get(fx.echo.remote(ok))), JSON.stringify(buildNested(500, "object")));
  assert.equal(await rt.get(fx.echo.remote(7)), 7, "healthy after");
});

function buildNested(depth: number, kind: "object" | "array"): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = kind === "object" ? { a: v } : [v];
  return v;
}

test("a cycle holding a ref or a 64 KiB Float64Array round-trips as an argument and as a return value", async () => {
  const a: Record<string, unknown> = { r: rt.put(123), big: new Float64Array(8192).fill(1) };
  a.self = a;
  const back = (await rt.get(fx.echo.remote(a))) as any;
  assert.equal(back.self, back);
  assert.ok(isObjectRef(back.r), "the ref in the cycle is a ref");
  assert.equal(await rt.get(back.r), 123);
  assert.equal(back.big.length, 8192);
  const returned = (await rt.get(fx.cycleWithRef.remote())) as any;
  assert.equal(returned.self, returned);
  assert.equal(await rt.get(returned.r), 123);
  const withBig = (await rt.get(fx.cycleWithBigArray.remote())) as any;
  assert.equal(withBig.self, withBig);
  assert.equal(withBig.big[8191], 2);
});

test("a detached buffer's error names the element's path", () => {
  const ab = new ArrayBuffer(8);
  structuredClone(ab, { transfer: [ab] });
  assert.throws(() => fx.echo.remote([1, ab]), (e: unknown) => e instanceof SerializationError && e.path === "args[0][1]" && /detached/.test(e.message));
  const view = new Float64Array(4);
  structuredClone(view.buffer, { transfer: [view.buffer] });
  assert.throws(() => rt.put({ v: view }), (e: unknown) => e instanceof SerializationError && e.path === "value.v");
});

test("an object carrying Symbol.for(\"loom.ObjectRef\") is not taken for a ref unless it is one", async () => {
  const fake = { [Symbol.for("loom.ObjectRef")]: true, id: 1 };
  assert.deepEqual(await rt.get(fx.echo.remote(fake)), { id: 1 });
  assert.deepEqual(await rt.get(fx.echo.remote({ inner: fake })), { inner: { id: 1 } });
  await assert.rejects(async () => rt.get(fake as unknown as ObjectRef), LoomError);
  const real = rt.put(5);
  assert.equal(await rt.get(fx.echo.remote(real)), 5, "a real ref still resolves");
  const [inList] = (await rt.get(fx.echo.remote([real]))) as unknown[];
  assert.ok(isObjectRef(inList), "a real ref nested in an argument stays a ref");
});
