// The cluster's wire: length-prefixed frames over TCP, each a JSON header and an optional binary body, after a
// mutual challenge-response that proves both ends hold the cluster token without sending it. Everything that
// talks between Loom processes (head, nodes, drivers) goes through here, so the checks live in one place:
// frame sizes are bounded (a small one before authentication), a malformed or unexpected frame closes the
// connection, and nothing a peer sends can throw out of this module.
import net from "node:net";
import { randomBytes, createHmac, timingSafeEqual } from "node:crypto";
import { ConnectionError, encodeBatch, encodeFrame, FrameReader, type BodyTarget, type Frame, type Header } from "./frames.js";
import { merged } from "../merged.js";

export { ConnectionError, encodeFrame, FrameReader, type BodyTarget, type Frame, type Header };

/** Largest frame after authentication: a header and a body (object chunks are a few MiB). */
export const MAX_FRAME_BYTES = 64 * 2 ** 20;
/** Largest frame before it: the handshake's frames are tiny, so a stranger cannot make us buffer much. */
const MAX_HANDSHAKE_FRAME = 1024;
const HANDSHAKE_TIMEOUT_MS = 5_000;
const PROTOCOL_VERSION = 1;
const EMPTY = new Uint8Array(0);
/** Bodies from this size on are written apart from their header, never queued (see Connection.send). */
const LARGE_BODY = 64 * 1024;
/** Queued small frames are written at once when they reach this many bytes (about). */
const BATCH_BYTES = 256 * 1024;

export interface WireOptions {
  /** The cluster token; undefined on a loopback-only cluster started without one (both ends must agree). */
  token?: string;
}

function mac(token: string | undefined, role: string, a: string, b: string): string {
  return createHmac("sha256", token ?? "").update(`${role}:${a}:${b}`).digest("hex");
}

function macMatches(expected: string, got: unknown): boolean {
  if (typeof got !== "string" || got.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(got));
}

/**
 * Where a socket's bytes go: to the handshake while it runs, then to its Connection. A server's sockets deliver
 * each read in a fresh buffer ('data'); a client's read into one buffer, reused (see connect).
 */
class SocketReads {
  listener: ((data: Buffer) => void) | undefined;

  static ofDataEvents(socket: net.Socket): SocketReads {
    const reads = new SocketReads();
    socket.on("data", (data: Buffer) => reads.listener?.(data));
    return reads;
  }
}

/**
 * The buffer every client socket of this process reads into (no fresh memory per read). One is enough: a read
 * is handed to its socket's reader before the next read happens, and the reader copies whatever it keeps
 * (FrameReader's reusedReads), so a process with a thousand connections still holds one.
 */
const CLIENT_READ_BUFFER = 256 * 1024;
let clientReadBuffer: Buffer | undefined;

type Pending = { resolve: (f: Frame) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout; into?: BodyTarget };

/**
 * One authenticated connection. `onFrame` gets every frame that is not a reply to a request made here; a
 * handler that throws closes nothing (the error is reported to `onError`).
 */
export class Connection {
  onFrame: (frame: Frame, connection: Connection) => void = () => {};
  onError: (error: Error) => void = () => {};
  private readonly closeListeners: Array<(why: string) => void> = [];
  private readonly pending = new Map<number, Pending>();
  private nextRid = 1;
  closed = false;

  constructor(private readonly socket: net.Socket, reads: SocketReads, private readonly reader: FrameReader, readonly peer: string) {
    // A reply's body goes where its request said (ObjectPuller: a chunk straight into the object's segment).
    reader.target = (h, length) => (h.re === undefined ? undefined : this.pending.get(h.re)?.into?.(h, length));
    reads.listener = (data) => this.data(data);
    socket.on("close", () => this.closeNow("the connection closed"));
    socket.on("error", (e) => this.closeNow(`the connection failed: ${e.message}`));
  }

  /** Frames that arrived with the handshake's last one. */
  deliver(frames: Frame[]): void {
    for (const f of frames) this.dispatch(f);
  }

  private data(data: Buffer): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = this.reader.push(data);
    } catch (e) {
      this.onError(e as Error);
      this.closeNow(`protocol error: ${(e as Error).message}`);
      return;
    }
    for (const f of frames) { if (this.closed) return; this.dispatch(f); }
  }

  private dispatch(f: Frame): void {
    if (f.h.re !== undefined) {
      const p = this.pending.get(f.h.re);
      if (!p) return; // a reply to a request that timed out, or a stray: dropped
      this.pending.delete(f.h.re);
      if (p.timer) clearTimeout(p.timer);
      p.resolve(f);
      return;
    }
    try {
      this.onFrame(f, this);
    } catch (e) {
      this.onError(e as Error);
    }
  }

  /** Small frames sent in this turn, not yet written: they go together at its end (see send). */
  private queued: Frame[] = [];
  private queuedBytes = 0;
  private flushPlanned = false;

  /**
   * Sends a frame. Small ones are queued and written together once the current turn's microtasks have run, or
   * once BATCH_BYTES are queued: many as one `batch` frame, one alone as itself. A thousand task requests (or
   * replies) submitted together thus cost a few socket writes, not a thousand. Frames keep their order: a big
   * body first writes what is queued. A body is read when it is written: it must not change before then.
   */
  send(h: Header, body: Uint8Array = EMPTY): void {
    if (this.closed) return;
    if (body.length < LARGE_BODY) {
      this.queued.push({ h, body });
      this.queuedBytes += body.length + 64;
      if (this.queuedBytes >= BATCH_BYTES) this.flush();
      else if (!this.flushPlanned) { this.flushPlanned = true; queueMicrotask(() => { this.flushPlanned = false; this.flush(); }); }
      return;
    }
    this.flush();
    // A big body goes out as it is, after its prefix and header, not copied into one buffer with them (a view
    // of the store too: stored objects do not change, and the sender holds it until the reply).
    const head = Buffer.from(JSON.stringify(h));
    const prefix = Buffer.allocUnsafe(8);
    prefix.writeUInt32BE(4 + head.length + body.length, 0);
    prefix.writeUInt32BE(head.length, 4);
    this.socket.cork();
    this.socket.write(prefix);
    this.socket.write(head);
    this.socket.write(body);
    this.socket.uncork();
  }

  /** Writes the queued frames. */
  private flush(): void {
    if (this.queued.length === 0 || this.socket.destroyed) { this.queued = []; this.queuedBytes = 0; return; }
    const frames = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    this.socket.write(frames.length === 1 ? encodeFrame(frames[0]!.h, frames[0]!.body) : encodeBatch(frames));
  }

  /**
   * Sends a request and resolves with its reply; rejects when the connection closes or the time runs out.
   * `into` names where the reply's body is to be copied as it arrives (the reply's frame then has that view).
   */
  request(h: Header, body?: Uint8Array, timeoutMs?: number, into?: BodyTarget): Promise<Frame> {
    if (this.closed) return Promise.reject(new ConnectionError(`${this.peer}: the connection is closed`));
    const rid = this.nextRid++;
    return new Promise<Frame>((resolve, reject) => {
      const p: Pending = { resolve, reject, into };
      if (timeoutMs !== undefined) {
        p.timer = setTimeout(() => { this.pending.delete(rid); reject(new ConnectionError(`${this.peer}: no reply to ${h.t} within ${timeoutMs} ms`)); }, timeoutMs);
        p.timer.unref?.();
      }
      this.pending.set(rid, p);
      this.send(merged(h, { rid }), body);
    });
  }

  reply(to: Header, h: Omit<Header, "t"> & { t?: string }, body?: Uint8Array): void {
    if (to.rid === undefined) return;
    this.send({ t: "reply", ...h, re: to.rid } as Header, body);
  }

  onClose(listener: (why: string) => void): void {
    if (this.closed) queueMicrotask(() => listener("the connection closed"));
    else this.closeListeners.push(listener);
  }

  close(): void {
    this.closeNow("closed here");
  }

  /** Stops reading and writing at once (the tests' stand-in for a lost machine). */
  destroy(): void {
    this.closeNow("destroyed here", false, true);
  }

  /** Closes once what was sent has been flushed, so that a last message (a refusal) reaches the peer. */
  end(): void {
    this.closeNow("closed here", true);
  }

  private closeNow(why: string, flush = false, dropQueued = false): void {
    if (this.closed) return;
    // What was sent before a close goes out first, as when every send was written at once.
    if (!dropQueued) this.flush();
    this.closed = true;
    if (flush) {
      this.socket.end();
      // A peer that never reads would hold the socket open: it is destroyed after a grace period.
      setTimeout(() => this.socket.destroy(), 1_000).unref();
    } else {
      this.socket.destroy();
    }
    const error = new ConnectionError(`${this.peer}: ${why}`);
    for (const p of this.pending.values()) { if (p.timer) clearTimeout(p.timer); p.reject(error); }
    this.pending.clear();
    for (const l of this.closeListeners.splice(0)) {
      try { l(why); } catch (e) { this.onError(e as Error); }
    }
  }
}

/** Reads frames until `want` arrives (the handshake), failing on anything else, a bad frame, or the timeout. */
function handshakeStep(socket: net.Socket, reads: SocketReads, reader: FrameReader, want: string, peer: string): Promise<{ frame: Frame; rest: Frame[] }> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error, result?: { frame: Frame; rest: Frame[] }) => {
      clearTimeout(timer);
      if (reads.listener === onData) reads.listener = undefined;
      socket.off("close", onClose); socket.off("error", onClose);
      if (error) reject(error); else resolve(result!);
    };
    const onData = (data: Buffer) => {
      let frames: Frame[];
      try { frames = reader.push(data); } catch (e) { done(e as Error); return; }
      if (frames.length === 0) return;
      const [first, ...rest] = frames;
      if (first!.h.t !== want) done(new ConnectionError(`${peer}: expected ${want} during the handshake, got ${JSON.stringify(first!.h.t).slice(0, 40)}`));
      else done(undefined, { frame: first!, rest });
    };
    const onClose = () => done(new ConnectionError(`${peer}: the connection closed during the handshake (a wrong token?)`));
    const timer = setTimeout(() => done(new ConnectionError(`${peer}: no ${want} within ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS);
    reads.listener = onData; socket.on("close", onClose); socket.on("error", onClose);
  });
}

export interface WireServer {
  readonly host: string;
  readonly port: number;
  /** Open connections, for tests and shutdown. */
  readonly connections: Set<Connection>;
  close(): Promise<void>;
}

/**
 * Listens on host:port (port 0: any free one) and hands each connection that proves the token to
 * `onConnection`. A connection that fails the handshake is closed and reported to `onRejected`.
 */
export function listen(
  options: WireOptions & { host: string; port: number },
  onConnection: (c: Connection) => void,
  onRejected: (why: string) => void = () => {},
): Promise<WireServer> {
  const connections = new Set<Connection>();
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const reader = new FrameReader(MAX_HANDSHAKE_FRAME);
    const reads = SocketReads.ofDataEvents(socket);
    const serverNonce = randomBytes(16).toString("hex");
    socket.on("error", () => {});
    socket.write(encodeFrame({ t: "hello", v: PROTOCOL_VERSION, nonce: serverNonce }));
    handshakeStep(socket, reads, reader, "auth", peer).then(({ frame, rest }) => {
      const clientNonce = frame.h.nonce;
      if (typeof clientNonce !== "string" || !/^[0-9a-f]{32}$/.test(clientNonce) || !macMatches(mac(options.token, "client", serverNonce, clientNonce), frame.h.mac)) {
        socket.write(encodeFrame({ t: "denied", reason: "the token does not match" }));
        socket.end();
        socket.destroySoon?.();
        onRejected(`${peer}: the token does not match`);
        return;
      }
      if (rest.length) throw new ConnectionError(`${peer}: sent frames before the handshake ended`);
      reader.maxFrame = MAX_FRAME_BYTES;
      reader.splitBatches = true;
      const c = new Connection(socket, reads, reader, peer);
      connections.add(c);
      c.onClose(() => connections.delete(c));
      socket.write(encodeFrame({ t: "welcome", mac: mac(options.token, "server", clientNonce, serverNonce) }));
      onConnection(c);
    }).catch((e: Error) => {
      socket.destroy();
      onRejected(e.message);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      const address = server.address() as net.AddressInfo;
      resolve({
        host: options.host,
        port: address.port,
        connections,
        close: () => new Promise<void>((done) => {
          for (const c of connections) c.close();
          server.close(() => done());
        }),
      });
    });
  });
}

/** Connects to host:port and proves the token; rejects when the peer does not prove it back. */
export function connect(options: WireOptions & { host: string; port: number; timeoutMs?: number }): Promise<Connection> {
  const peer = `${options.host}:${options.port}`;
  return new Promise<Connection>((resolve, reject) => {
    const reads = new SocketReads();
    const socket = net.connect({
      host: options.host, port: options.port,
      onread: { buffer: clientReadBuffer ??= Buffer.allocUnsafe(CLIENT_READ_BUFFER), callback: (n: number, buffer: Uint8Array) => { reads.listener?.((buffer as Buffer).subarray(0, n)); return true; } },
    });
    socket.setNoDelay(true);
    const timer = setTimeout(() => { socket.destroy(); reject(new ConnectionError(`${peer}: could not connect within ${options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS} ms`)); }, options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    const fail = (e: Error) => { clearTimeout(timer); socket.destroy(); reject(e); };
    socket.once("error", (e) => fail(new ConnectionError(`${peer}: ${e.message}`)));
    socket.once("connect", () => {
      const reader = new FrameReader(MAX_HANDSHAKE_FRAME, true);
      handshakeStep(socket, reads, reader, "hello", peer).then(async ({ frame, rest: early }) => {
        const serverNonce = frame.h.nonce;
        // A server that speaks before our auth is not following the protocol (a replay of a recorded session).
        if (early.length) throw new ConnectionError(`${peer}: sent frames before our auth`);
        if (frame.h.v !== PROTOCOL_VERSION) throw new ConnectionError(`${peer}: speaks wire version ${String(frame.h.v)}, this process ${PROTOCOL_VERSION}`);
        if (typeof serverNonce !== "string" || !/^[0-9a-f]{32}$/.test(serverNonce)) throw new ConnectionError(`${peer}: sent a bad challenge`);
        const clientNonce = randomBytes(16).toString("hex");
        socket.write(encodeFrame({ t: "auth", nonce: clientNonce, mac: mac(options.token, "client", serverNonce, clientNonce) }));
        // The server's first frames may come in the same read as its welcome, and may be a batch.
        reader.splitBatches = true;
        const { frame: welcome, rest } = await handshakeStep(socket, reads, reader, "welcome", peer).catch((e: Error) => {
          throw new ConnectionError(`${e.message.replace(/ \(a wrong token\?\)$/, "")}: it refused our token (check LOOM_TOKEN, --token or ~/.loom/token)`);
        });
        if (!macMatches(mac(options.token, "server", clientNonce, serverNonce), welcome.h.mac)) throw new ConnectionError(`${peer}: could not prove it holds the cluster token`);
        clearTimeout(timer);
        socket.removeAllListeners("error");
        reader.maxFrame = MAX_FRAME_BYTES;
        const c = new Connection(socket, reads, reader, peer);
        resolve(c);
        c.deliver(rest);
      }).catch(fail);
    });
  });
}

/** "host:port" → parts; a clear error on anything else. */
export function parseAddress(address: string, what = "address"): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new ConnectionError(`${what} ${JSON.stringify(address)} is not host:port`);
  return { host: m[1]!, port };
}

export function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "localhost" || host === "::1" || /^127\./.test(host);
}

/** The name the first users of this module knew ConnectionError by. */
export { ConnectionError as WireError };
