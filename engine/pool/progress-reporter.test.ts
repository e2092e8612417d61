// ProgressReporter with a fake bar stepped by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProgressReporter, terminalBar, type ProgressBar } from "./progress-reporter.js";

class FakeBar implements ProgressBar {
  readonly log: string[] = [];
  start(total: number, value: number): void {
    this.log.push(`start ${total} ${value}`);
  }
  update(value: number): void {
    this.log.push(`update ${value}`);
  }
  setTotal(total: number): void {
    this.log.push(`total ${total}`);
  }
  stop(): void {
    this.log.push("stop");
  }
}

test("onProgress sees items done and the total", () => {
  const calls: Array<[number, number | undefined]> = [];
  const p = new ProgressReporter({ onProgress: (d, t) => calls.push([d, t]) }, 5);
  p.advance(2);
  p.advance(0);
  p.advance(3);
  p.stop();
  p.advance(1); // after stop: ignored
  assert.deepEqual(calls, [
    [2, 5],
    [5, 5],
  ]);
});

test("a lazy input's total is undefined until it is known", () => {
  const calls: Array<[number, number | undefined]> = [];
  const p = new ProgressReporter({ onProgress: (d, t) => calls.push([d, t]) }, undefined);
  p.advance(1);
  p.setTotal(3);
  p.advance(2);
  assert.deepEqual(calls, [
    [1, undefined],
    [3, 3],
  ]);
});

test("progress: true drives the bar; stop is idempotent", () => {
  const bar = new FakeBar();
  const p = new ProgressReporter({ progress: true }, undefined, () => bar);
  assert.equal(p.silent, false);
  p.submitted(6);
  p.advance(4);
  p.setTotal(10);
  p.submitted(12); // the total is known now: ignored
  p.stop();
  p.stop();
  assert.deepEqual(bar.log, ["start 0 0", "total 6", "update 4", "total 10", "stop"]);
});

test("no bar without progress: true, nor when stdout is not a terminal", () => {
  let made = 0;
  const p = new ProgressReporter({}, 3, () => (made++, new FakeBar()));
  assert.equal(made, 0);
  assert.equal(p.silent, true);
  const tty = process.stdout.isTTY;
  try {
    (process.stdout as { isTTY?: boolean }).isTTY = false;
    assert.equal(terminalBar(), undefined);
  } finally {
    (process.stdout as { isTTY?: boolean }).isTTY = tty;
  }
});
