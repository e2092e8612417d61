// The chunk task's source, compiled and run in this thread (no runtime): what the
// worker will run is exactly this source.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CHUNK_FAILURE_KEY,
  chunkFailureOf,
  chunkFunction,
  chunkFunctionSource,
  functionExpressionSource,
  rethrowFunction,
} from "./chunk-task.js";

test("a chunk applies the function to each item in order", async () => {
  const chunk = chunkFunction((x: number) => x * x, "single");
  assert.deepEqual(await chunk([1, 2, 3]), [1, 4, 9]);
  assert.deepEqual(await chunk([]), []);
});

test("a chunk awaits async functions and spreads argument arrays for starmap", async () => {
  const addLater = async (a: number, b: number) => a + b;
  assert.deepEqual(await chunkFunction(addLater, "spread")([[1, 2], [3, 4]]), [3, 7]);
});

test("the chunk function is named after the user function", () => {
  function square(x: number) {
    return x * x;
  }
  assert.match(chunkFunctionSource(square, "single"), /^async function square\(/);
  assert.match(chunkFunctionSource((x: number) => x, "single"), /^async function poolChunk\(/);
  // export default function is named "default", a reserved word
  const named = { default: function (x: number) { return x; } };
  Object.defineProperty(named.default, "name", { value: "default" });
  assert.match(chunkFunctionSource(named.default, "single"), /^async function poolChunk\(/);
});

test("method shorthand and async methods are shipped as function expressions", async () => {
  const o = {
    sq(x: number) {
      return x * x;
    },
    async twice(x: number) {
      return 2 * x;
    },
  };
  assert.match(functionExpressionSource(o.sq), /^function sq\(/);
  assert.match(functionExpressionSource(o.twice), /^async function twice\(/);
  assert.deepEqual(await chunkFunction(o.sq, "single")([3]), [9]);
  assert.deepEqual(await chunkFunction(o.twice, "single")([3]), [6]);
});

test("functions without usable source are refused, naming them", () => {
  const table: Array<[string, Function, RegExp]> = [
    ["native", Math.max, /function max has no source/],
    ["bound", function f(this: unknown) {}.bind(null), /bound f has no source/],
    ["class", class Foo {}, /Foo is a class/],
  ];
  for (const [what, fn, message] of table) assert.throws(() => functionExpressionSource(fn), message, what);
});

test("a user function's free names do not see the chunk's locals", async () => {
  // `items` / `values` / `i` are the names a naive chunk would use; here they stay free.
  const chunk = chunkFunction((x: number) => {
    // @ts-expect-error deliberately free
    return typeof items === "undefined" && typeof values === "undefined" ? x : -1;
  }, "single");
  assert.deepEqual(await chunk([5]), [5]);
});

test("a failing first item rethrows as is; a later one reports the values before it", async () => {
  const fn = (x: number) => {
    if (x === 3) throw new RangeError(`bad ${x}`, { cause: { x } });
    return x * 10;
  };
  const chunk = chunkFunction(fn, "single");
  await assert.rejects(chunk([3, 4]), { name: "RangeError", message: "bad 3" });

  const result = await chunk([1, 2, 3, 4]);
  assert.ok(CHUNK_FAILURE_KEY in (result as object));
  const failure = chunkFailureOf(result)!;
  assert.equal(failure.index, 2);
  assert.deepEqual(failure.values, [10, 20]);
  assert.equal(failure.thrown.kind, "error");

  // The rethrow task raises the same error again.
  const rethrow = rethrowFunction(fn);
  assert.throws(
    () => rethrow(failure.thrown),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message === "bad 3" &&
      (e.cause as { x: number }).x === 3 &&
      e.stack!.includes("bad 3"),
  );
  assert.equal(chunkFailureOf([1, 2]), undefined);
});

test("custom error names and thrown non-errors survive the report", async () => {
  const chunk = chunkFunction((x: number) => {
    class MyError extends Error {
      override name = "MyError";
    }
    if (x === 1) throw new MyError("mine");
    if (x === 2) throw "just a string";
    return x;
  }, "single");
  const a = chunkFailureOf(await chunk([0, 1]))!;
  assert.throws(() => rethrowFunction(() => 0)(a.thrown), { name: "MyError", message: "mine" });
  const b = chunkFailureOf(await chunk([0, 2]))!;
  assert.throws(() => rethrowFunction(() => 0)(b.thrown), (e: unknown) => e === "just a string");
});
