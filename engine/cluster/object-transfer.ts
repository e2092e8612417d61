// Objects between processes: a holder answers `pull` with a chunk of an object's bytes; a puller fetches an
// object from a holder chunk by chunk (PULL_CHUNK_BYTES each, so no frame is big and other messages interleave),
// with the bytes in flight from one process capped. Which objects a process holds, and under what key, is the
// caller's (`RawSource`); the transfer knows only keys and bytes.
import { connect, parseAddress, type BodyTarget, type Connection, type Frame, type Header } from "./wire.js";
import { PULL_CHUNK_BYTES } from "./messages.js";
import type { RawObject, ContainedSource } from "../object-store/raw-object.js";
import { LoomError, ObjectLostError, toWire, fromWire, type WireError } from "../errors.js";

/**
 * Looks an object up by key; undefined when this process does not hold it. A promise when it will have it
 * soon (an object a value names, still being made here: the reader's pull waits for it).
 */
export type RawSource = (key: string) => RawObject | undefined | Promise<RawObject | undefined>;

/** Answers one `pull` frame from `source`. Returns false for any other frame. */
export function answerPull(connection: Connection, frame: Frame, source: RawSource): boolean {
  if (frame.h.t !== "pull") return false;
  const { key, offset, length } = frame.h as Header & { key: unknown; offset: unknown; length: unknown };
  if (typeof key !== "string" || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || (offset as number) < 0 || (length as number) < 0) {
    connection.reply(frame.h, { error: toWire(new LoomError("pull: malformed request")) });
    return true;
  }
  const found = source(key);
  if (found instanceof Promise) {
    found.then((raw) => replyChunk(connection, frame, key, offset as number, length as number, raw),
      (error: Error) => connection.reply(frame.h, { error: toWire(error) }));
  } else {
    replyChunk(connection, frame, key, offset as number, length as number, found);
  }
  return true;
}

function replyChunk(connection: Connection, frame: Frame, key: string, offset: number, length: number, raw: RawObject | undefined): void {
  if (!raw) {
    connection.reply(frame.h, { error: toWire(new ObjectLostError(`object ${key} is not held here`)) });
    return;
  }
  const start = Math.min(offset, raw.bytes.length);
  const end = Math.min(start + Math.min(length, PULL_CHUNK_BYTES), raw.bytes.length);
  // A view of the store: the object is held while it is pulled (a task's argument, a result not released).
  connection.reply(frame.h, { flags: raw.flags, size: raw.bytes.length, hasRefs: raw.hasRefs, contains: start === 0 ? raw.contains : undefined }, raw.bytes.subarray(start, end));
}

/** The `contains` of a pull's reply, checked: a list of { id, key, from }. */
function containedSources(list: unknown, what: string): ContainedSource[] | undefined {
  if (list === undefined) return undefined; // a reader that needs them says so (localizeRefs)
  if (!Array.isArray(list)) throw new LoomError(`${what}: a malformed list of contained objects`);
  return list.map((c: unknown) => {
    const { id, key, from } = (c ?? {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(id) || typeof key !== "string" || typeof from !== "string") throw new LoomError(`${what}: a malformed contained object ${JSON.stringify(c)?.slice(0, 80)}`);
    return { id: id as number, key, from };
  });
}

/**
 * Bytes one puller keeps in flight from one holder at most. Chunks land in their destination as they arrive
 * and the holder writes views of its store, so this bounds what sits in the sockets and the holder's write
 * queue, not memory of the puller's own.
 */
export const MAX_IN_FLIGHT_PER_HOLDER = 4 * PULL_CHUNK_BYTES;

/**
 * Pulls objects from holders, one connection per holder address (opened on first use, reopened after a close).
 * Pulls of one key at a time are shared: two tasks needing the same argument fetch it once.
 */
export class ObjectPuller {
  private readonly connections = new Map<string, Promise<Connection>>();
  /** The connections of `connections` that are open, for callers that need not wait (openConnection). */
  private readonly open = new Map<string, Connection>();
  private readonly inFlight = new Map<string, Promise<RawObject>>();
  private readonly budget = new Map<string, { used: number; waiting: Array<() => void> }>();
  private closed = false;

  constructor(
    private readonly token: string | undefined,
    private readonly onConnection?: (address: string, c: Connection) => void,
    private readonly maxInFlight = MAX_IN_FLIGHT_PER_HOLDER,
  ) {}

  /** The connection to `address` when it is open now, without waiting; undefined otherwise (use connection). */
  openConnection(address: string): Connection | undefined {
    const c = this.closed ? undefined : this.open.get(address);
    return c && !c.closed ? c : undefined;
  }

  /** The connection to `address`, authenticated. */
  connection(address: string): Promise<Connection> {
    if (this.closed) return Promise.reject(new LoomError("the object puller is closed"));
    let c = this.connections.get(address);
    if (!c) {
      const { host, port } = parseAddress(address, "holder address");
      c = connect({ host, port, token: this.token }).then((conn) => {
        conn.onClose(() => {
          if (this.connections.get(address) === c) this.connections.delete(address);
          if (this.open.get(address) === conn) this.open.delete(address);
        });
        if (!conn.closed) this.open.set(address, conn);
        this.onConnection?.(address, conn);
        return conn;
      });
      c.catch(() => { if (this.connections.get(address) === c) this.connections.delete(address); });
      this.connections.set(address, c);
    }
    return c;
  }

  /**
   * The whole object `key` from the process at `address`, into memory `into` gives for its size (default: a
   * fresh array). Callers that share a pull get the same bytes.
   */
  pull(address: string, key: string, into?: (size: number) => Uint8Array): Promise<RawObject> {
    const shared = `${address} ${key}`;
    let p = this.inFlight.get(shared);
    if (!p) {
      p = this.pullNow(address, key, into).finally(() => this.inFlight.delete(shared));
      this.inFlight.set(shared, p);
    }
    return p;
  }

  /**
   * The first chunk tells the size; the others are asked for together, as many as the holder's byte budget
   * lets be in flight. Each chunk's body is copied from the socket straight into its place in `bytes` as it
   * arrives (Connection.request's `into`): no buffer per chunk, one copy per byte.
   */
  private async pullNow(address: string, key: string, into?: (size: number) => Uint8Array): Promise<RawObject> {
    const c = await this.connection(address);
    let bytes: Uint8Array | undefined;
    const allocate = (size: number) => (bytes = into ? into(size) : new Uint8Array(size));
    /** Where the body of the chunk at `offset` goes; undefined (the reader's own buffer) for a reply that is not one. */
    const placeOf = (offset: number): BodyTarget => (h, length) => {
      if (h.error !== undefined) return undefined;
      if (!bytes && offset === 0 && Number.isSafeInteger(h.size) && (h.size as number) >= 0) allocate(h.size as number);
      return bytes && offset + length <= bytes.length ? bytes.subarray(offset, offset + length) : undefined;
    };
    const first = await this.chunk(c, address, key, 0, PULL_CHUNK_BYTES, placeOf(0));
    const size = first.h.size as number;
    if (!Number.isSafeInteger(size) || size < 0) throw new LoomError(`pull ${key} from ${address}: bad size ${String(size)}`);
    const flags = first.h.flags as number, hasRefs = first.h.hasRefs === true;
    const contains = hasRefs ? containedSources(first.h.contains, `pull ${key} from ${address}`) : undefined;
    const all = bytes ?? allocate(size);
    if (all.length !== size) throw new LoomError(`pull ${key} from ${address}: a destination of ${all.length} bytes for ${size}`);
    const place = (offset: number, body: Uint8Array, length: number) => {
      if (body.length !== length) throw new LoomError(`pull ${key} from ${address}: ${body.length} bytes at offset ${offset}, expected ${length}`);
      // Already in place unless the reader had to buffer it (a reply it could not place).
      if (body.buffer !== all.buffer || body.byteOffset !== all.byteOffset + offset) all.set(body, offset);
    };
    place(0, first.body, Math.min(size, PULL_CHUNK_BYTES));
    const rest: Promise<void>[] = [];
    for (let offset = PULL_CHUNK_BYTES; offset < size; offset += PULL_CHUNK_BYTES) {
      const length = Math.min(PULL_CHUNK_BYTES, size - offset);
      rest.push(this.chunk(c, address, key, offset, length, placeOf(offset)).then((reply) => place(offset, reply.body, length)));
    }
    await Promise.all(rest);
    return { flags, bytes: all, hasRefs, contains };
  }

  /** One chunk, within the holder's byte budget; its error reply is thrown. */
  private async chunk(c: Connection, address: string, key: string, offset: number, length: number, into: BodyTarget): Promise<Frame> {
    await this.acquire(address, length);
    let reply: Frame;
    try {
      reply = await c.request({ t: "pull", key, offset, length }, undefined, undefined, into);
    } finally {
      this.releaseBudget(address, length);
    }
    if (reply.h.error) throw fromWire(reply.h.error as WireError);
    return reply;
  }

  private acquire(address: string, bytes: number): Promise<void> {
    let b = this.budget.get(address);
    if (!b) this.budget.set(address, b = { used: 0, waiting: [] });
    if (b.used === 0 || b.used + bytes <= this.maxInFlight) { b.used += bytes; return Promise.resolve(); }
    return new Promise((resolve) => b!.waiting.push(() => { b!.used += bytes; resolve(); }));
  }

  private releaseBudget(address: string, bytes: number): void {
    const b = this.budget.get(address)!;
    b.used -= bytes;
    while (b.waiting.length && (b.used === 0 || b.used < this.maxInFlight)) b.waiting.shift()!();
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    this.open.clear();
    for (const c of all) c.then((conn) => conn.close(), () => {});
  }
}
