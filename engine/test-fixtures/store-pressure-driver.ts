// A driver run in its own process by engine/runtime/robustness.test.ts: loads that once froze the driver for
// good (an endless synchronous loop, so no timer of the test's own could fire). It prints one JSON line of what
// it saw; the test kills it if it does not finish in time.
import { init, ObjectStoreFullError, type ObjectRef } from "loom-dag";

const rt = await init({ workers: 2, objectStoreBytes: 64 * 2 ** 20 });
const m = (await rt.module(new URL("./ray-cases.ts", import.meta.url))) as Record<string, any>;
const out: Record<string, unknown> = {};

// 1. Many tasks in flight with 50 KB arguments: more payload bytes than the arena holds at once.
const refs: ObjectRef<number>[] = [];
for (let i = 0; i < 600; i++) refs.push(m.lengthOf.remote("x".repeat(50_000 + i)));
const lengths = (await rt.get(refs, { timeoutMs: 60_000 })) as number[];
out.bigArgs = lengths.every((n, i) => n === 50_000 + i) ? "ok" : "wrong";

// 2. Fill the arena with small objects, free them all, then ask for a block size it never served.
const arenaBytes = () => rt.storeUsage().arenaBytes;
let small: ObjectRef[] = [];
let last = -1;
for (let i = 0; i < 400_000 && arenaBytes() !== last; i += 1000) {
  last = arenaBytes();
  for (let k = 0; k < 1000; k++) small.push(rt.put("s".repeat(150)));
}
out.filledArenaBytes = arenaBytes();
small = [];
const gc = (globalThis as { gc?: () => void }).gc;
for (let k = 0; k < 5 && gc; k++) { gc(); await new Promise((r) => setTimeout(r, 20)); }
out.arenaBytesAfterFree = arenaBytes();
try {
  out.bigAfterFill = await rt.get(m.lengthOf.remote("z".repeat(600)), { timeoutMs: 10_000 });
} catch (error) {
  out.bigAfterFill = error instanceof ObjectStoreFullError ? "ObjectStoreFullError" : `${(error as Error).name}: ${(error as Error).message}`;
}
out.addAfter = await rt.get(m.lengthOf.remote("abc"), { timeoutMs: 30_000 });
await rt.shutdown();
console.log(JSON.stringify(out));
