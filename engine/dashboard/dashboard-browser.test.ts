// The page in a real headless browser (Debian's chromium driven by playwright-core) during a job: it loads
// without console errors, shows the workers, a running task's row appears and turns finished, an actor's
// restart shows, an error's stack is readable and the graph draws its three edge kinds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { init, type Runtime } from "loom-dag";
import { formatTaskId, taskIdOfObject } from "../ids.js";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];
const WAIT_MS = 15_000;

type Tasks = typeof import("../test-fixtures/tasks.js");

test("the page shows a live job: workers, a task running then finished, an actor restart, an error's stack, the graph", {
  skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}: run \`apt-get install -y chromium\` (as .ci/run does) to run the browser test`,
  timeout: 120_000,
}, async () => {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "loom-dashboard-chromium-"));
  let rt: Runtime | undefined;
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    rt = await init({ workers: 2, dashboard: { port: 0 } });
    const m = (await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url))) as Record<string, any>;
    // A fresh profile each run; playwright passes it as --user-data-dir.
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 60_000 });
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const problems: string[] = [];
    page.on("console", (msg) => { if (msg.type() === "error") problems.push(`console: ${msg.text()}`); });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));

    await page.goto(rt.dashboardUrl!);
    await page.locator("#connection.live").waitFor();
    await page.locator("#workers .worker").nth(1).waitFor();
    assert.equal(await page.locator("#workers .worker").count(), 2);
    assert.match(await page.locator("#nodes tbody tr").first().textContent() ?? "", /alive.*head, driver/);

    // A task that runs for a while: its row shows running (from the poll of the task table), then finished.
    const slow = m.busy.remote(1500);
    const slowId = formatTaskId(taskIdOfObject(slow.id));
    await page.locator(`#recent tr[data-task-id="${slowId}"][data-state="running"]`).waitFor();
    await page.locator(`#workers .worker.busy`).first().waitFor();
    await rt.get(slow);
    await page.locator(`#recent tr[data-task-id="${slowId}"][data-state="finished"]`).waitFor();
    await page.locator(`#timeline rect[data-task-id="${slowId}"]`).waitFor();
    assert.match(await page.locator(`#counts tr[data-function="busy"]`).textContent() ?? "", /busy\s*0\s*0\s*1\s*0/);

    // An actor that crashes and restarts.
    const counter = m.Counter.options({ maxRestarts: 2, name: "browser-counter" }).remote(0);
    await rt.get(counter.inc.remote(1));
    rt.faults.killActor(counter);
    await rt.get(counter.inc.remote(1));
    const actorRow = page.locator("#actors tr", { hasText: "browser-counter" });
    await actorRow.locator(".actor-restarts", { hasText: /^1$/ }).waitFor();
    assert.match(await actorRow.textContent() ?? "", /Counter.*browser-counter.*alive/);

    // A failure: its remote stack is readable on the page.
    await assert.rejects(rt.get(m.fail.remote("shown in the browser")));
    const stack = page.locator("#errors details.error pre.stack").first();
    await stack.waitFor();
    assert.match(await stack.textContent() ?? "", /RangeError: shown in the browser\n\s+at fail /);
    assert.ok(await stack.isVisible(), "the newest error is open");

    // The graph: a data edge (a ref argument), control edges (a task's children) and stateful ones (actor calls).
    await rt.get([m.add.remote(m.add.remote(1, 2), 3), m.fanOut.remote(3)]);
    await page.locator("#graph-section").scrollIntoViewIfNeeded(); // the page fetches the graph only while it is in view
    for (const kind of ["data", "control", "stateful"]) await page.locator(`#graph line.edge-${kind}`).first().waitFor({ state: "attached" });
    assert.match(await page.locator("#graph-info").textContent() ?? "", /\d+ nodes, edges: [1-9]\d* data, [1-9]\d* control, [1-9]\d* stateful/);

    assert.deepEqual(problems, []);
  } finally {
    await context?.close().catch(() => undefined);
    await rt?.shutdown();
    rmSync(profile, { recursive: true, force: true });
  }
});
