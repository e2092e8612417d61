// The dashboard's JSON API over HTTP, against SPEC.md's shapes: a job with plain tasks, a failure and an actor,
// then every route; the init option's errors; a taken port; loopback only; nothing attached when off.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { init, LoomError, type Runtime } from "loom-dag";
import { httpGet, getJson } from "./test-fixtures/http.js";

type Tasks = typeof import("../test-fixtures/tasks.js");
let rt: Runtime;
let m: Record<string, any>;
let url: string;

const keys = (o: object) => Object.keys(o).sort();

before(async () => {
  rt = await init({ workers: 2, dashboard: { port: 0 } });
  url = rt.dashboardUrl!;
  m = (await rt.module<Tasks>(new URL("../test-fixtures/tasks.ts", import.meta.url))) as Record<string, any>;
  const sums = Array.from({ length: 20 }, (_, i) => m.add.remote(i, 1));
  await rt.get(m.add.remote(sums[0], sums[1]));
  await rt.get(sums);
  await assert.rejects(rt.get(m.fail.remote("api-test failure")), /api-test failure/);
  const counter = m.Counter.options({ name: "api-counter" }).remote(1);
  await rt.get(counter.inc.remote(2));
});
after(async () => {
  await rt.shutdown();
});

test("dashboardUrl is http://127.0.0.1:PORT and the page is served there", async () => {
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const page = await httpGet(url + "/");
  assert.equal(page.status, 200);
  assert.match(String(page.headers["content-type"]), /text\/html/);
  assert.match(page.body, /<script type="module" src="dashboard.js">/);
  for (const file of ["/dashboard.js", "/render.js", "/graph-layout.js", "/dashboard.css"]) {
    assert.equal((await httpGet(url + file)).status, 200, file);
  }
});

test("/api/nodes: this runtime as one alive node, shaped as rt.nodes()", async () => {
  const { nodes, ...rest } = await getJson(url + "/api/nodes");
  assert.deepEqual(keys(rest), []);
  assert.equal(nodes.length, 1);
  const n = nodes[0];
  assert.deepEqual(keys(n), ["address", "available", "isDriver", "isHead", "nodeId", "resources", "state", "workers"]);
  assert.match(n.nodeId, /^[0-9a-f]{28}$/);
  assert.equal(n.address, url.slice("http://".length));
  assert.equal(n.state, "alive");
  assert.equal(n.isHead, true);
  assert.equal(n.isDriver, true);
  assert.equal(n.workers, 2);
  assert.deepEqual(n.resources, { cpu: 2 });
  assert.deepEqual(n.available, { cpu: 2 });
});

test("/api/tasks: counts by function and state, recent rows with SPEC's fields", async () => {
  const body = await getJson(url + "/api/tasks");
  assert.deepEqual(keys(body), ["counts", "recent"]);
  assert.deepEqual(body.counts.add, { pending: 0, running: 0, finished: 21, failed: 0, cancelled: 0 });
  assert.deepEqual(body.counts.fail, { pending: 0, running: 0, finished: 0, failed: 1, cancelled: 0 });
  assert.equal(body.counts["Counter.inc"]?.finished, 1, JSON.stringify(body.counts));
  const { nodes } = await getJson(url + "/api/nodes");
  for (const row of body.recent) {
    assert.deepEqual(keys(row), ["error", "finishedAt", "functionName", "nodeId", "startedAt", "state", "submittedAt", "taskId", "workerId"]);
    assert.match(row.taskId, /^t[0-9a-f]+$/);
    assert.equal(row.nodeId, nodes[0].nodeId);
  }
  const failed = body.recent.find((r: any) => r.functionName === "fail");
  assert.equal(failed.state, "failed");
  assert.match(failed.error, /RangeError: api-test failure/);
  assert.ok(failed.workerId === 0 || failed.workerId === 1);
  const done = body.recent.find((r: any) => r.functionName === "add");
  assert.equal(done.state, "finished");
  assert.equal(done.error, null);
  assert.ok(done.submittedAt <= done.startedAt + 5 && done.startedAt <= done.finishedAt + 5, JSON.stringify(done));
  assert.ok(Math.abs(done.finishedAt - Date.now()) < 60_000, "times are ms since 1970");
});

test("/api/actors: class, name, state, node, restarts, pending calls", async () => {
  const { actors, ...rest } = await getJson(url + "/api/actors");
  assert.deepEqual(keys(rest), []);
  const a = actors.find((x: any) => x.name === "api-counter");
  assert.ok(a, JSON.stringify(actors));
  assert.deepEqual(keys(a), ["actorId", "className", "name", "nodeId", "pendingCalls", "restarts", "state"]);
  assert.equal(a.className, "Counter");
  assert.equal(a.state, "alive");
  assert.equal(a.restarts, 0);
  assert.equal(a.pendingCalls, 0);
});

test("/api/objects: objects, bytes in memory and spilled, capacity", async () => {
  const body = await getJson(url + "/api/objects");
  assert.deepEqual(keys(body), ["bytesInMemory", "bytesSpilled", "capacity", "objects"]);
  assert.equal(body.capacity, rt.objectStoreBytes);
  assert.equal(body.bytesSpilled, 0);
  const before = body.bytesInMemory;
  const big = rt.put(new Float64Array(1 << 18));
  const after = await getJson(url + "/api/objects");
  assert.ok(after.bytesInMemory >= before + 8 * (1 << 18), `${before} -> ${after.bytesInMemory}`);
  assert.ok(after.objects >= 1);
  assert.ok(big);
});

test("/api/errors keeps the remote stack; /api/workers, /api/throughput and /api/graph feed the page", async () => {
  const { errors } = await getJson(url + "/api/errors");
  const e = errors.find((x: any) => x.functionName === "fail");
  assert.deepEqual(keys(e), ["at", "functionName", "message", "name", "stack", "taskId", "workerId"]);
  assert.match(e.stack, /RangeError: api-test failure\n\s+at fail /);
  const { workers } = await getJson(url + "/api/workers");
  assert.deepEqual(workers.map((w: any) => [w.workerId, w.alive]), [[0, true], [1, true]]);
  const { bucketMs, buckets } = await getJson(url + "/api/throughput?seconds=60");
  assert.equal(bucketMs, 1000);
  assert.equal(buckets.length, 60);
  assert.ok(buckets.reduce((s: number, b: any) => s + b.finished, 0) >= 22);
  const g = await getJson(url + "/api/graph?limit=5000");
  assert.ok(g.edges.some((x: any) => x.kind === "data"), "add(sums[0], sums[1]) is a data edge");
  assert.ok(g.edges.some((x: any) => x.kind === "stateful") || g.nodes.filter((n: any) => n.kind === "actor-method").length === 1);
  const small = await getJson(url + "/api/graph?limit=3");
  assert.equal(small.nodes.length, 3);
  assert.equal(small.truncated, true);
  for (const edge of small.edges) assert.ok(small.nodes.some((n: any) => n.id === edge.to));
});

test("only GET, only loopback Host names, unknown routes 404", async () => {
  assert.equal((await httpGet(url + "/api/tasks", { method: "POST" })).status, 405);
  assert.equal((await httpGet(url + "/api/nope")).status, 404);
  const port = new URL(url).port;
  assert.equal((await httpGet(url + "/api/tasks", { host: `evil.example:${port}` })).status, 403);
  assert.equal((await httpGet(url + "/api/tasks", { host: `localhost:${port}` })).status, 200);
});

test("bad dashboard options are LoomErrors naming the value, before any thread starts", async () => {
  const table: Array<[unknown, RegExp]> = [
    [{ port: -1 }, /dashboard\.port: -1/],
    [{ port: 70000 }, /dashboard\.port: 70000/],
    [{ port: 1.5 }, /dashboard\.port: 1\.5/],
    [{ port: "80" }, /dashboard\.port: 80/],
    [{ host: "0.0.0.0" }, /unknown option dashboard\.host/],
    ["yes", /invalid option dashboard: "yes"/],
  ];
  for (const [value, message] of table) {
    // rt is running: a valid option would fail with "already running", so reaching the option check first proves the order.
    await assert.rejects(init({ dashboard: value as never }), (e: unknown) => e instanceof LoomError && message.test((e as Error).message), String(value));
  }
});

test("a taken port: init fails with a LoomError naming it, and shuts its runtime down", async () => {
  await rt.shutdown();
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    await assert.rejects(init({ workers: 1, dashboard: { port } }), (e: unknown) =>
      e instanceof LoomError && new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`).test((e as Error).message));
    const again = await init({ workers: 1 });
    assert.equal(again.dashboardUrl, undefined);
    assert.deepEqual(again.events.eventNames(), [], "no listener is attached when the dashboard is off");
    await again.shutdown();
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
  rt = await init({ workers: 1, dashboard: { port: 0 } });
});

test("/api/objects counts spilled bytes, back to 0 once the spilled objects are freed", async () => {
  await rt.shutdown();
  const MiB = 1024 * 1024;
  rt = await init({ workers: 1, objectStoreBytes: 16 * MiB, dashboard: { port: 0 } });
  let spilledEvents = 0;
  rt.events.on("object:spilled", (e: { bytes: number }) => { spilledEvents += e.bytes; });
  let refs: unknown[] = Array.from({ length: 6 }, (_, i) => rt.put(new Float64Array(MiB).fill(i))); // 6 x 8 MiB
  const body = await getJson(rt.dashboardUrl + "/api/objects");
  assert.ok(spilledEvents > 0, "the puts spilled");
  assert.equal(body.bytesSpilled, spilledEvents);
  assert.equal(body.capacity, 16 * MiB);
  assert.equal(refs.length, 6);
  refs = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, "run with --expose-gc (as npm test does)");
  let spilled = body.bytesSpilled;
  for (let i = 0; i < 100 && spilled > 0; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
    spilled = (await getJson(rt.dashboardUrl + "/api/objects")).bytesSpilled;
  }
  assert.equal(spilled, 0);
});

test("dashboard: true serves on 8265 (or, when something else holds 8265, says so)", async () => {
  await rt.shutdown();
  const probe: Server = createServer();
  const free = await new Promise<boolean>((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(8265, "127.0.0.1", () => resolve(true));
  });
  if (free) await new Promise((resolve) => probe.close(resolve));
  if (free) {
    rt = await init({ workers: 1, dashboard: true });
    assert.equal(rt.dashboardUrl, "http://127.0.0.1:8265");
  } else {
    await assert.rejects(init({ workers: 1, dashboard: true }), /port 8265 on 127\.0\.0\.1 is already in use/);
    rt = await init({ workers: 1, dashboard: { port: 0 } });
  }
});

test("shutdown closes the server", async () => {
  const at = rt.dashboardUrl!;
  assert.equal((await httpGet(at + "/api/nodes")).status, 200);
  await rt.shutdown();
  await assert.rejects(httpGet(at + "/api/nodes"), /ECONNREFUSED/);
  rt = await init({ workers: 1 });
});
