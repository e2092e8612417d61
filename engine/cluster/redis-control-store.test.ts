// RedisControlStore against a real redis-server: the ControlStore contract (run on MemoryControlStore too, so
// that both implementations agree), atomicity between two heads' connections (two claims, one wins; a death
// told once), tables read back by a new connection, prefixes kept apart, and calls that wait out a Redis
// restart (AOF) and its flushed script cache. Skipped, saying how to install it, where redis-server is missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryControlStore, type ControlStore, type NodeRecord } from "./control-store.js";
import { RedisControlStore } from "./redis-control-store.js";
import { RedisServer, REDIS_SERVER_MISSING, redisServerPath } from "../../props/testing/redis-server.js";

const skip = redisServerPath() === undefined ? REDIS_SERVER_MISSING : false;
let prefixes = 0;

function row(nodeId: string, extra: Partial<NodeRecord> = {}): NodeRecord {
  return {
    nodeId, address: "127.0.0.1:1", state: "alive", isHead: false, isDriver: false, workers: 2,
    resources: { cpu: 2, gpu: 1 }, available: { cpu: 2, gpu: 1 }, epoch: 1, pid: 42, lastBeatAt: 1000, ...extra,
  };
}

async function withRedis(body: (server: RedisServer) => Promise<void>): Promise<void> {
  const server = await RedisServer.start();
  try { await body(server); } finally { await server.stop(); }
}

async function openStore(server: RedisServer, prefix: string, log?: (line: string) => void): Promise<RedisControlStore> {
  return RedisControlStore.open({ url: server.url, prefix, log });
}

/** The contract both stores keep (control-store.ts's interface comments). */
async function contract(store: ControlStore): Promise<void> {
  const a = "aaaaaaaaaaaaaaaa", b = "bbbbbbbbbbbbbbbb";
  await store.addNode(row(a, { isHead: true }));
  await store.addNode(row(b, { isDriver: true, resources: { cpu: 0 }, available: { cpu: 0 } }));
  await assert.rejects(store.addNode(row(a)), /already registered/);
  assert.deepEqual(await store.getNode(a), row(a, { isHead: true }));
  assert.equal(await store.getNode("cccccccccccccccc"), undefined);
  assert.deepEqual((await store.listNodes()).map((n) => n.nodeId).sort(), [a, b]);

  // Beats: recorded for the current epoch, refused for an old one or an unknown node.
  const beat = await store.beat(a, 1, { cpu: 1, gpu: 0 }, 2000);
  assert.ok(beat.ok);
  assert.deepEqual(beat.node.available, { cpu: 1, gpu: 0 });
  assert.equal(beat.node.lastBeatAt, 2000);
  assert.deepEqual((await store.getNode(a))!.available, { cpu: 1, gpu: 0 });
  const wrongEpoch = await store.beat(a, 7, {}, 2100);
  assert.ok(!wrongEpoch.ok && /epoch 7, the head has 1/.test(wrongEpoch.reason));
  const unknown = await store.beat("cccccccccccccccc", 1, {}, 2100);
  assert.ok(!unknown.ok && /not known/.test(unknown.reason));

  // Names: one holder; the holder may claim again (its value changes); release only by the holder.
  assert.deepEqual(await store.claimName("counter", a, { actor: 1 }), { ok: true });
  assert.deepEqual(await store.claimName("counter", b, { actor: 2 }), { ok: false, holder: { name: "counter", owner: a, value: { actor: 1 } } });
  assert.deepEqual(await store.claimName("counter", a, { actor: 3 }), { ok: true });
  assert.deepEqual(await store.lookupName("counter"), { name: "counter", owner: a, value: { actor: 3 } });
  assert.equal(await store.lookupName("nobody"), undefined);
  assert.equal(await store.releaseName("counter", b), false);
  assert.equal(await store.releaseName("counter", a), true);
  assert.equal(await store.lookupName("counter"), undefined);
  assert.deepEqual(await store.claimName("x", b, undefined), { ok: true });
  assert.deepEqual(await store.lookupName("x"), { name: "x", owner: b, value: undefined });
  await store.claimName("y", b, "why");
  await store.claimName("z", a, 0);
  // The whole table, for a process that joins.
  const byName = (entries: Array<{ name: string }>) => [...entries].sort((p, q) => p.name.localeCompare(q.name));
  assert.deepEqual(byName(await store.listNames()), [{ name: "x", owner: b, value: undefined }, { name: "y", owner: b, value: "why" }, { name: "z", owner: a, value: 0 }]);

  // Death: once, with the epoch bumped; a late beat cannot revive it; a dead owner claims nothing.
  const dead = await store.markDead(b, "no heartbeat for 2000 ms");
  assert.equal(dead?.state, "dead");
  assert.equal(dead?.epoch, 2);
  assert.equal(dead?.deathReason, "no heartbeat for 2000 ms");
  assert.equal(await store.markDead(b, "again"), undefined, "one death is told once");
  assert.equal(await store.markDead("cccccccccccccccc", "?"), undefined);
  const late = await store.beat(b, 1, {}, 3000);
  assert.ok(!late.ok && /declared dead \(no heartbeat for 2000 ms\)/.test(late.reason));
  const lateNewEpoch = await store.beat(b, 2, {}, 3000);
  assert.ok(!lateNewEpoch.ok && /declared dead/.test(lateNewEpoch.reason));
  await assert.rejects(store.claimName("w", b, 1), /is dead/);
  assert.deepEqual((await store.releaseNamesOf(b)).sort(), ["x", "y"]);
  assert.deepEqual(await store.releaseNamesOf(b), []);
  assert.equal((await store.lookupName("z"))?.owner, a);
  assert.deepEqual(await store.listNames(), [{ name: "z", owner: a, value: 0 }]);
  const rows = new Map((await store.listNodes()).map((n) => [n.nodeId, n]));
  assert.equal(rows.get(b)?.state, "dead");
  assert.equal(rows.get(a)?.state, "alive");
}

test("the ControlStore contract, in memory", async () => {
  await contract(new MemoryControlStore());
});

test("the ControlStore contract, in Redis; a new connection reads the tables back", { skip, timeout: 30_000 }, async () => {
  await withRedis(async (server) => {
    const store = await openStore(server, `t${prefixes++}`);
    const prefix = `t${prefixes - 1}`;
    try {
      await contract(store);
      const before = await store.listNodes();
      // A restarted head: a fresh connection, the same prefix.
      const again = await openStore(server, prefix);
      try {
        assert.deepEqual(sortRows(await again.listNodes()), sortRows(before));
        assert.equal((await again.lookupName("z"))?.value, 0);
      } finally { await again.close(); }
      // Another prefix is another cluster: it sees none of it.
      const other = await openStore(server, "other-cluster");
      try {
        assert.deepEqual(await other.listNodes(), []);
        assert.equal(await other.lookupName("z"), undefined);
      } finally { await other.close(); }
    } finally { await store.close(); }
  });
});

test("two heads' connections: of two concurrent claims one wins; a death is told once, the epoch bumped once", { skip, timeout: 30_000 }, async () => {
  await withRedis(async (server) => {
    const prefix = `t${prefixes++}`;
    const [s1, s2] = await Promise.all([openStore(server, prefix), openStore(server, prefix)]);
    try {
      const owners = ["1111111111111111", "2222222222222222"];
      for (const o of owners) await s1.addNode(row(o));
      const names = Array.from({ length: 50 }, (_, i) => `actor-${i}`);
      // Each name claimed by both owners at once, over the two connections, in both orders.
      const results = await Promise.all(names.flatMap((name, i) => {
        const first = i % 2 === 0 ? [s1, owners[0]!] as const : [s2, owners[1]!] as const;
        const second = i % 2 === 0 ? [s2, owners[1]!] as const : [s1, owners[0]!] as const;
        return [first[0].claimName(name, first[1], first[1]), second[0].claimName(name, second[1], second[1])];
      }));
      for (let i = 0; i < names.length; i++) {
        const pair = [results[2 * i]!, results[2 * i + 1]!];
        assert.equal(pair.filter((r) => r.ok).length, 1, `exactly one claim of ${names[i]} won`);
        const held = await s1.lookupName(names[i]!);
        const loser = pair.find((r) => !r.ok) as { ok: false; holder: { owner: string; value: unknown } };
        assert.equal(loser.holder.owner, held!.owner, "the loser is told who holds it");
        assert.equal(held!.value, held!.owner, "the winner's value is the one kept");
      }
      // Both heads declare the same node dead at the same moment: one of them is told.
      const deaths = await Promise.all([s1.markDead(owners[0]!, "by s1"), s2.markDead(owners[0]!, "by s2"), s1.markDead(owners[0]!, "by s1 again")]);
      const told = deaths.filter((d) => d !== undefined);
      assert.equal(told.length, 1);
      assert.equal(told[0]!.epoch, 2);
      assert.equal((await s2.getNode(owners[0]!))!.epoch, 2, "the epoch was bumped once");
      assert.equal((await s2.getNode(owners[0]!))!.deathReason, told[0]!.deathReason);
      // A beat racing the death: either it came first (and the death still follows) or it is refused.
      const [beat, death] = await Promise.all([s1.beat(owners[1]!, 1, {}, 5), s2.markDead(owners[1]!, "raced")]);
      assert.ok(death !== undefined);
      assert.equal((await s1.getNode(owners[1]!))!.state, "dead", beat.ok ? "beat first, death after" : "death first, beat refused");
    } finally { await s1.close(); await s2.close(); }
  });
});

test("calls made while Redis restarts wait for it; the tables survive (AOF); a flushed script cache is reloaded", { skip, timeout: 60_000 }, async () => {
  await withRedis(async (server) => {
    const logs: string[] = [];
    const store = await openStore(server, `t${prefixes++}`, (line) => logs.push(line));
    try {
      const id = "abcdefabcdefabcd";
      await store.addNode(row(id));
      await store.claimName("kept", id, { n: 1 });
      // A crash (SIGKILL): the AOF is fsynced at every write, so nothing acknowledged is lost.
      const restarting = server.restart({ graceful: false, downForMs: 500 });
      await new Promise((r) => setTimeout(r, 100));
      const during = store.beat(id, 1, { cpu: 0 }, 9000); // sent while Redis is down
      await restarting;
      const beat = await during;
      assert.ok(beat.ok, "the beat went through once Redis was back");
      assert.deepEqual((await store.lookupName("kept"))?.value, { n: 1 });
      assert.equal((await store.getNode(id))!.lastBeatAt, 9000);
      assert.ok(logs.some((l) => /unreachable/.test(l)) && logs.some((l) => /answers again/.test(l)), logs.join("\n"));
      // A graceful restart too, then a script cache emptied by hand: EVALSHA's NOSCRIPT falls back to EVAL.
      await server.restart();
      assert.equal((await store.getNode(id))!.state, "alive");
      const raw = await RedisControlStore.open({ url: server.url, prefix: "flusher" });
      await (raw as unknown as { client: { sendCommand(a: string[]): Promise<unknown> } }).client.sendCommand(["SCRIPT", "FLUSH"]);
      await raw.close();
      assert.equal((await store.markDead(id, "gone"))?.epoch, 2);
    } finally { await store.close(); }
  });
});

test("open() fails within connectForMs when Redis is unreachable; an incompatible layout is refused", { skip, timeout: 30_000 }, async () => {
  const started = Date.now();
  await assert.rejects(RedisControlStore.open({ url: "redis://127.0.0.1:1", connectForMs: 500 }), /could not (reach|connect to) Redis at redis:\/\/127\.0\.0\.1:1/);
  assert.ok(Date.now() - started < 5_000);
  await assert.rejects(RedisControlStore.open({ url: "redis://127.0.0.1:1", prefix: "no{tag}" }), /prefix must be/);
  await withRedis(async (server) => {
    const s = await openStore(server, "old");
    await (s as unknown as { client: { sendCommand(a: string[]): Promise<unknown> } }).client.sendCommand(["SET", "{old}:schema", "0"]);
    await s.close();
    await assert.rejects(openStore(server, "old"), /layout 0 under prefix old/);
  });
});

function sortRows(rows: NodeRecord[]): NodeRecord[] {
  return [...rows].sort((x, y) => x.nodeId.localeCompare(y.nodeId));
}
