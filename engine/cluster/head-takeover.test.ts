// A head that takes over tables it did not write (what a restart over Redis does), in one process with a store
// that outlives the head: live clients reconnect under their ids; a silent row dies after the new head's
// grace, not before; clients hear the deaths and joins they missed while away; a store that stalls (Redis
// restarting) does not make the nodes look silent. No Redis needed: the store is a MemoryControlStore kept
// across two heads, with a pause we step by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startHead, type Head } from "./head.js";
import { HeadClient } from "./head-client.js";
import { MemoryControlStore, type NodeRecord } from "./control-store.js";
import type { NodeDied, NodeInfo } from "./messages.js";

const TOKEN = "takeover-test-token";
const TIMEOUT = 400;

function info(extra: Partial<NodeInfo> = {}) {
  return { address: "127.0.0.1:1", workers: 1, resources: { cpu: 1 }, isDriver: false, pid: process.pid, ...extra };
}

async function until<T>(what: string, within: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + within;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${within} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A store whose calls can be held, as Redis's are while it restarts. */
class PausableStore extends MemoryControlStore {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  pause(): void { this.gate ??= new Promise((r) => { this.open = r; }); }
  resume(): void { this.open?.(); this.gate = undefined; }
  private async held(): Promise<void> { while (this.gate) await this.gate; }
  override async beat(...args: Parameters<MemoryControlStore["beat"]>) { await this.held(); return super.beat(...args); }
  override async listNodes(): Promise<NodeRecord[]> { await this.held(); return super.listNodes(); }
}

test("a new head over the same tables: clients reconnect under their ids; a row nobody beats for dies after the grace", { timeout: 20_000 }, async () => {
  const store = new MemoryControlStore();
  let head: Head = await startHead({ host: "127.0.0.1", port: 0, token: TOKEN, nodeTimeoutMs: TIMEOUT, store });
  const port = head.port;
  const a = await HeadClient.connect({ address: head.address, token: TOKEN, info: info() });
  const driver = await HeadClient.connect({ address: head.address, token: TOKEN, info: info({ isDriver: true }) });
  const gone = await HeadClient.connect({ address: head.address, token: TOKEN, info: info() });
  try {
    const died: NodeDied[] = [];
    const added: NodeInfo[] = [];
    driver.on("node-died", (d) => died.push(d));
    driver.on("node-added", (n) => added.push(n));
    await head.close();
    gone.close(); // this one dies while there is no head
    await new Promise((r) => setTimeout(r, TIMEOUT * 1.5)); // longer than nodeTimeoutMs: nobody beats meanwhile
    // A node joins the new head before the driver is back: the driver must hear of it anyway.
    head = await startHead({ host: "127.0.0.1", port, token: TOKEN, nodeTimeoutMs: TIMEOUT, store });
    const startedAt = Date.now();
    const late = await HeadClient.connect({ address: head.address, token: TOKEN, info: info() });
    try {
      await until("the driver reconnected", TIMEOUT * 2, async () => ((await driver.nodes()).length ? true : undefined));
      const death = await until("the silent row declared dead", TIMEOUT * 4, () => died.find((d) => d.nodeId === gone.nodeId));
      const after = Date.now() - startedAt;
      assert.ok(after >= TIMEOUT * 0.9, `the grace was kept: declared dead ${after} ms after the new head started`);
      assert.equal(death.epoch, 2);
      assert.ok(added.some((n) => n.nodeId === late.nodeId), "the join made while the driver was away reached it");
      const rows = new Map((await driver.nodes()).map((n) => [n.nodeId, n]));
      assert.equal(rows.get(a.nodeId)?.state, "alive");
      assert.equal(rows.get(a.nodeId)?.epoch, 1, "a came back under its id and epoch");
      assert.equal(rows.get(driver.nodeId)?.state, "alive");
      assert.equal(rows.get(gone.nodeId)?.state, "dead");
      assert.equal(died.length, 1, "only the silent one died");
    } finally { late.close(); }
  } finally {
    a.close(); driver.close(); gone.close();
    await head.close();
  }
});

test("deaths declared while a client was away are told when it reconnects", { timeout: 20_000 }, async () => {
  const store = new MemoryControlStore();
  let head: Head = await startHead({ host: "127.0.0.1", port: 0, token: TOKEN, nodeTimeoutMs: TIMEOUT, store });
  const port = head.port;
  const watcher = await HeadClient.connect({ address: head.address, token: TOKEN, info: info({ isDriver: true }) });
  const victim = await HeadClient.connect({ address: head.address, token: TOKEN, info: info() });
  try {
    const died: NodeDied[] = [];
    watcher.on("node-died", (d) => died.push(d));
    await head.close();
    // While the head is down, the victim's row is declared dead by someone else (another head over the same store).
    await store.markDead(victim.nodeId, "declared elsewhere");
    victim.close();
    head = await startHead({ host: "127.0.0.1", port, token: TOKEN, nodeTimeoutMs: TIMEOUT, store });
    const death = await until("the missed death told", TIMEOUT * 3, () => died.find((d) => d.nodeId === victim.nodeId));
    assert.match(death.reason, /while this process was away/);
    assert.equal(died.length, 1, "told once");
  } finally {
    watcher.close(); victim.close();
    await head.close();
  }
});

test("a store that stalls longer than nodeTimeoutMs (Redis restarting) does not make the nodes look silent", { timeout: 20_000 }, async () => {
  const store = new PausableStore();
  const logs: string[] = [];
  const head = await startHead({ host: "127.0.0.1", port: 0, token: TOKEN, nodeTimeoutMs: TIMEOUT, store, log: (l) => logs.push(l) });
  const a = await HeadClient.connect({ address: head.address, token: TOKEN, info: info() });
  const driver = await HeadClient.connect({ address: head.address, token: TOKEN, info: info({ isDriver: true }) });
  try {
    const died: NodeDied[] = [];
    driver.on("node-died", (d) => died.push(d));
    store.pause();
    await new Promise((r) => setTimeout(r, TIMEOUT * 2));
    store.resume();
    await new Promise((r) => setTimeout(r, TIMEOUT * 2));
    assert.equal(died.length, 0, logs.join("\n"));
    assert.ok(logs.some((l) => /control store took \d+ ms/.test(l)), logs.join("\n"));
    assert.ok((await driver.nodes()).every((n) => n.state === "alive"));
    // The rule does not hide a real death: a node that stops beating still dies.
    a.close();
    await until("the silent node declared dead", TIMEOUT * 4, () => died.find((d) => d.nodeId === a.nodeId));
  } finally {
    a.close(); driver.close();
    await head.close();
  }
});
