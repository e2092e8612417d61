// How fast an idle worker thread wakes when told there is work, three ways: parked in Atomics.waitAsync
// (how Loom's workers and driver park, so their event loops keep serving messages), waiting for a
// MessagePort message (how piscina wakes its workers), and blocked in a short Atomics.wait loop. The main
// thread spins until the worker answers through shared memory. Run: node bench/micro/wake-latency.mjs
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
if (isMainThread) {
  const sab = new SharedArrayBuffer(64); const i32 = new Int32Array(sab);
  const w = new Worker(new URL(import.meta.url), { workerData: sab });
  await new Promise((r) => w.once("message", r));
  const spinUntil = (v) => { const t = performance.now(); while (Atomics.load(i32, 1) !== v) { if (performance.now() - t > 1000) throw new Error("timeout " + v + " " + Atomics.load(i32, 1)); } };
  const lat = { async: [], port: [], sync: [] };
  for (const mode of ["async", "port", "sync", "async", "port", "sync"]) {
    w.postMessage({ mode }); await new Promise((r) => w.once("message", r));
    for (let i = 1; i <= 2000; i++) {
      await new Promise((r) => setImmediate(r)); // let the worker park
      await new Promise((r) => setTimeout(r, 0));
      const t = performance.now();
      if (mode === "port") w.postMessage(i);
      else { Atomics.store(i32, 0, i); Atomics.notify(i32, 0); }
      try { spinUntil(i); } catch (e) { console.log(mode, e.message); throw e; }
      lat[mode].push((performance.now() - t) * 1000);
    }
    w.postMessage({ mode: "stop" }); await new Promise((r) => w.once("message", r)); Atomics.store(i32, 1, 0); Atomics.store(i32, 0, 0);
  }
  for (const [k, v] of Object.entries(lat)) { v.sort((a, b) => a - b); console.log(k, "p50", v[v.length >> 1].toFixed(1), "µs p90", v[Math.floor(v.length * 0.9)].toFixed(1)); }
  await w.terminate();
} else {
  const i32 = new Int32Array(workerData);
  let mode = null;
  parentPort.on("message", (m) => {
    if (typeof m === "object") {
      mode = m.mode; parentPort.postMessage("ok");
      if (mode === "async") loopAsync(); if (mode === "sync") loopSync();
      return;
    }
    Atomics.store(i32, 1, m); // port mode
  });
  function loopAsync() {
    const seen = Atomics.load(i32, 1);
    const r = Atomics.waitAsync(i32, 0, seen, 50);
    const go = () => { if (mode !== "async") return; const v = Atomics.load(i32, 0); if (v !== seen) Atomics.store(i32, 1, v); loopAsync(); };
    if (r.async) r.value.then(go); else queueMicrotask(go);
  }
  function loopSync() {
    const seen = Atomics.load(i32, 1);
    Atomics.wait(i32, 0, seen, 20);
    const v = Atomics.load(i32, 0); if (v !== seen) Atomics.store(i32, 1, v);
    if (mode === "sync") setImmediate(loopSync);
  }
  parentPort.postMessage("ready");
}
