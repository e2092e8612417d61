// ActorMailbox's start rule, stepped by hand: jobs are promises the test settles, no threads, no sleeps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { actorDrain, type ActorMailbox } from "./actor-mailbox.js";

/** A mailbox whose jobs log their start and end only when the test says so. */
function harness(maxConcurrency: number) {
  const box: ActorMailbox = { mailbox: [], running: 0, maxConcurrency, exclusive: false };
  const log: string[] = [];
  const finishers = new Map<string, () => void>();
  const add = (name: string, exclusive = false) => {
    box.mailbox.push({
      exclusive,
      job: () => new Promise<void>((resolve) => {
        log.push(`start ${name}`);
        finishers.set(name, () => { log.push(`end ${name}`); resolve(); });
      }),
    });
    actorDrain(box);
  };
  /** Ends a running job, then lets its finally() run and start the next ones. */
  const end = async (name: string) => {
    finishers.get(name)!();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { box, log, add, end };
}

test("one at a time by default, in arrival order", async () => {
  const h = harness(1);
  h.add("a"); h.add("b"); h.add("c");
  assert.deepEqual(h.log, ["start a"]);
  await h.end("a");
  assert.deepEqual(h.log, ["start a", "end a", "start b"]);
  await h.end("b");
  await h.end("c");
  assert.deepEqual(h.log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
  assert.equal(h.box.running, 0);
});

test("up to maxConcurrency at once; the next starts when one ends", async () => {
  const h = harness(2);
  h.add("a"); h.add("b"); h.add("c");
  assert.deepEqual(h.log, ["start a", "start b"]);
  assert.equal(h.box.running, 2);
  await h.end("b");
  assert.deepEqual(h.log, ["start a", "start b", "end b", "start c"]);
});

test("an exclusive job waits for the running ones, runs alone, and holds back those behind it", async () => {
  const h = harness(3);
  h.add("a"); h.add("ctor", true); h.add("b");
  assert.deepEqual(h.log, ["start a"], "the exclusive job waits for a; b waits behind it (arrival order)");
  await h.end("a");
  assert.deepEqual(h.log, ["start a", "end a", "start ctor"]);
  assert.equal(h.box.exclusive, true);
  h.add("c");
  assert.deepEqual(h.log.at(-1), "start ctor", "nothing starts beside an exclusive job");
  await h.end("ctor");
  assert.deepEqual(h.log.slice(3), ["end ctor", "start b", "start c"]);
  assert.equal(h.box.exclusive, false);
});

test("the constructor first: an exclusive job queued on an empty mailbox starts at once", async () => {
  const h = harness(4);
  h.add("ctor", true); h.add("x"); h.add("y");
  assert.deepEqual(h.log, ["start ctor"]);
  await h.end("ctor");
  assert.deepEqual(h.log, ["start ctor", "end ctor", "start x", "start y"]);
});
