// The dashboard's cost (issue 21): trivial tasks submitted at once, and a larger batch as the million-tasks
// shape, with the dashboard off, on with no page, and on with a page connected (a child process reading
// /api/events, as a browser would, in its own process), round-robin in one run. Each sample is a fresh
// runtime; the clock covers submitting and gathering only. Usage:
//   node --import tsx/esm bench/dashboard-overhead.ts [--quick] [--rounds N] [--sizes 50000,200000]
import os from "node:os";
import { readFileSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { performance } from "node:perf_hooks";
import { init, type Runtime } from "../engine/index.js";
import { systemInfo } from "./lib/system.js";
import { statsOf } from "./lib/measure.js";
import type * as Trivial from "./workloads/modules/trivial-task.js";

type Mode = "off" | "on" | "on + page";
const MODES: Mode[] = ["off", "on", "on + page"];
const quick = process.argv.includes("--quick");
const roundsArg = process.argv.indexOf("--rounds");
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 2 : 3;
const sizesArg = process.argv.indexOf("--sizes");
const SIZES = sizesArg > 0 ? process.argv[sizesArg + 1]!.split(",").map(Number) : quick ? [50_000, 200_000] : [200_000, 1_000_000];
const TASKS = new URL("./workloads/modules/trivial-task.ts", import.meta.url);

/** A page's stand-in: reads the event stream in another process and reports how many bytes came. */
function openPage(url: string): Promise<{ child: ChildProcess; bytes: () => Promise<number> }> {
  const script = `
    const http = require("node:http"); let n = 0;
    http.get(process.argv[1], (res) => { res.on("data", (c) => { n += c.length; if (n === c.length) process.stdout.write("open\\n"); }); });
    process.on("SIGTERM", () => { process.stdout.write(n + "\\n"); process.exit(0); });`;
  const child = spawn(process.execPath, ["-e", script, url + "/api/events"], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the page process did not connect within 10 s")), 10_000);
    child.stdout!.on("data", (c: string) => {
      out += c;
      if (out.startsWith("open\n") && out.length === 5) {
        clearTimeout(timer);
        resolve({
          child,
          bytes: () => new Promise((done) => {
            child.on("exit", () => done(Number(out.split("\n")[1] ?? 0)));
            child.kill("SIGTERM");
          }),
        });
      }
    });
  });
}

/**
 * CPU time of this process's main thread (the driver, where the dashboard runs), in seconds: less disturbed
 * by a neighbour's load on this shared machine than the wall clock. Linux only; NaN elsewhere.
 */
function driverCpuSeconds(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]) / 1e9;
  } catch {
    return NaN;
  }
}

async function sampleOnce(mode: Mode, n: number): Promise<{ seconds: number; cpu: number; sseBytes: number }> {
  const rt: Runtime = await init({ workers: os.availableParallelism(), ...(mode === "off" ? {} : { dashboard: { port: 0 } }) });
  let page: Awaited<ReturnType<typeof openPage>> | undefined;
  try {
    const m = await rt.module<typeof Trivial>(TASKS);
    await rt.get(Array.from({ length: 2000 }, (_, i) => m.inc.remote(i)));
    if (mode === "on + page") page = await openPage(rt.dashboardUrl!);
    const t0 = performance.now();
    const c0 = driverCpuSeconds();
    const refs = new Array(n);
    for (let i = 0; i < n; i++) refs[i] = m.inc.remote(i);
    const values = await rt.get(refs);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = driverCpuSeconds() - c0;
    if (values.length !== n || values[n - 1] !== n) throw new Error(`wrong answer: ${values.length} values, last ${values[n - 1]}`);
    await new Promise((r) => setTimeout(r, 150)); // the last flush reaches the page
    return { seconds, cpu, sseBytes: page ? await page.bytes() : 0 };
  } finally {
    if (page && page.child.exitCode === null) page.child.kill("SIGKILL");
    await rt.shutdown();
  }
}

const info = systemInfo();
console.log(`node ${info.node}, ${info.cores} cores (${info.cpu}), build ${info.build}, ${info.engine}, ${info.date}`);
console.log(`rounds: ${ROUNDS} (modes round-robin within each round)\n`);
const rows: string[] = [
  "| tasks at once | mode | wall s, median (min–max) | tasks/s | wall vs off | driver CPU µs/task, median (min–max) | CPU vs off | SSE bytes to the page |",
  "|---|---|---|---|---|---|---|---|",
];
for (const n of SIZES) {
  const times = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const bytes = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const cpus = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of MODES) {
      const s = await sampleOnce(mode, n);
      times.get(mode)!.push(s.seconds);
      bytes.get(mode)!.push(s.sseBytes);
      cpus.get(mode)!.push(s.cpu / n * 1e6);
      console.log(`  n=${n} round ${r + 1} ${mode}: ${s.seconds.toFixed(3)} s, driver CPU ${(s.cpu / n * 1e6).toFixed(2)} µs/task${s.sseBytes ? `, ${s.sseBytes} SSE bytes` : ""}`);
    }
  }
  const off = statsOf(times.get("off")!).median;
  const offCpu = statsOf(cpus.get("off")!).median;
  for (const mode of MODES) {
    const st = statsOf(times.get(mode)!);
    const c = statsOf(cpus.get(mode)!);
    rows.push(`| ${n.toLocaleString("en")} | ${mode} | ${st.median.toFixed(3)} (${st.min.toFixed(3)}–${st.max.toFixed(3)}) | ${Math.round(n / st.median).toLocaleString("en")} | ${(st.median / off).toFixed(2)}× | ` +
      `${c.median.toFixed(2)} (${c.min.toFixed(2)}–${c.max.toFixed(2)}) | ${(c.median / offCpu).toFixed(2)}× | ${mode === "on + page" ? statsOf(bytes.get(mode)!).median.toLocaleString("en") : "–"} |`);
  }
}
console.log("\n" + rows.join("\n"));
