// The wire's frame reader and the pull path on their own: frames split anywhere arrive whole, a reader whose
// reads reuse one buffer keeps nothing that buffer holds, a body with a target lands in it, batches split back
// into their frames (and malformed ones are refused), small frames sent in one turn go out as one batch, and a
// pull's chunks land in the destination the puller was given, between two real sockets on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeFrame, FrameReader, listen, connect, ConnectionError, type Frame, type Connection } from "./wire.js";
import { encodeBatch } from "./frames.js";
import { answerPull, ObjectPuller } from "./object-transfer.js";
import { PULL_CHUNK_BYTES } from "./messages.js";

function someFrames(): Buffer[] {
  const body = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
  return [
    encodeFrame({ t: "a", rid: 1 }),
    encodeFrame({ t: "b", re: 1, note: "x".repeat(300) }, body(1000, 1)),
    encodeFrame({ t: "c" }, body(5, 2)),
    encodeFrame({ t: "d", rid: 2 }, body(70_000, 3)),
  ];
}

function summary(frames: Frame[]): string[] {
  return frames.map((f) => `${JSON.stringify(f.h)} ${Buffer.from(f.body).toString("base64")}`);
}

test("frames split at any point arrive whole, with fresh reads and with one reused read buffer", () => {
  const stream = Buffer.concat(someFrames());
  const expected = summary(new FrameReader(2 ** 20).push(Buffer.from(stream)));
  assert.equal(expected.length, 4);
  for (const piece of [1, 3, 7, 64, 1000, 65_536]) {
    for (const reused of [false, true]) {
      const reader = new FrameReader(2 ** 20, reused);
      const got: Frame[] = [];
      const scratch = Buffer.alloc(piece);
      for (let at = 0; at < stream.length; at += piece) {
        const n = Math.min(piece, stream.length - at);
        // A reused read buffer: the same memory each time, scribbled over once the reader has returned.
        const data = reused ? scratch.subarray(0, n) : Buffer.from(stream.subarray(at, at + n));
        if (reused) stream.copy(scratch, 0, at, at + n);
        got.push(...reader.push(data));
        if (reused) scratch.fill(0xee);
      }
      assert.deepEqual(summary(got), expected, `pieces of ${piece} bytes, reused reads: ${reused}`);
    }
  }
});

test("a body with a target is copied into it as it arrives; one the target declines gets a buffer of its own", () => {
  const frames = someFrames();
  const stream = Buffer.concat(frames);
  const target = new Uint8Array(70_000 + 10);
  const asked: string[] = [];
  const reader = new FrameReader(2 ** 20);
  reader.target = (h, length) => { asked.push(`${h.t}:${length}`); return h.t === "d" ? target.subarray(5, 5 + length) : undefined; };
  const got: Frame[] = [];
  for (let at = 0; at < stream.length; at += 4096) got.push(...reader.push(Buffer.from(stream.subarray(at, at + 4096))));
  assert.deepEqual(asked, ["b:1000", "c:5", "d:70000"]);
  const d = got.find((f) => f.h.t === "d")!;
  assert.equal(d.body.buffer, target.buffer, "the body is the target's memory");
  assert.equal(d.body.byteOffset, 5);
  assert.deepEqual(summary(got), summary(new FrameReader(2 ** 20).push(stream)));
  // A target of the wrong size is not used.
  const wrong = new FrameReader(2 ** 20);
  wrong.target = () => new Uint8Array(3);
  const [a] = wrong.push(Buffer.from(frames[1]!));
  assert.equal(a!.body.length, 1000);
});

test("a pull lands each chunk in the destination it was given, over a real connection", async () => {
  const size = 2 * PULL_CHUNK_BYTES + 12_345;
  const object = new Uint8Array(new SharedArrayBuffer(size));
  for (let i = 0; i < size; i++) object[i] = (i * 7) & 255;
  const server = await listen({ host: "127.0.0.1", port: 0 }, (c) => {
    c.onFrame = (f, conn) => { answerPull(conn, f, (key) => (key === "k" ? { flags: 0, bytes: object, hasRefs: false } : undefined)); };
  });
  const puller = new ObjectPuller(undefined);
  try {
    const destination = new Uint8Array(new SharedArrayBuffer(size + 64), 64, size);
    const sizes: number[] = [];
    const raw = await puller.pull(`127.0.0.1:${server.port}`, "k", (n) => { sizes.push(n); return destination; });
    assert.deepEqual(sizes, [size]);
    assert.equal(raw.bytes, destination);
    assert.ok(Buffer.from(destination).equals(Buffer.from(object)), "the bytes arrived intact");
    // Two connections read at once (every client socket of a process reads into one buffer): both arrive intact.
    const other = new ObjectPuller(undefined);
    try {
      const [a, b] = await Promise.all([puller.pull(`127.0.0.1:${server.port}`, "k"), other.pull(`127.0.0.1:${server.port}`, "k")]);
      assert.ok(Buffer.from(a.bytes).equals(Buffer.from(object)) && Buffer.from(b.bytes).equals(Buffer.from(object)));
    } finally {
      await other.close();
    }
    // A key the holder does not have is an error, not a hang.
    await assert.rejects(puller.pull(`127.0.0.1:${server.port}`, "nope"), /not held here/);
    // The connection still serves requests whose replies have no target.
    const c = await connect({ host: "127.0.0.1", port: server.port });
    const reply = await c.request({ t: "pull", key: "k", offset: 10, length: 5 });
    assert.deepEqual([...reply.body], [...object.subarray(10, 15)]);
    c.close();
  } finally {
    await puller.close();
    await server.close();
  }
});

test("a batch frame splits into its frames in order; before the handshake ends it is just a frame; a malformed one is refused", () => {
  const frames: Frame[] = [
    { h: { t: "x", rid: 1 }, body: Uint8Array.of(1, 2, 3) },
    { h: { t: "y", re: 4 }, body: new Uint8Array(0) },
    { h: { t: "z" }, body: Uint8Array.of(9) },
  ];
  const stream = Buffer.concat([encodeBatch(frames), encodeFrame({ t: "after" })]);
  const reader = new FrameReader(2 ** 20, true);
  reader.splitBatches = true;
  const got: Frame[] = [];
  for (let at = 0; at < stream.length; at += 5) got.push(...reader.push(Buffer.from(stream.subarray(at, at + 5))));
  assert.deepEqual(got.map((f) => [f.h, [...f.body]]), [...frames.map((f) => [f.h, [...f.body]]), [{ t: "after" }, []]]);
  const unsplit = new FrameReader(2 ** 20).push(encodeBatch(frames));
  assert.deepEqual(unsplit.map((f) => f.h.t), ["batch"]);
  const bad = (h: object, body = new Uint8Array(0)) => () => {
    const r = new FrameReader(2 ** 20);
    r.splitBatches = true;
    r.push(encodeFrame(h as never, body));
  };
  assert.throws(bad({ t: "batch", hs: [{ t: "a" }], sizes: [2] }, Uint8Array.of(1)), ConnectionError);
  assert.throws(bad({ t: "batch", hs: [{ t: "a" }], sizes: [0] }, Uint8Array.of(1)), ConnectionError);
  assert.throws(bad({ t: "batch", hs: [{ t: "a" }], sizes: [] }), ConnectionError);
  assert.throws(bad({ t: "batch", hs: [{ t: 3 }], sizes: [0] }), ConnectionError);
  assert.throws(bad({ t: "batch", hs: [{ t: "a", rid: 0.5 }], sizes: [0] }), ConnectionError);
  assert.throws(bad({ t: "batch", hs: [{ t: "batch", hs: [], sizes: [] }], sizes: [0] }), ConnectionError);
  assert.throws(bad({ t: "batch", hs: "no", sizes: [-1] }), ConnectionError);
});

test("requests sent in one turn go out as a few writes, and their replies come back in order", async () => {
  const server = await listen({ host: "127.0.0.1", port: 0 }, (c) => {
    c.onFrame = (f, conn) => conn.reply(f.h, { n: f.h.n }, f.body);
  });
  const c = await connect({ host: "127.0.0.1", port: server.port });
  try {
    const socket = (c as unknown as { socket: { write: (...a: unknown[]) => boolean } }).socket;
    const write = socket.write.bind(socket);
    let writes = 0;
    socket.write = (...a: unknown[]) => { writes++; return write(...a); };
    const n = 2000;
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => c.request({ t: "echo", n: i }, Uint8Array.of(i & 255, i >> 8))));
    assert.deepEqual(replies.map((r) => r.h.n), Array.from({ length: n }, (_, i) => i));
    assert.ok(replies.every((r, i) => r.body[0] === (i & 255) && r.body[1] === i >> 8));
    assert.ok(writes <= 4, `${n} requests took ${writes} writes`);
    // A big body is not queued, and does not overtake the small frames sent before it.
    const order: number[] = [];
    const big = new Uint8Array(100_000).fill(7);
    await Promise.all([
      c.request({ t: "echo", n: 1 }).then(() => order.push(1)),
      c.request({ t: "echo", n: 2 }, big).then((r) => { order.push(2); assert.equal(r.body.length, big.length); }),
      c.request({ t: "echo", n: 3 }).then(() => order.push(3)),
    ]);
    assert.deepEqual(order, [1, 2, 3]);
  } finally {
    (c as Connection).close();
    await server.close();
  }
});
