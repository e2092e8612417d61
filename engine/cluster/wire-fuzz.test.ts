// The wire under hostile input, against a live head: random, malformed, truncated and oversized frames, and
// replayed handshakes, from a stranger (no token) and from a peer that proved the token. Each bad connection is
// closed or answered with an error; nothing throws out of the server, and a good client is served throughout.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { createHmac, randomBytes } from "node:crypto";
import { startHead, type Head } from "./head.js";
import { HeadClient } from "./head-client.js";
import { connect, encodeFrame, FrameReader, type Frame } from "./wire.js";

const TOKEN = "fuzz-token";

/** A small deterministic PRNG (mulberry32), so a failing input can be found again from its seed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mac(token: string, role: string, a: string, b: string): string {
  return createHmac("sha256", token).update(`${role}:${a}:${b}`).digest("hex");
}

/** A raw socket to the server, with its frames; `closed` resolves when the server hangs up. */
class RawPeer {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  readonly sent: Buffer[] = [];
  readonly closed: Promise<void>;
  private readonly reader = new FrameReader(64 * 2 ** 20);
  private broken = false;
  constructor(port: number) {
    this.socket = net.connect({ host: "127.0.0.1", port });
    this.socket.on("error", () => {});
    this.socket.on("data", (d: Buffer) => {
      if (this.broken) return;
      try { this.frames.push(...this.reader.push(d)); } catch { this.broken = true; }
    });
    this.closed = new Promise((resolve) => this.socket.on("close", () => resolve()));
  }
  write(bytes: Buffer): void {
    this.sent.push(bytes);
    if (!this.socket.destroyed) this.socket.write(bytes);
  }
  async frame(t: string, within = 3_000): Promise<Frame> {
    const deadline = Date.now() + within;
    for (;;) {
      const f = this.frames.find((x) => x.h.t === t);
      if (f) return f;
      if (Date.now() > deadline) throw new Error(`no ${t} frame within ${within} ms (got ${this.frames.map((x) => x.h.t).join(", ")})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  /** Completes the handshake with `token`, as a real client would. */
  async authenticate(token: string): Promise<void> {
    const hello = await this.frame("hello");
    const nonce = randomBytes(16).toString("hex");
    this.write(encodeFrame({ t: "auth", nonce, mac: mac(token, "client", String(hello.h.nonce), nonce) }));
    this.reader.splitBatches = true; // after the handshake, a server sends small frames together as batches
    await this.frame("welcome");
  }
  destroy(): void {
    this.socket.destroy();
  }
}

/** Random bytes, or a frame whose length or header is wrong in a random way. */
function junk(rand: () => number): Buffer {
  const n = Math.floor(rand() * 64);
  const bytes = Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  switch (Math.floor(rand() * 10)) {
    case 0: return bytes; // noise
    case 1: { const b = Buffer.alloc(8); b.writeUInt32BE(0xffffffff, 0); return b; } // absurd length
    case 2: { const b = Buffer.alloc(8); b.writeUInt32BE(2, 0); return b; } // too short for a header length
    case 3: { const b = Buffer.alloc(12 + n); b.writeUInt32BE(8 + n, 0); b.writeUInt32BE(8 + n + 100, 4); return b; } // header longer than the frame
    case 4: { const h = Buffer.from("{not json"); const b = Buffer.alloc(8 + h.length); b.writeUInt32BE(4 + h.length, 0); b.writeUInt32BE(h.length, 4); h.copy(b, 8); return b; }
    case 5: return encodeFrame({ t: 7 } as never); // no message type
    case 6: return encodeFrame({ t: "nodes", rid: 1.5 }); // a bad request id
    case 7: return encodeFrame({ t: "batch", hs: [{ t: "nodes", rid: 2 }], sizes: [n + 1] } as never, bytes); // a batch whose sizes overrun its body
    case 8: return encodeFrame({ t: "batch", hs: [{ t: "batch", hs: [], sizes: [] }], sizes: [0] } as never); // a batch in a batch
    default: { const b = encodeFrame({ t: "nodes", rid: 1 }, bytes); return b.subarray(0, Math.max(1, Math.floor(rand() * b.length))); } // truncated
  }
}

/** A header the head may or may not understand, with fields of random types. */
function randomHeader(rand: () => number): Record<string, unknown> {
  const types = ["register", "heartbeat", "nodes", "leaving", "claim-name", "release-name", "lookup-name", "pull", "reply", "hello", "auth", "x"];
  const values = [null, -1, 0, 1.5, 2 ** 60, "", "a".repeat(2000), "0123456789abcdef", [], {}, { cpu: -1 }, { cpu: "1" }, true, undefined];
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const h: Record<string, unknown> = { t: pick(types) };
  for (const key of ["rid", "re", "nodeId", "epoch", "address", "workers", "resources", "isDriver", "pid", "name", "value", "available"]) {
    if (rand() < 0.5) h[key] = pick(values);
  }
  if (rand() < 0.7) h.rid = Math.floor(rand() * 1000);
  if (h.re !== undefined && !Number.isSafeInteger(h.re)) delete h.re;
  if (h.rid !== undefined && !Number.isSafeInteger(h.rid)) delete h.rid;
  return h;
}

async function withHead(body: (head: Head, good: HeadClient) => Promise<void>): Promise<void> {
  const errors: unknown[] = [];
  const onError = (e: unknown) => errors.push(e);
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  const head = await startHead({ host: "127.0.0.1", port: 0, token: TOKEN, nodeTimeoutMs: 5_000 });
  const good = await HeadClient.connect({ address: head.address, token: TOKEN, info: { address: "127.0.0.1:1", workers: 1, resources: { cpu: 1 }, isDriver: true, pid: process.pid } });
  try {
    await body(head, good);
    // The good client was served throughout, and still is.
    const nodes = await good.nodes();
    assert.equal(nodes.find((n) => n.nodeId === good.nodeId)?.state, "alive");
    assert.deepEqual(errors, [], "nothing escaped the server");
  } finally {
    good.close();
    await head.close();
    process.off("uncaughtException", onError);
    process.off("unhandledRejection", onError);
  }
}

test("before authentication: junk, oversized and truncated frames are closed on, never answered", { timeout: 60_000 }, async () => {
  await withHead(async (head, good) => {
    const rand = prng(1);
    for (let round = 0; round < 20; round++) {
      const peers = Array.from({ length: 10 }, () => new RawPeer(head.port));
      await Promise.all(peers.map((p) => p.frame("hello")));
      for (const p of peers) p.write(junk(rand));
      // Each peer's junk closes its connection, or leaves it waiting for the rest of a frame: cut those here.
      await Promise.race([Promise.all(peers.map((p) => p.closed)), new Promise((r) => setTimeout(r, 200))]);
      for (const p of peers) {
        assert.deepEqual(p.frames.map((f) => f.h.t).filter((t) => t !== "hello" && t !== "denied"), [], "a stranger gets nothing but hello/denied");
        p.destroy();
      }
      await good.nodes();
    }
    // An oversized handshake frame is refused as soon as its length is read, not buffered.
    const big = new RawPeer(head.port);
    await big.frame("hello");
    const b = Buffer.alloc(8); b.writeUInt32BE(1025, 0);
    big.write(b);
    await big.closed;
  });
});

test("a stranger with frames that look right but no token: denied; its requests are not served", { timeout: 30_000 }, async () => {
  await withHead(async (head) => {
    const p = new RawPeer(head.port);
    const hello = await p.frame("hello");
    const nonce = randomBytes(16).toString("hex");
    p.write(encodeFrame({ t: "auth", nonce, mac: mac("not-the-token", "client", String(hello.h.nonce), nonce) }));
    p.write(encodeFrame({ t: "nodes", rid: 1 }));
    await p.closed;
    assert.deepEqual(p.frames.map((f) => f.h.t), ["hello", "denied"]);
    // A request before auth instead of auth: closed without an answer.
    const q = new RawPeer(head.port);
    await q.frame("hello");
    q.write(encodeFrame({ t: "nodes", rid: 1 }));
    await q.closed;
    assert.deepEqual(q.frames.map((f) => f.h.t), ["hello"]);
  });
});

test("replayed handshakes: a client's recorded auth is useless on a new connection, a server's recorded welcome too", { timeout: 30_000 }, async () => {
  await withHead(async (head) => {
    // Record what a real client sends, through a proxy that keeps a copy (an eavesdropper on the network).
    const recorded: Buffer[] = [];
    const fromServer: Buffer[] = [];
    const proxy = net.createServer((inbound) => {
      const outbound = net.connect({ host: "127.0.0.1", port: head.port });
      inbound.on("data", (d: Buffer) => { recorded.push(d); outbound.write(d); });
      outbound.on("data", (d: Buffer) => { fromServer.push(d); inbound.write(d); });
      inbound.on("close", () => outbound.destroy()); outbound.on("close", () => inbound.destroy());
      inbound.on("error", () => {}); outbound.on("error", () => {});
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    try {
      const proxyPort = (proxy.address() as net.AddressInfo).port;
      const c = await connect({ host: "127.0.0.1", port: proxyPort, token: TOKEN });
      const reply = await c.request({ t: "nodes" }, undefined, 2_000);
      assert.ok(Array.isArray(reply.h.nodes));
      c.close();
      // Replay the client's bytes (auth, then its request) to the server: the server's nonce is new, so the MAC fails.
      const p = new RawPeer(head.port);
      await p.frame("hello");
      p.write(Buffer.concat(recorded));
      await p.closed;
      assert.deepEqual(p.frames.map((f) => f.h.t), ["hello", "denied"]);
      // Replay the server's bytes (hello, welcome) to a client: the client's nonce is new, so it refuses the server.
      const fake = net.createServer((s) => { s.on("error", () => {}); s.write(Buffer.concat(fromServer)); });
      await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
      try {
        await assert.rejects(connect({ host: "127.0.0.1", port: (fake.address() as net.AddressInfo).port, token: TOKEN }), /sent frames before our auth/);
        // And the welcome alone, after our auth, as a replaying server would time it: its MAC is for another nonce.
        const timed = net.createServer((s) => {
          s.on("error", () => {});
          const reader = new FrameReader(1024);
          const [hello, welcome] = reader.push(Buffer.concat(fromServer));
          s.write(encodeFrame(hello!.h));
          s.once("data", () => s.write(encodeFrame(welcome!.h)));
        });
        await new Promise<void>((r) => timed.listen(0, "127.0.0.1", r));
        try {
          await assert.rejects(connect({ host: "127.0.0.1", port: (timed.address() as net.AddressInfo).port, token: TOKEN }), /could not prove it holds the cluster token/);
        } finally { timed.close(); }
      } finally { fake.close(); }
      // Replaying the auth twice on one connection: the second is an unknown message after the handshake, not a login.
      const twice = new RawPeer(head.port);
      await twice.authenticate(TOKEN);
      twice.write(recorded[0]!);
      twice.write(encodeFrame({ t: "nodes", rid: 9 }));
      const answer = await twice.frame("reply");
      assert.equal(answer.h.re, 9);
      twice.destroy();
    } finally {
      proxy.close();
    }
  });
});

test("after authentication: junk frames close the connection, odd headers get errors, the head lives", { timeout: 60_000 }, async () => {
  await withHead(async (head, good) => {
    const rand = prng(2);
    for (let round = 0; round < 10; round++) {
      const p = new RawPeer(head.port);
      await p.authenticate(TOKEN);
      // Well-formed frames with random headers: answered (with an error where they make no sense) or ignored.
      for (let i = 0; i < 30; i++) p.write(encodeFrame(randomHeader(rand) as never, rand() < 0.3 ? randomBytes(Math.floor(rand() * 100)) : undefined));
      p.write(encodeFrame({ t: "nodes", rid: 100_000 }));
      // The head answers the last request, unless a random heartbeat named a node it does not know: then it
      // refuses that connection (the only reason it hangs up on well-formed frames).
      let hungUp = false;
      void p.closed.then(() => { hungUp = true; });
      const deadline = Date.now() + 3_000;
      while (!p.frames.some((f) => f.h.re === 100_000) && !hungUp) {
        if (Date.now() > deadline) throw new Error("the head stopped answering this connection");
        await new Promise((r) => setTimeout(r, 5));
      }
      if (hungUp && !p.frames.some((f) => f.h.re === 100_000)) {
        assert.ok(p.frames.some((f) => f.h.t === "refused"), `closed without a refusal: ${p.frames.map((f) => f.h.t).join(", ")}`);
        p.destroy();
        continue;
      }
      // Then a malformed frame: the connection closes.
      let bad = junk(rand);
      while (bad.length >= 4 && bad.readUInt32BE(0) >= 4 && bad.readUInt32BE(0) < 1 << 20 && bad.length < 4 + bad.readUInt32BE(0)) bad = junk(rand); // not a truncated one: it would just wait
      p.write(bad);
      await Promise.race([p.closed, new Promise((r) => setTimeout(r, 500))]);
      p.destroy();
      await good.nodes();
    }
    // A frame over the post-handshake limit: closed on its length alone.
    const p = new RawPeer(head.port);
    await p.authenticate(TOKEN);
    const b = Buffer.alloc(8); b.writeUInt32BE(64 * 2 ** 20 + 1, 0);
    p.write(b);
    await p.closed;
  });
});

test("the wrong token: connect fails with an error that says to check the token", { timeout: 10_000 }, async () => {
  await withHead(async (head) => {
    await assert.rejects(connect({ host: "127.0.0.1", port: head.port, token: "nope" }), (e: Error) => {
      assert.match(e.message, /refused our token \(check LOOM_TOKEN, --token or ~\/\.loom\/token\)/);
      return true;
    });
    await assert.rejects(connect({ host: "127.0.0.1", port: head.port }), /refused our token/);
  });
});
