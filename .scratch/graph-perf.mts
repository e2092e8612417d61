import { mkdtempSync, rmSync } from "node:fs";
import { chromium } from "playwright-core";
import { init } from "../engine/index.ts";
const rt = await init({ workers: 2, dashboard: { port: 0 } });
const m: any = await rt.module(new URL("../engine/test-fixtures/tasks.ts", import.meta.url));
let prev = m.add.remote(0, 1);
const all = [prev];
for (let i = 1; i < 3500; i++) { const r = i % 7 === 0 ? m.add.remote(prev, all[Math.floor(i / 2)]) : m.add.remote(prev, i); all.push(r); if (i % 3 === 0) prev = r; }
await rt.get(all);
const profile = mkdtempSync("/tmp/loom-gp-");
const ctx = await chromium.launchPersistentContext(profile, { executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"], headless: true });
try {
  const page = ctx.pages()[0] ?? await ctx.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const t0 = Date.now();
  await page.goto(rt.dashboardUrl!);
  await page.locator("#graph-info", { hasText: "3000 nodes" }).waitFor({ timeout: 30000 });
  console.log("graph drawn after", Date.now() - t0, "ms", await page.locator("#graph-info").textContent(), "lines", await page.locator("#graph line").count(), errors);
  const t1 = Date.now();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
  console.log("frame", Date.now() - t1, "ms");
  await page.locator("#graph-section").screenshot({ path: "/tmp/graph-perf.png" });
} finally { await ctx.close(); await rt.shutdown(); rmSync(profile, { recursive: true, force: true }); }
