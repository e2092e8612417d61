// Takes docs/dashboard.png: the dashboard's page in headless chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) while the flagship job runs on Loom over and over, a worker killed during the second run.
//   node --import tsx examples/01-flagship/dashboard-screenshot.ts [--out docs/dashboard.png]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { init } from "../../engine/index.js";
import { loadFlightTasks, submitFile } from "./loom-answers.js";

const { values: opts } = parseArgs({
  options: {
    out: { type: "string", default: fileURLToPath(new URL("../../docs/dashboard.png", import.meta.url)) },
    file: { type: "string", default: fileURLToPath(new URL("../../node_modules/vega-datasets/data/flights-3m.parquet", import.meta.url)) },
  },
});
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const rt = await init({ workers: 2, dashboard: { port: 0 } });
const profile = mkdtempSync(join(tmpdir(), "loom-screenshot-chromium-"));
const context = await chromium.launchPersistentContext(profile, { executablePath: "/usr/bin/chromium", args: FLAGS, headless: true, viewport: { width: 1500, height: 2100 } });
try {
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(rt.dashboardUrl!);
  await page.locator("#connection.live").waitFor({ timeout: 15_000 });
  const tasks = await loadFlightTasks(rt);
  const run = async () => rt.get((await submitFile(rt, tasks, opts.file)).job.root, { timeoutMs: 120_000 });
  await run();
  let runs = 1;
  let shot = false;
  // Runs back to back until the picture is taken (at most 30: a run takes about a second on 2 cores).
  const loop = (async () => {
    while (!shot && runs < 30) {
      const next = run();
      if (++runs === 2) { await new Promise((r) => setTimeout(r, 300)); await rt.faults.killWorker(); }
      await next;
    }
  })();
  // The viewport holds the whole page, so the graph is in view and refreshes (every 3 s) like the rest.
  await new Promise((r) => setTimeout(r, 4000));
  await page.screenshot({ path: opts.out, fullPage: true });
  shot = true;
  await loop;
  console.log(`wrote ${opts.out}`);
} finally {
  await context.close();
  await rt.shutdown();
  rmSync(profile, { recursive: true, force: true });
}
