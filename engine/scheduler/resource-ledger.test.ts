// The resource ledger against a recording event sink: admission arithmetic and the infeasible announcement.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ResourceLedger, isDefaultResources } from "./resource-ledger.js";
import type { TaskId } from "../ids.js";

function ledger(total: Record<string, number>) {
  const events: Array<[string, Record<string, unknown>]> = [];
  const l = new ResourceLedger(total, { listening: () => true, emit: (e, p) => { events.push([e, p]); } });
  return { l, events };
}

test("fits, acquire and release keep the used total", () => {
  const { l } = ledger({ cpu: 2, gpu: 1 });
  assert.ok(l.fits({ cpu: 2 }));
  l.acquire({ cpu: 1, gpu: 1 });
  assert.ok(!l.fits({ gpu: 1 }));
  assert.ok(l.fits({ cpu: 1 }));
  assert.ok(!l.fits({ cpu: 1.5 }));
  l.releaseResources({ cpu: 1, gpu: 1 });
  assert.deepEqual(l.usedResources, { cpu: 0, gpu: 0 });
  assert.ok(l.fits({ cpu: 2, gpu: 1 }));
});

test("a shape no node offers is announced each time and warned about once", async () => {
  const { l, events } = ledger({ cpu: 2 });
  const warnings: string[] = [];
  const onWarning = (w: Error) => { if ((w as NodeJS.ErrnoException).code === "LOOM_INFEASIBLE_RESOURCES") warnings.push(w.message); };
  process.on("warning", onWarning);
  try {
    l.noteIfInfeasible({ cpu: 1 }, 64 as TaskId, "fits");
    l.noteIfInfeasible({ gpu: 1 }, 64 as TaskId, "needs a gpu");
    l.noteIfInfeasible({ gpu: 1 }, 128 as TaskId, "needs a gpu");
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on a later tick
  } finally {
    process.off("warning", onWarning);
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /needs a gpu/);
  assert.deepEqual(events.map(([e, p]) => [e, p.name]), [["task:infeasible", "needs a gpu"], ["task:infeasible", "needs a gpu"]]);
});

test("isDefaultResources is one CPU and nothing else", () => {
  assert.ok(isDefaultResources({}));
  assert.ok(isDefaultResources({ cpu: 1 }));
  assert.ok(!isDefaultResources({ cpu: 2 }));
  assert.ok(!isDefaultResources({ gpu: 1 }));
});
