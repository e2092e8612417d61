// The frames of the cluster's wire (wire.ts): each a 4-byte length, a 4-byte header length, a JSON header and an
// optional binary body. The reader here splits a byte stream into frames and refuses anything malformed or too
// big; a `batch` frame (many small frames sent together, see Connection.send) is split back into its frames.
// Nothing a peer sends throws anything but ConnectionError out of here.

export class ConnectionError extends Error {
  override name = "ConnectionError";
}

export interface Header {
  /** The message type. */
  t: string;
  /** A request's id; its reply carries it as `re`. */
  rid?: number;
  re?: number;
  [field: string]: unknown;
}

export interface Frame {
  h: Header;
  body: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** The message type of a frame that carries several: `hs` their headers, `sizes` their bodies' lengths. */
export const BATCH = "batch";

export function encodeFrame(h: Header, body: Uint8Array = EMPTY): Buffer {
  const head = Buffer.from(JSON.stringify(h));
  const out = Buffer.allocUnsafe(8 + head.length + body.length);
  out.writeUInt32BE(4 + head.length + body.length, 0);
  out.writeUInt32BE(head.length, 4);
  head.copy(out, 8);
  out.set(body, 8 + head.length);
  return out;
}

/** Several small frames as one `batch` frame: their headers in its header, their bodies one after another in its body. */
export function encodeBatch(frames: readonly Frame[]): Buffer {
  let bodies = 0;
  for (const f of frames) bodies += f.body.length;
  const head = Buffer.from(JSON.stringify({ t: BATCH, hs: frames.map((f) => f.h), sizes: frames.map((f) => f.body.length) }));
  const out = Buffer.allocUnsafe(8 + head.length + bodies);
  out.writeUInt32BE(4 + head.length + bodies, 0);
  out.writeUInt32BE(head.length, 4);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const f of frames) { out.set(f.body, at); at += f.body.length; }
  return out;
}

/**
 * Where a frame's body goes, asked once its header has arrived: a view of exactly `length` bytes that the body
 * is copied into as it arrives (an object's chunk straight into its store segment), or undefined for a buffer
 * of the reader's own.
 */
export type BodyTarget = (h: Header, length: number) => Uint8Array | undefined;

/**
 * Splits a byte stream into frames; throws ConnectionError on a frame that is malformed or too big. A frame's
 * prefix and header are gathered whole; its body is copied once, as it arrives, into its target (see
 * BodyTarget) or into a buffer made for it when its header is read. A body that lies whole in one read is a view
 * of that read when reads are fresh buffers (a server's sockets); with `reusedReads` (a client's, whose socket
 * reads into one buffer again and again: see connect) it is copied, and so are the bytes left over at the end of
 * a read.
 */
export class FrameReader {
  /** Bytes received and not yet consumed, up to the end of the next frame's header. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The frame whose body is arriving: its header, where the body goes, and how many bytes of it are in. */
  private partial: { h: Header; body: Uint8Array; filled: number } | undefined;
  /** Asked for each body's destination; unset, bodies get buffers of their own. */
  target: BodyTarget | undefined;
  /** Whether `batch` frames are split into their frames (once authenticated); before, a batch is just a frame. */
  splitBatches = false;
  constructor(public maxFrame: number, private readonly reusedReads = false) {}

  push(data: Buffer): Frame[] {
    const frames = this.split(data);
    if (this.reusedReads && this.buffered > 0) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return frames;
  }

  private split(data: Buffer): Frame[] {
    const frames: Frame[] = [];
    let used = 0;
    if (this.partial) {
      used = this.fill(data, 0);
      if (this.partial.filled < this.partial.body.length) return frames;
      this.emit(frames, this.partial.h, this.partial.body);
      this.partial = undefined;
    }
    if (used < data.length) {
      this.chunks.push(used === 0 ? data : data.subarray(used));
      this.buffered += data.length - used;
    }
    for (;;) {
      if (this.buffered < 4) break;
      // The length first (its 4 bytes may span chunks), so that an oversized frame is refused before it arrives.
      if (this.chunks[0]!.length < 4) this.join();
      const length = this.chunks[0]!.readUInt32BE(0);
      if (length < 4 || length > this.maxFrame) throw new ConnectionError(`frame of ${length} bytes (the limit is ${this.maxFrame})`);
      if (this.buffered < 8) break;
      if (this.chunks[0]!.length < 8) this.join();
      const headerLength = this.chunks[0]!.readUInt32BE(4);
      if (headerLength > length - 4 || headerLength === 0) throw new ConnectionError(`frame header of ${headerLength} bytes in a ${length}-byte frame`);
      if (this.buffered < 8 + headerLength) break;
      if (this.chunks[0]!.length < 8 + headerLength) this.join();
      const first = this.chunks[0]!;
      const h = parseHeader(first, 8, 8 + headerLength);
      const bodyLength = length - 4 - headerLength;
      const rest = first.subarray(8 + headerLength);
      this.buffered -= 8 + headerLength;
      if (rest.length) this.chunks[0] = rest; else this.chunks.shift();
      const target = bodyLength > 0 ? this.targetFor(h, bodyLength) : undefined;
      if (!target && (bodyLength === 0 || rest.length >= bodyLength)) {
        // Whole in this read: a view of it.
        const view = new Uint8Array(rest.buffer, rest.byteOffset, bodyLength);
        const body = bodyLength === 0 ? EMPTY : this.reusedReads ? view.slice() : view;
        this.consume(bodyLength);
        this.emit(frames, h, body);
        continue;
      }
      this.partial = { h, body: target ?? Buffer.allocUnsafeSlow(bodyLength), filled: 0 };
      while (this.chunks.length && this.partial.filled < bodyLength) {
        const chunk = this.chunks[0]!;
        const n = this.fill(chunk, 0);
        this.buffered -= n;
        if (n < chunk.length) this.chunks[0] = chunk.subarray(n); else this.chunks.shift();
      }
      if (this.partial.filled < bodyLength) break;
      this.emit(frames, h, this.partial.body);
      this.partial = undefined;
    }
    return frames;
  }

  /** Adds a frame to `out`, or the frames of a batch, checked, in the order they were sent. */
  private emit(out: Frame[], h: Header, body: Uint8Array): void {
    if (h.t !== BATCH || !this.splitBatches) { out.push({ h, body }); return; }
    const { hs, sizes } = h as Header & { hs: unknown; sizes: unknown };
    if (!Array.isArray(hs) || !Array.isArray(sizes) || hs.length !== sizes.length) throw new ConnectionError("batch frame without matching headers and sizes");
    let at = 0;
    for (let i = 0; i < hs.length; i++) {
      const size = sizes[i] as unknown;
      if (!Number.isSafeInteger(size) || (size as number) < 0 || at + (size as number) > body.length) throw new ConnectionError("batch frame with a bad body size");
      const sub = checkHeader(hs[i]);
      if (sub.t === BATCH) throw new ConnectionError("batch frame inside a batch frame");
      out.push({ h: sub, body: body.subarray(at, at + (size as number)) });
      at += size as number;
    }
    if (at !== body.length) throw new ConnectionError(`batch frame of ${body.length} body bytes, its frames ${at}`);
  }

  /** Copies what `data` holds of the partial frame's body from `from`; returns the bytes taken. */
  private fill(data: Uint8Array, from: number): number {
    const p = this.partial!;
    const n = Math.min(data.length - from, p.body.length - p.filled);
    p.body.set(n === data.length ? data : data.subarray(from, from + n), p.filled);
    p.filled += n;
    return n;
  }

  /** The body's target, when one is set and gives a view of the right size. */
  private targetFor(h: Header, length: number): Uint8Array | undefined {
    let view: Uint8Array | undefined;
    try { view = this.target?.(h, length); } catch { view = undefined; }
    return view && view.length === length ? view : undefined;
  }

  /** Drops `n` bytes from the front of what is buffered. */
  private consume(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const chunk = this.chunks[0]!;
      if (chunk.length > n) { this.chunks[0] = chunk.subarray(n); return; }
      n -= chunk.length;
      this.chunks.shift();
    }
  }

  /** Joins every buffered chunk into one (only headers are joined: bodies are copied once, into their place). */
  private join(): void {
    this.chunks = [Buffer.concat(this.chunks, this.buffered)];
  }
}

function parseHeader(bytes: Buffer, start: number, end: number): Header {
  let h: unknown;
  try {
    h = JSON.parse(bytes.toString("utf8", start, end));
  } catch {
    throw new ConnectionError("frame header is not JSON");
  }
  return checkHeader(h);
}

/** A header is an object with a message type, and request ids that are integers. */
function checkHeader(h: unknown): Header {
  if (typeof h !== "object" || h === null || Array.isArray(h) || typeof (h as Header).t !== "string") throw new ConnectionError("frame header has no message type");
  const rid = (h as Header).rid, re = (h as Header).re;
  if ((rid !== undefined && !Number.isSafeInteger(rid)) || (re !== undefined && !Number.isSafeInteger(re))) throw new ConnectionError("frame header has a bad request id");
  return h as Header;
}

