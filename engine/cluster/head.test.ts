// The head and its client in one process: registration, heartbeats, death after nodeTimeoutMs with a new epoch,
// refusal of the dead, leaving, reconnecting after a dropped connection, and the named-actor table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startHead, type Head } from "./head.js";
import { HeadClient, fetchNodes } from "./head-client.js";
import { connect, type Connection, type Frame } from "./wire.js";
import type { NodeDied, NodeInfo } from "./messages.js";

const TOKEN = "head-test-token";
const TIMEOUT = 300;

function info(extra: Partial<NodeInfo> = {}) {
  return { address: "127.0.0.1:1", workers: 1, resources: { cpu: 1 }, isDriver: false, pid: process.pid, ...extra };
}

async function withHead(body: (head: Head, address: string) => Promise<void>): Promise<void> {
  const head = await startHead({ host: "127.0.0.1", port: 0, token: TOKEN, nodeTimeoutMs: TIMEOUT });
  try {
    await body(head, head.address);
  } finally {
    await head.close();
  }
}

/** A registered connection that never beats: the head must find it silent. */
async function silentNode(address: string): Promise<{ c: Connection; nodeId: string; epoch: number; frames: Frame[] }> {
  const [host, port] = address.split(":");
  const c = await connect({ host: host!, port: Number(port), token: TOKEN });
  const frames: Frame[] = [];
  c.onFrame = (f) => frames.push(f);
  const reply = (await c.request({ t: "register", ...info() }, undefined, 2_000)).h;
  return { c, nodeId: reply.nodeId as string, epoch: reply.epoch as number, frames };
}

function nextEvent<T>(client: HeadClient, event: "node-died" | "node-added" | "refused" | "reconnected", within = 3_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${within} ms`)), within);
    client.once(event, (value?: unknown) => { clearTimeout(timer); resolve(value as T); });
  });
}

test("register: a fresh id and epoch 1, the table in the reply, node-added to the others", { timeout: 10_000 }, async () => {
  await withHead(async (_head, address) => {
    const a = await HeadClient.connect({ address, token: TOKEN, info: info({ isHead: true }) });
    try {
      assert.match(a.nodeId, /^[0-9a-f]{16}$/);
      assert.equal(a.epoch, 1);
      assert.equal(a.nodeTimeoutMs, TIMEOUT);
      assert.deepEqual(a.initialNodes.map((n) => n.nodeId), [a.nodeId]);
      const added = nextEvent<NodeInfo>(a, "node-added");
      const b = await HeadClient.connect({ address, token: TOKEN, info: info({ isDriver: true, resources: { cpu: 2, gpu: 1 } }) });
      try {
        const node = await added;
        assert.equal(node.nodeId, b.nodeId);
        assert.equal(node.isDriver, true);
        assert.deepEqual(node.available, { cpu: 2, gpu: 1 });
        const nodes = await b.nodes();
        assert.deepEqual(nodes.map((n) => [n.nodeId, n.state, n.isHead]).sort(), [[a.nodeId, "alive", true], [b.nodeId, "alive", false]].sort());
        assert.equal(Object.hasOwn(nodes[0]!, "lastBeatAt"), false, "liveness fields stay at the head");
      } finally { b.close(); }
    } finally { a.close(); }
  });
});

test("heartbeats keep a node alive past nodeTimeoutMs and carry what is available", { timeout: 10_000 }, async () => {
  await withHead(async (_head, address) => {
    let free = 1;
    const a = await HeadClient.connect({ address, token: TOKEN, info: info(), available: () => ({ cpu: free }) });
    try {
      free = 0;
      await new Promise((r) => setTimeout(r, TIMEOUT * 4));
      const [row] = await fetchNodes({ address, token: TOKEN });
      assert.equal(row!.state, "alive");
      assert.deepEqual(row!.available, { cpu: 0 });
    } finally { a.close(); }
  });
});

test("a silent node dies after nodeTimeoutMs: epoch bumped, node-died to everyone, its late beat refused", { timeout: 10_000 }, async () => {
  await withHead(async (_head, address) => {
    const watcher = await HeadClient.connect({ address, token: TOKEN, info: info({ isDriver: true }) });
    const silent = await silentNode(address);
    try {
      const since = Date.now();
      const died = await nextEvent<NodeDied>(watcher, "node-died");
      const after = Date.now() - since;
      assert.equal(died.nodeId, silent.nodeId);
      assert.equal(died.epoch, 2);
      assert.match(died.reason, /no heartbeat/);
      assert.ok(after >= TIMEOUT - 20 && after < TIMEOUT * 3, `declared dead after ${after} ms`);
      // The connection it registered on hears it was refused, then closes.
      await waitFor(() => silent.c.closed);
      assert.ok(silent.frames.some((f) => f.h.t === "refused"), "the dead node is told it was refused");
      const row = (await watcher.nodes()).find((n) => n.nodeId === silent.nodeId)!;
      assert.equal(row.state, "dead");
      assert.equal(row.epoch, 2);
      // Coming back with the old id (and either epoch) is refused; a new process registers as a new node.
      for (const epoch of [1, 2]) {
        const [host, port] = address.split(":");
        const c = await connect({ host: host!, port: Number(port), token: TOKEN });
        const refusedFrames: Frame[] = [];
        c.onFrame = (f) => refusedFrames.push(f);
        c.send({ t: "heartbeat", nodeId: silent.nodeId, epoch, available: {} });
        await waitFor(() => c.closed);
        assert.match(String(refusedFrames[0]?.h.reason), /declared dead/);
      }
      const fresh = await HeadClient.connect({ address, token: TOKEN, info: info() });
      assert.notEqual(fresh.nodeId, silent.nodeId, "a restarted process joins as a new node");
      fresh.close();
    } finally { watcher.close(); silent.c.close(); }
  });
});

test("a HeadClient whose beats stop is refused: the 'refused' event, then requests fail", { timeout: 10_000 }, async () => {
  await withHead(async (_head, address) => {
    const a = await HeadClient.connect({ address, token: TOKEN, info: info() });
    try {
      clearInterval((a as unknown as { beatTimer: NodeJS.Timeout }).beatTimer); // a process that stalls
      const reason = await nextEvent<string>(a, "refused");
      assert.match(reason, /declared dead: no heartbeat/);
      assert.equal(a.refused, reason);
      await assert.rejects(a.nodes(), /closed \(declared dead/);
      // Re-registering under the buried id is refused outright.
      const again = await silentNodeRegister(address, a.nodeId, a.epoch);
      assert.match(again, /was declared dead/);
    } finally { a.close(); }
  });
});

test("a stall of the head's own process does not kill the nodes whose beats queued up meanwhile", { timeout: 10_000 }, async () => {
  await withHead(async (_head, address) => {
    const a = await HeadClient.connect({ address, token: TOKEN, info: info() });
    try {
      let died = false;
      a.on("node-died", () => { died = true; });
      a.on("refused", () => { died = true; });
      const until = Date.now() + TIMEOUT * 3;
      while (Date.now() < until) { /* the whole process stalls: the head's timers and the client's beats */ }
      await new Promise((r) => setTimeout(r, TIMEOUT));
      assert.equal(died, false);
      assert.equal((await a.nodes())[0]!.state, "alive");
    } finally { a.close(); }
  });
});

test("leaving: dead at once with reason 'left', the others told", { timeout: 10_000 }, async () => {
  await withHead(async (_head, address) => {
    const watcher = await HeadClient.connect({ address, token: TOKEN, info: info({ isDriver: true }) });
    const a = await HeadClient.connect({ address, token: TOKEN, info: info() });
    try {
      const died = nextEvent<NodeDied>(watcher, "node-died", TIMEOUT / 2);
      await a.leaving();
      assert.deepEqual(await died, { t: "node-died", nodeId: a.nodeId, epoch: 2, reason: "left" });
      assert.equal((await watcher.nodes()).find((n) => n.nodeId === a.nodeId)!.state, "dead");
    } finally { watcher.close(); a.close(); }
  });
});

test("a dropped connection is only a hint: the client reconnects under its id and stays alive", { timeout: 10_000 }, async () => {
  await withHead(async (_head, address) => {
    const a = await HeadClient.connect({ address, token: TOKEN, info: info() });
    try {
      const back = nextEvent(a, "reconnected");
      (a as unknown as { connection: Connection }).connection.destroy();
      await back;
      await new Promise((r) => setTimeout(r, TIMEOUT * 2));
      const nodes = await a.nodes();
      assert.deepEqual(nodes.map((n) => [n.nodeId, n.state, n.epoch]), [[a.nodeId, "alive", 1]]);
    } finally { a.close(); }
  });
});

test("names: one holder at a time, released by its holder or its death", { timeout: 10_000 }, async () => {
  await withHead(async (_head, address) => {
    const driver = await HeadClient.connect({ address, token: TOKEN, info: info({ isDriver: true }) });
    const other = await HeadClient.connect({ address, token: TOKEN, info: info({ isDriver: true }) });
    try {
      assert.deepEqual(await driver.claimName("counter", { actorKey: "k1" }), { ok: true });
      const lost = await other.claimName("counter", { actorKey: "k2" });
      assert.equal(lost.ok, false);
      assert.deepEqual(!lost.ok && lost.holder, { name: "counter", owner: driver.nodeId, value: { actorKey: "k1" } });
      assert.deepEqual(await other.lookupName("counter"), { name: "counter", owner: driver.nodeId, value: { actorKey: "k1" } });
      assert.equal(await other.releaseName("counter"), false, "only the holder releases");
      assert.equal(await driver.releaseName("counter"), true);
      assert.equal(await other.lookupName("counter"), undefined);
      assert.deepEqual(await other.claimName("counter", 2), { ok: true });
      await assert.rejects(other.claimName("", 1), /non-empty string/);
      // The holder's death (a driver whose beats stop) frees its names.
      assert.deepEqual(await driver.claimName("mine", 1), { ok: true });
      clearInterval((driver as unknown as { beatTimer: NodeJS.Timeout }).beatTimer);
      await nextEvent(other, "node-died");
      assert.equal(await other.lookupName("mine"), undefined);
      assert.equal((await other.lookupName("counter"))?.owner, other.nodeId);
    } finally { driver.close(); other.close(); }
  });
});

test("the name table: sent on registering, then every claim and release told to everyone, and a dead owner's names dropped", { timeout: 10_000 }, async () => {
  await withHead(async (_head, address) => {
    const driver = await HeadClient.connect({ address, token: TOKEN, info: info({ isDriver: true }) });
    let late: HeadClient | undefined;
    try {
      assert.deepEqual(await driver.claimName("first", { n: 1 }), { ok: true });
      late = await HeadClient.connect({ address, token: TOKEN, info: info({ isDriver: true }) });
      assert.deepEqual(late.names.get("first"), { name: "first", owner: driver.nodeId, value: { n: 1 } }, "the table came with the registration");
      const claimed = new Promise((resolve) => late!.on("name-changed", (name, entry) => { if (name === "second") resolve(entry); }));
      assert.deepEqual(await driver.claimName("second", 2), { ok: true });
      assert.deepEqual(await claimed, { name: "second", owner: driver.nodeId, value: 2 });
      const released = new Promise((resolve) => late!.on("name-changed", (name, entry) => { if (name === "first" && !entry) resolve(name); }));
      assert.equal(await driver.releaseName("first"), true);
      await released;
      assert.equal(late.names.has("first"), false);
      // The owner dies: its names go from every table.
      clearInterval((driver as unknown as { beatTimer: NodeJS.Timeout }).beatTimer);
      await nextEvent(late, "node-died");
      assert.equal(late.names.size, 0);
    } finally { driver.close(); late?.close(); }
  });
});

test("connect: a wrong token fails at once with a clear error; an absent head after the bound", { timeout: 10_000 }, async () => {
  await withHead(async (_head, address) => {
    const started = Date.now();
    await assert.rejects(HeadClient.connect({ address, token: "wrong", info: info(), connectForMs: 5_000 }), /refused our token \(check LOOM_TOKEN/);
    assert.ok(Date.now() - started < 2_000, "a wrong token is not retried");
    await assert.rejects(fetchNodes({ address, token: "wrong" }), /refused our token/);
    // An error the head answers (a bad registration) will not change by asking again either.
    const t0 = Date.now();
    await assert.rejects(HeadClient.connect({ address, token: TOKEN, info: info({ workers: -1 }), connectForMs: 5_000 }), /workers must be an integer >= 0/);
    assert.ok(Date.now() - t0 < 2_000, "a head's error is not retried");
  });
  const started = Date.now();
  await assert.rejects(HeadClient.connect({ address: "127.0.0.1:1", token: TOKEN, info: info(), connectForMs: 400 }), /could not register with the head at 127\.0\.0\.1:1/);
  assert.ok(Date.now() - started < 2_000);
});

test("malformed messages get an error reply, and the head keeps serving", { timeout: 10_000 }, async () => {
  await withHead(async (_head, address) => {
    const [host, port] = address.split(":");
    const c = await connect({ host: host!, port: Number(port), token: TOKEN });
    try {
      const bad = [
        { t: "register" }, { t: "register", ...info(), workers: -1 }, { t: "register", ...info(), resources: { cpu: "x" } },
        { t: "register", ...info(), nodeId: "not-hex" }, { t: "heartbeat" }, { t: "leaving", nodeId: "0123456789abcdef" },
        { t: "claim-name", name: "x" }, { t: "lookup-name", name: 7 }, { t: "no-such-message" },
      ];
      for (const h of bad) {
        const reply = (await c.request(h, undefined, 2_000)).h;
        assert.equal(typeof (reply.error as { message?: string })?.message, "string", `an error for ${JSON.stringify(h)}`);
      }
      assert.equal(((await c.request({ t: "nodes" }, undefined, 2_000)).h.nodes as unknown[]).length, 0);
    } finally { c.close(); }
  });
});

async function silentNodeRegister(address: string, nodeId: string, epoch: number): Promise<string> {
  const [host, port] = address.split(":");
  const c = await connect({ host: host!, port: Number(port), token: TOKEN });
  try {
    return String((await c.request({ t: "register", ...info(), nodeId, epoch }, undefined, 2_000)).h.refused);
  } finally { c.close(); }
}

async function waitFor(condition: () => boolean, within = 3_000): Promise<void> {
  const deadline = Date.now() + within;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}
