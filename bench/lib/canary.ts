// A contention canary for a shared machine (as in js-pools-measured): the parallel efficiency of
// two threads running the same fixed loop, 2.0 = two free cores. Printed beside every workload
// so a reader can tell a slow figure from a busy neighbour.

import { Worker } from "node:worker_threads";

const LOOP = `
function spin(n) { let x = 0; for (let i = 0; i < n; i++) x = (x * 1103515245 + 12345) | 0; return x; }
`;
const WORKER = `${LOOP}
const { parentPort } = require("node:worker_threads");
parentPort.on("message", (n) => { const t0 = performance.now(); spin(n); parentPort.postMessage(performance.now() - t0); });
`;
const ITERATIONS = 20_000_000;

function spinHere(n: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x * 1103515245 + 12345) | 0;
  return x;
}

/** Parallel efficiency of 2 threads (0 .. 2). Takes ~0.2–0.5 s. */
export async function canary(): Promise<number> {
  const workers = [new Worker(WORKER, { eval: true }), new Worker(WORKER, { eval: true })];
  try {
    const run = (w: Worker, n: number) => new Promise<number>((resolve) => {
      w.once("message", resolve);
      w.postMessage(n);
    });
    // Warm both JITs and the main thread's.
    await Promise.all(workers.map((w) => run(w, ITERATIONS / 10)));
    spinHere(ITERATIONS / 10);
    const t0 = performance.now();
    await run(workers[0]!, ITERATIONS);
    const single = performance.now() - t0;
    const t1 = performance.now();
    await Promise.all(workers.map((w) => run(w, ITERATIONS)));
    const both = performance.now() - t1;
    return Math.round(((2 * single) / both) * 100) / 100;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
