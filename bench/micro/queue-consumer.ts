// Worker side of the cross-thread queue benchmark: pops from one ring of the core, with the wasm exports or the
// TS baseline, until the producer is done and the ring is empty; reports how many values it got and their sum.
// Both variants share the same spin-then-park protocol, so only the queue operations differ.
import { parentPort, workerData } from "node:worker_threads";
import { Core, type CoreHandle } from "../../engine/wasm/core.js";
import { queuePop } from "./js-baselines/js-ready-queue.js";
import { CONSUMER_SPIN, controlWords, type ConsumerJob, type ConsumerReport } from "./cross-thread-protocol.js";

const { handle, control } = workerData as { handle: CoreHandle; control: number };
const core = Core.attach(handle);
const mem = core.i32;
const { DONE, SEQ, IDLE, STARTED, FINISHED } = controlWords(control);

const wasmPop = core.exports.queuePop;

/** Pops until drained; `useTs` picks the implementation at each call site (a predictable branch, both monomorphic). */
function consume(useTs: boolean, q: number): ConsumerReport {
  let count = 0;
  let sum = 0;
  let empty = 0;
  for (;;) {
    const v = useTs ? queuePop(mem, q) : wasmPop(q);
    if (v >= 0) {
      count++;
      sum += v;
      empty = 0;
      continue;
    }
    // Read `done`, then pop once more: a -1 after the producer was already done means the ring is drained for good.
    const done = Atomics.load(mem, DONE);
    const again = useTs ? queuePop(mem, q) : wasmPop(q);
    if (again >= 0) {
      count++;
      sum += again;
      empty = 0;
      continue;
    }
    if (done === 1) break;
    if (++empty < CONSUMER_SPIN) continue;
    // Park: announce, re-check once (a push may have raced the announcement), then wait for the producer's bump.
    const seen = Atomics.load(mem, SEQ);
    Atomics.add(mem, IDLE, 1);
    const late = useTs ? queuePop(mem, q) : wasmPop(q);
    if (late >= 0) {
      count++;
      sum += late;
    } else if (Atomics.load(mem, DONE) !== 1) {
      Atomics.wait(mem, SEQ, seen, 1); // 1 ms cap: a lost wake-up costs at most that
    }
    Atomics.sub(mem, IDLE, 1);
    empty = 0;
  }
  return { count, sum };
}

parentPort!.on("message", (job: ConsumerJob) => {
  if (job.kind === "exit") return process.exit(0);
  Atomics.add(mem, STARTED, 1);
  Atomics.notify(mem, STARTED);
  const report = consume(job.variant === "ts", job.queue);
  Atomics.add(mem, FINISHED, 1);
  Atomics.notify(mem, FINISHED);
  parentPort!.postMessage(report);
});
parentPort!.postMessage({ count: -1, sum: 0 } satisfies ConsumerReport); // attached and listening
