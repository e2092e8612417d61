// get and wait refuse unknown option keys, as .options() does, instead of ignoring a typo such as `timeout`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, LoomError } from "loom-dag";

test("unknown keys in get and wait options are a LoomError naming the key; known ones still work", async () => {
  const rt = await init({ workers: 1 });
  try {
    const ref = rt.put(1);
    assert.throws(() => rt.get(ref, { timeout: 5 } as never), (e: unknown) => e instanceof LoomError && /"timeout".*timeoutMs/.test(e.message), "get names the unknown key and the known one");
    assert.throws(() => rt.get(ref, "soon" as never), LoomError, "options must be an object");
    await assert.rejects(rt.wait([ref], { num_returns: 1 } as never), (e: unknown) => e instanceof LoomError && /"num_returns"/.test(e.message), "wait names the unknown key");
    assert.equal(await rt.get(ref, { timeoutMs: 1_000 }), 1);
    assert.deepEqual((await rt.wait([ref], { numReturns: 1, timeoutMs: 1_000 })).ready, [ref]);
  } finally {
    await rt.shutdown();
  }
});
