// wait and cancel: start several searches, take the first that finishes, cancel the rest.
import { init, TaskCancelledError, type ObjectRef } from "loom-dag";

const rt = await init({ workers: 3 });
try {
  const m = await rt.module<typeof import("./search.js")>(new URL("./search.ts", import.meta.url));
  const searches: ObjectRef<number>[] = [
    m.politeSearch.remote(0, 2_000_000),             // quick
    m.politeSearch.remote(0, Number.MAX_SAFE_INTEGER), // would run for days
    m.stubbornSearch.remote(60_000),                  // a minute, and it never checks its signal
  ];

  // wait returns as soon as numReturns refs are ready, or at the timeout with what is ready by then.
  const { ready, pending } = await rt.wait(searches, { numReturns: 1, timeoutMs: 30_000 });
  console.log(`first result: ${await rt.get(ready[0]!)}; still running: ${pending.length}`);

  // Cancel the rest: the polite one sees its signal; the stubborn one needs force (its worker is replaced).
  rt.cancel(pending[0]!);
  rt.cancel(pending[1]!, { force: true });
  for (const ref of pending) {
    try {
      await rt.get(ref);
    } catch (error) {
      console.log(`${ref}: ${error instanceof TaskCancelledError ? "cancelled" : String(error)}`);
    }
  }

  // The pool is whole again: a new task runs at once on the replacement worker.
  const again = await rt.wait([m.politeSearch.remote(0, 10)], { timeoutMs: 10_000 });
  console.log(`a new task after the cancels: ${again.ready.length === 1 ? "ran" : "did not run"}`);
} finally {
  await rt.shutdown();
}
