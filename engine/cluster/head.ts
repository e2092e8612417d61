// The head: the cluster's control plane. It registers nodes and drivers, hears their heartbeats, declares the
// silent ones dead and tells everyone, and holds the named-actor table. Tables live in a ControlStore; this
// file owns only the connections and the liveness clock. No task, call or object ever passes through here.
import { randomBytes } from "node:crypto";
import { listen, type Connection, type Frame, type Header, type WireServer } from "./wire.js";
import { MemoryControlStore, type ControlStore, type NodeRecord } from "./control-store.js";
import type { NodeInfo, NodeLoad, RegisterRequest, RegisterReply } from "./messages.js";
import { LoomError, toWire } from "../errors.js";
import { checkResources } from "../options.js";
import { merged } from "../merged.js";

export const DEFAULT_NODE_TIMEOUT_MS = 10_000;

export interface HeadOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  token?: string;
  /** A node silent this long is dead (default 10 s). */
  nodeTimeoutMs?: number;
  /** The tables (default: in memory). A given store is left open at close. */
  store?: ControlStore;
  /** Where the head says what it did (joins, deaths, refusals); default: nowhere. */
  log?: (line: string) => void;
}

export interface Head {
  /** host:port as given to listen (a wildcard host stays a wildcard). */
  readonly address: string;
  readonly port: number;
  readonly store: ControlStore;
  close(): Promise<void>;
}

/** Starts a head listening on host:port; resolves once it accepts connections. */
export async function startHead(options: HeadOptions): Promise<Head> {
  const nodeTimeoutMs = options.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;
  if (!Number.isFinite(nodeTimeoutMs) || nodeTimeoutMs < 10) throw new LoomError(`head: nodeTimeoutMs must be a number >= 10, got ${String(options.nodeTimeoutMs)}`);
  const head = new HeadServer(options.store ?? new MemoryControlStore(), nodeTimeoutMs, options.log ?? (() => {}));
  // A store that outlived a head (Redis) may hold live nodes: each gets a full period from now to reconnect.
  const alive = (await head.store.listNodes()).filter((n) => n.state === "alive");
  if (alive.length > 0) head.log(`taking over ${alive.length} live node${alive.length === 1 ? "" : "s"} from the control store; each has ${nodeTimeoutMs} ms to reconnect`);
  const server = await listen({ host: options.host, port: options.port, token: options.token }, (c) => head.accept(c), (why) => head.log(`refused a connection: ${why}`));
  head.start();
  return {
    address: `${options.host.includes(":") ? `[${options.host}]` : options.host}:${server.port}`,
    port: server.port,
    store: head.store,
    close: async () => {
      head.stop();
      await server.close();
      if (!options.store) await head.store.close();
    },
  };
}

/** What rt.nodes() shows of a row (the liveness fields stay at the head). */
export function publicInfo(n: NodeRecord): NodeInfo {
  return {
    nodeId: n.nodeId, address: n.address, state: n.state, isHead: n.isHead, isDriver: n.isDriver,
    workers: n.workers, resources: n.resources, available: n.available, epoch: n.epoch, pid: n.pid,
  };
}

class HeadServer {
  /** The node each connection registered, once it has; a connection carries at most one. */
  private readonly nodeOf = new Map<Connection, string>();
  /** The connection each live node registered on (the latest, when it reconnected). */
  private readonly connectionOf = new Map<string, Connection>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  /**
   * Liveness is counted from the later of a node's last beat and this time: the head's start (a head that
   * takes over tables it did not watch, a restart over Redis, gives every node a full period to reach it),
   * moved forward when the head itself stalled, or its store did (see checkLiveness).
   */
  private watchingSince = Date.now();
  private lastCheckAt = Date.now();

  private readonly checkEveryMs: number;
  /** Each live node's load as its last beat said: in memory only (a few numbers, renewed every beat). */
  private readonly loadOf = new Map<string, NodeLoad>();

  constructor(readonly store: ControlStore, private readonly nodeTimeoutMs: number, readonly log: (line: string) => void) {
    this.checkEveryMs = Math.max(5, Math.floor(nodeTimeoutMs / 10));
  }

  start(): void {
    // Deaths are found by polling rather than a timer per node: ten checks per period bound the lateness to
    // a tenth of it. A closed connection is only a hint (the node may reconnect), so it triggers nothing.
    this.lastCheckAt = Date.now();
    this.timer = setInterval(() => void this.checkLiveness(), this.checkEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  accept(c: Connection): void {
    c.onFrame = (f) => void this.handle(f, c).catch((e: unknown) => {
      this.log(`error handling ${f.h.t}: ${(e as Error).stack ?? String(e)}`);
      c.reply(f.h, { error: toWire(e) });
    });
    c.onClose(() => {
      const nodeId = this.nodeOf.get(c);
      this.nodeOf.delete(c);
      if (nodeId !== undefined && this.connectionOf.get(nodeId) === c) this.connectionOf.delete(nodeId);
    });
  }

  private async handle(f: Frame, c: Connection): Promise<void> {
    const h = f.h;
    switch (h.t) {
      case "register": return this.register(h, c);
      case "heartbeat": return this.heartbeat(h, c);
      case "nodes": return c.reply(h, { nodes: (await this.store.listNodes()).map((n) => this.withLoad(publicInfo(n))) });
      case "leaving": return this.leaving(h, c);
      case "draining": return this.draining(h, c);
      case "claim-name": {
        const owner = await this.liveNodeOf(c);
        const name = checkName(h.name);
        const result = await this.store.claimName(name, owner, h.value);
        c.reply(h, result);
        // Everyone keeps the table of names, so that getActor answers at once (a lookup without a round trip).
        if (result.ok) this.broadcast({ t: "name-claimed", entry: { name, owner, value: h.value } });
        return;
      }
      case "release-name": {
        const owner = await this.liveNodeOf(c);
        const name = checkName(h.name);
        const released = await this.store.releaseName(name, owner);
        c.reply(h, { released });
        if (released) this.broadcast({ t: "name-released", name, owner });
        return;
      }
      case "lookup-name": {
        const entry = await this.store.lookupName(checkName(h.name));
        return c.reply(h, entry ? { entry } : {});
      }
      default:
        throw new LoomError(`the head does not know the message ${JSON.stringify(h.t).slice(0, 60)}`);
    }
  }

  /**
   * A node or driver joins (or takes its row back after its connection dropped):
   * 1. a new process gets a fresh id, epoch 1, and its row; everyone else hears node-added;
   * 2. a known live id with its current epoch is re-attached to this connection;
   * 3. an unknown or dead id, or an old epoch, is refused: a node the cluster buried stays buried.
   */
  private async register(h: Header, c: Connection): Promise<void> {
    if (this.nodeOf.has(c)) throw new LoomError("this connection has already registered a node");
    const r = checkRegister(h);
    if (r.nodeId !== undefined) {
      const known = await this.store.getNode(r.nodeId);
      const reason = !known ? `node ${r.nodeId} is not known to this head`
        : known.state === "dead" ? `node ${r.nodeId} was declared dead (${known.deathReason ?? "unknown"}); a restarted process joins as a new node`
        : known.epoch !== r.epoch ? `node ${r.nodeId} registered with epoch ${String(r.epoch)}, the head has ${known.epoch}`
        : undefined;
      if (reason !== undefined) return this.refuse(c, h, reason);
      const beat = await this.store.beat(r.nodeId, known!.epoch, known!.available, Date.now());
      if (!beat.ok) return this.refuse(c, h, beat.reason);
      this.bind(c, r.nodeId);
      this.log(`node ${r.nodeId} reconnected from ${c.peer}`);
      return c.reply(h, await this.welcome(beat.node));
    }
    const nodeId = randomBytes(8).toString("hex");
    const resources = { ...r.resources };
    const row: NodeRecord = {
      nodeId, address: r.address, state: "alive", isHead: r.isHead === true, isDriver: r.isDriver,
      workers: r.workers, resources, available: { ...resources }, epoch: 1, pid: r.pid, lastBeatAt: Date.now(),
    };
    await this.store.addNode(row);
    if (c.closed) {
      // It gave up waiting (a slow store) and will register again under a new id: this row would be a ghost.
      await this.store.markDead(nodeId, "its connection closed before its registration completed");
      return;
    }
    this.bind(c, nodeId);
    this.log(`${row.isDriver ? "driver" : "node"} ${nodeId} joined from ${c.peer} (${row.address}, ${row.workers} workers)`);
    c.reply(h, await this.welcome(row));
    this.broadcast({ t: "node-added", node: publicInfo(row) }, c);
  }

  private async welcome(row: NodeRecord): Promise<RegisterReply> {
    const [nodes, names] = await Promise.all([this.store.listNodes(), this.store.listNames()]);
    return { nodeId: row.nodeId, epoch: row.epoch, nodeTimeoutMs: this.nodeTimeoutMs, nodes: nodes.map(publicInfo), names };
  }

  private bind(c: Connection, nodeId: string): void {
    const old = this.connectionOf.get(nodeId);
    // The node's previous connection is stale (it would not have reconnected otherwise); two would split its messages.
    if (old && old !== c) { this.nodeOf.delete(old); old.close(); }
    this.nodeOf.set(c, nodeId);
    this.connectionOf.set(nodeId, c);
  }

  private refuse(c: Connection, h: Header, reason: string): void {
    this.log(`refused ${c.peer}: ${reason}`);
    c.reply(h, { refused: reason } satisfies RegisterReply);
    c.end();
  }

  private async heartbeat(h: Header, c: Connection): Promise<void> {
    if (typeof h.nodeId !== "string" || typeof h.epoch !== "number") throw new LoomError("heartbeat: expected nodeId and epoch");
    const available = checkResources("heartbeat.available", h.available ?? {});
    let load: NodeLoad | undefined;
    try {
      load = h.load === undefined ? undefined : checkLoad(h.load);
    } catch (e) {
      // Optional news: a malformed one is said and dropped, and the beat still counts (liveness is what matters).
      this.log(`heartbeat from ${h.nodeId}: ${(e as Error).message}; its load is not recorded`);
    }
    const result = await this.store.beat(h.nodeId, h.epoch, available, Date.now());
    if (result.ok) {
      if (load) this.loadOf.set(h.nodeId, load);
      return;
    }
    // Its process still runs but the cluster has buried it: it must stop (its work was rescheduled elsewhere).
    this.log(`refused a beat from ${h.nodeId}: ${result.reason}`);
    c.send({ t: "refused", reason: result.reason });
    c.end();
  }

  /** A node drains: everyone hears it (not kept in the tables: the node leaves, or dies, soon after). */
  private draining(h: Header, c: Connection): void {
    const nodeId = this.nodeOf.get(c);
    if (nodeId === undefined || nodeId !== h.nodeId) throw new LoomError("draining: only a node can say it drains, on its own connection");
    this.log(`node ${nodeId} is draining`);
    this.broadcast({ t: "node-draining", nodeId }, c);
    c.reply(h, {});
  }

  private async leaving(h: Header, c: Connection): Promise<void> {
    const nodeId = this.nodeOf.get(c);
    if (nodeId === undefined || nodeId !== h.nodeId) throw new LoomError("leaving: only a node can say it leaves, on its own connection");
    // Unbound first: the departing node gets its reply, not the refusal a death sends.
    this.nodeOf.delete(c);
    this.connectionOf.delete(nodeId);
    await this.declareDead(nodeId, "left");
    c.reply(h, {});
  }

  /** The live node registered on `c`, for requests only a member may make. */
  private async liveNodeOf(c: Connection): Promise<string> {
    const nodeId = this.nodeOf.get(c);
    if (nodeId === undefined) throw new LoomError("register with the head before claiming or releasing names");
    const row = await this.store.getNode(nodeId);
    if (!row || row.state !== "alive") throw new LoomError(`node ${nodeId} is dead`);
    return nodeId;
  }

  private async checkLiveness(): Promise<void> {
    if (this.checking) return; // a slow store: the next tick checks again
    this.checking = true;
    try {
      const now = Date.now();
      // After a stall of this process (a long GC, a suspended VM), timers run before the beats that queued up
      // in the sockets are read: everyone would look silent. A check that comes late by more than a quarter
      // period blames the head, and gives every node a new period from now.
      const late = now - this.lastCheckAt - this.checkEveryMs;
      if (late > this.nodeTimeoutMs / 4) {
        this.log(`the head stalled for ${late} ms; counting liveness afresh from now`);
        this.watchingSince = now;
      }
      const nodes = await this.store.listNodes();
      // A store that was away (Redis restarting) held back the beats that came meanwhile; they are written as
      // it comes back, in any order with this read. A read that took more than a quarter period blames the
      // store, like a stall of our own.
      const readMs = Date.now() - now;
      if (readMs > this.nodeTimeoutMs / 4) {
        this.log(`the control store took ${readMs} ms to answer; counting liveness afresh from now`);
        this.watchingSince = Date.now();
        return;
      }
      for (const n of nodes) {
        if (n.state !== "alive") continue;
        const silentMs = now - Math.max(n.lastBeatAt, this.watchingSince);
        if (silentMs > this.nodeTimeoutMs) await this.declareDead(n.nodeId, `no heartbeat for ${silentMs} ms (nodeTimeoutMs ${this.nodeTimeoutMs})`);
      }
    } catch (e) {
      this.log(`liveness check failed: ${(e as Error).message}`);
    } finally {
      // From the end of a check: a slow store delays the next tick without making the head look stalled.
      this.lastCheckAt = Date.now();
      this.checking = false;
    }
  }

  /**
   * A node is dead:
   * 1. its row turns dead with a new epoch (once: a second declaration finds it dead and stops here);
   * 2. everyone hears node-died, so owners reschedule its tasks and actors;
   * 3. the names it claimed are released (a driver's death ends its job, and its named actors with it);
   * 4. if it is still connected, it is told it was refused, and disconnected.
   */
  private async declareDead(nodeId: string, reason: string): Promise<void> {
    const row = await this.store.markDead(nodeId, reason);
    this.loadOf.delete(nodeId);
    if (!row) return;
    this.log(`${row.isDriver ? "driver" : "node"} ${nodeId} is dead: ${reason}`);
    const c = this.connectionOf.get(nodeId);
    if (c) { this.connectionOf.delete(nodeId); this.nodeOf.delete(c); }
    this.broadcast({ t: "node-died", nodeId, epoch: row.epoch, reason });
    const names = await this.store.releaseNamesOf(nodeId);
    if (names.length) this.log(`released the names of ${nodeId}: ${names.join(", ")}`);
    if (c) { c.send({ t: "refused", reason: `declared dead: ${reason}` }); c.end(); }
  }

  /** A row as `nodes` answers it: with the node's last reported load while it lives. */
  private withLoad(n: NodeInfo): NodeInfo {
    const load = n.state === "alive" ? this.loadOf.get(n.nodeId) : undefined;
    return load ? merged(n, { load }) : n;
  }

  private broadcast(h: Header, except?: Connection): void {
    for (const c of this.nodeOf.keys()) if (c !== except) c.send(h);
  }
}

function checkName(name: unknown): string {
  if (typeof name !== "string" || name === "" || name.length > 1024) throw new LoomError(`an actor name must be a non-empty string of at most 1024 characters, got ${JSON.stringify(name)?.slice(0, 60)}`);
  return name;
}

/** A heartbeat's load: three counts, each a non-negative integer. */
function checkLoad(v: unknown): NodeLoad {
  const o = v as Record<string, unknown>;
  const count = (k: string): number => {
    const n = o?.[k];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new LoomError(`heartbeat.load.${k} must be an integer >= 0, got ${JSON.stringify(n)?.slice(0, 40)}`);
    return n;
  };
  if (typeof v !== "object" || v === null) throw new LoomError("heartbeat.load must be { queued, running, actors }");
  return { queued: count("queued"), running: count("running"), actors: count("actors") };
}

function checkRegister(h: Header): RegisterRequest {
  const fail = (what: string) => { throw new LoomError(`register: ${what}`); };
  if (typeof h.address !== "string" || h.address.length > 300) fail("address must be a host:port string");
  if (!Number.isInteger(h.workers) || (h.workers as number) < 0) fail("workers must be an integer >= 0");
  if (typeof h.isDriver !== "boolean") fail("isDriver must be a boolean");
  if (h.isHead !== undefined && typeof h.isHead !== "boolean") fail("isHead must be a boolean");
  if (!Number.isSafeInteger(h.pid)) fail("pid must be an integer");
  if (h.nodeId !== undefined && (typeof h.nodeId !== "string" || !/^[0-9a-f]{16}$/.test(h.nodeId))) fail("nodeId must be 16 hex digits");
  if (h.nodeId !== undefined && !Number.isSafeInteger(h.epoch)) fail("a returning node must give its epoch");
  return { ...(h as unknown as RegisterRequest), resources: checkResources("register.resources", h.resources ?? {}) };
}
