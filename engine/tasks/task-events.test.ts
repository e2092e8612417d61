// task:cancelled: a cancelled task is announced like a finished or failed one (the dashboard counts it apart).
import { test } from "node:test";
import assert from "node:assert/strict";
import { init } from "loom-dag";

test("cancel emits task:cancelled with the task's id and name, for a queued and for a running task", async () => {
  const rt = await init({ workers: 1 });
  try {
    const t = await rt.module<typeof import("../test-fixtures/tasks.js")>(new URL("../test-fixtures/tasks.ts", import.meta.url));
    await rt.get(t.add.remote(1, 1), { timeoutMs: 30_000 });
    const seen: Array<{ taskId: string; name: string }> = [];
    rt.events.on("task:cancelled", (e: { taskId: string; name: string }) => seen.push(e));
    const running = t.waitForAbort.remote(20_000);
    const queued = t.sleep.remote(10);
    const end = Date.now() + 10_000;
    const inspect = (rt as unknown as { inspect(): { running: unknown[] } }).inspect.bind(rt);
    while (inspect().running.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    rt.cancel(queued);
    rt.cancel(running);
    await assert.rejects(rt.get(running, { timeoutMs: 20_000 }));
    await assert.rejects(rt.get(queued, { timeoutMs: 20_000 }));
    assert.deepEqual(seen.map((e) => e.name).sort(), ["sleep", "waitForAbort"]);
    assert.ok(seen.every((e) => /^t[0-9a-f]+$/.test(e.taskId)));
  } finally {
    await rt.shutdown();
  }
});
