// A node's or driver's line to the head: it registers, beats every nodeTimeoutMs / 5, asks for the node table and
// for actor names, and relays the head's news (joins, deaths, its own refusal). A dropped connection is retried
// until the head refuses us or we close; requests made meanwhile wait for it. It runs no policy of its own.
import { EventEmitter } from "eventemitter3";
import { connect, parseAddress, WireError, type Connection, type Frame, type Header } from "./wire.js";
import type { NameEntry, NodeDied, NodeInfo, NodeLoad, RegisterRequest, RegisterReply } from "./messages.js";
import type { Resources } from "../options.js";
import { LoomError, fromWire } from "../errors.js";
import type { WireError as WireErrorShape } from "../errors.js";

/** The head will not have us: this process was declared dead (or never known). It must stop. */
export class NodeRefusedError extends LoomError {
  override name = "NodeRefusedError";
  override readonly code = "ERR_NODE_REFUSED";
}

export interface HeadClientOptions {
  /** The head's host:port. */
  address: string;
  token?: string;
  info: Omit<RegisterRequest, "t" | "nodeId" | "epoch">;
  /** Resources not in use, sent with each beat (default: all of `info.resources`). */
  available?: () => Resources;
  /** What the node runs, sent with each beat (counts only); a driver sends none. */
  load?: () => NodeLoad;
  /** How long connect() keeps trying to reach the head (default 10 s). */
  connectForMs?: number;
  /** How long a request waits for its reply, including waiting for a dropped connection to come back (default 10 s). */
  requestTimeoutMs?: number;
}

export interface HeadClientEvents {
  "node-added": (node: NodeInfo) => void;
  "node-died": (death: NodeDied) => void;
  /** A node drains (a graceful stop): it takes no new work, and leaves once its owners took back their results. */
  "node-draining": (nodeId: string) => void;
  /** The head declared this process dead, or refused it on reconnecting; nothing more will be sent. */
  refused: (reason: string) => void;
  /** The connection dropped; the client is reconnecting. */
  disconnected: (why: string) => void;
  reconnected: () => void;
  /** A name was claimed (its entry) or released (undefined), as the head told it. */
  "name-changed": (name: string, entry: NameEntry | undefined) => void;
}

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 1_000;

export class HeadClient extends EventEmitter<HeadClientEvents> {
  nodeId = "";
  epoch = 0;
  nodeTimeoutMs = 0;
  /** The node table as the head sent it on registering. */
  initialNodes: NodeInfo[] = [];
  /**
   * The cluster's actor names as the head told them: the table at registering, then each claim and release
   * (a dead owner's names go with its death). getActor reads it without asking the head.
   */
  readonly names = new Map<string, NameEntry>();
  /**
   * Each node's state as the events told it: compared with the table the head sends when we reconnect, so that
   * joins and deaths we missed while away (a restarted head declares dead the nodes that did not come back)
   * are told late rather than never.
   */
  private readonly told = new Map<string, NodeInfo["state"]>();
  /** Undefined while reconnecting. */
  private connection: Connection | undefined;
  private readonly waitingForConnection = new Set<() => void>();
  private beatTimer: NodeJS.Timeout | undefined;
  /** Set by close(), leaving() or a refusal: the client sends nothing more and does not reconnect. */
  private stopped = false;
  private refusedReason: string | undefined;
  private readonly host: string;
  private readonly port: number;

  private constructor(private readonly options: HeadClientOptions) {
    super();
    ({ host: this.host, port: this.port } = parseAddress(options.address, "the head's address"));
  }

  /** Connects (retrying with backoff for up to `connectForMs`), registers, and starts beating. */
  static async connect(options: HeadClientOptions): Promise<HeadClient> {
    const client = new HeadClient(options);
    const deadline = Date.now() + (options.connectForMs ?? 10_000);
    let delay = FIRST_RETRY_MS;
    for (;;) {
      try {
        await client.attach();
        break;
      } catch (e) {
        // An unreachable head may come up; a refusal, a wrong token or an error the head answered will not change.
        const retryable = e instanceof WireError && !/token/.test(e.message);
        if (!retryable || Date.now() + delay > deadline) {
          client.stopped = true;
          throw e instanceof LoomError ? e : new LoomError(`could not register with the head at ${options.address}: ${(e as Error).message}`, { cause: e });
        }
        await sleep(delay);
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    }
    client.beatTimer = setInterval(() => client.beat(), Math.max(1, Math.floor(client.nodeTimeoutMs / 5)));
    // The beat alone must not keep a driver's process alive; the node service's sockets keep a node's.
    client.beatTimer.unref();
    return client;
  }

  /** Every node the head knows, dead ones and this process included. */
  async nodes(): Promise<NodeInfo[]> {
    return (await this.request({ t: "nodes" })).nodes as NodeInfo[];
  }

  /** Claims an actor name for this process; `{ ok: false, holder }` when another process holds it. */
  async claimName(name: string, value: unknown): Promise<{ ok: true } | { ok: false; holder: NameEntry }> {
    const r = await this.request({ t: "claim-name", name, value });
    return r.ok === true ? { ok: true } : { ok: false, holder: r.holder as NameEntry };
  }

  async lookupName(name: string): Promise<NameEntry | undefined> {
    return (await this.request({ t: "lookup-name", name })).entry as NameEntry | undefined;
  }

  async releaseName(name: string): Promise<boolean> {
    return (await this.request({ t: "release-name", name })).released === true;
  }

  /** Tells the head, and through it everyone, that this node drains (see NodeDraining). */
  async draining(): Promise<void> {
    await this.request({ t: "draining", nodeId: this.nodeId });
  }

  /** Tells the head this process leaves on purpose (it is marked dead, reason "left"), then stops beating. */
  async leaving(): Promise<void> {
    await this.request({ t: "leaving", nodeId: this.nodeId });
    this.stop();
  }

  /** Stops beating and closes the connection; the head declares us dead after nodeTimeoutMs unless we left. */
  close(): void {
    this.stop();
  }

  get refused(): string | undefined {
    return this.refusedReason;
  }

  // ---- the connection ----

  /** Connects and registers (or re-registers under our id); throws NodeRefusedError when the head says no. */
  private async attach(): Promise<void> {
    const c = await connect({ host: this.host, port: this.port, token: this.options.token });
    if (this.stopped) { c.close(); return; }
    c.onFrame = (f) => this.onFrame(f);
    let reply: Frame;
    try {
      const again = this.nodeId !== "" ? { nodeId: this.nodeId, epoch: this.epoch } : {};
      reply = await c.request({ t: "register", ...this.options.info, ...again }, undefined, this.options.requestTimeoutMs ?? 10_000);
    } catch (e) {
      c.close();
      throw e;
    }
    const r = reply.h as Header & RegisterReply & { error?: WireErrorShape };
    if (r.error) { c.close(); throw fromWire(r.error); }
    if ("refused" in r) { c.close(); throw new NodeRefusedError(`the head at ${this.options.address} refused this process: ${r.refused}`); }
    if (this.stopped) { c.close(); return; }
    const returning = this.nodeId !== "";
    this.nodeId = r.nodeId;
    this.epoch = r.epoch;
    this.nodeTimeoutMs = r.nodeTimeoutMs;
    this.initialNodes = r.nodes;
    this.setNames(Array.isArray(r.names) ? r.names : []);
    this.connection = c;
    c.onClose((why) => this.onDisconnect(c, why));
    if (returning) this.catchUp(r.nodes);
    else for (const n of r.nodes) this.told.set(n.nodeId, n.state);
    for (const wake of [...this.waitingForConnection]) wake();
  }

  /** Back after a dropped connection: the joins and deaths that happened meanwhile, as events. */
  private catchUp(nodes: NodeInfo[]): void {
    for (const n of nodes) {
      if (n.nodeId === this.nodeId) continue;
      const before = this.told.get(n.nodeId);
      if (n.state === "alive" && before === undefined) this.added(n);
      else if (n.state === "dead" && before !== "dead") this.died(n.nodeId, n.epoch, "declared dead while this process was away from the head");
    }
  }

  private onFrame(f: Frame): void {
    const h = f.h;
    if (h.t === "node-added") this.added(h.node as NodeInfo);
    else if (h.t === "name-claimed") this.nameChanged(String((h.entry as NameEntry).name), h.entry as NameEntry);
    else if (h.t === "name-released") { if (this.names.get(String(h.name))?.owner === h.owner) this.nameChanged(String(h.name), undefined); }
    else if (h.t === "node-died") this.died(String(h.nodeId), Number(h.epoch), String(h.reason));
    else if (h.t === "refused") this.refuse(String(h.reason));
    else if (h.t === "node-draining" && typeof h.nodeId === "string") this.emit("node-draining", h.nodeId);
  }

  private added(node: NodeInfo): void {
    if (this.told.has(node.nodeId)) return;
    this.told.set(node.nodeId, "alive");
    this.emit("node-added", node);
  }

  /** The table the head sent (on registering again, it replaces what we knew: news missed meanwhile included). */
  private setNames(entries: NameEntry[]): void {
    const fresh = new Map(entries.map((e) => [e.name, e]));
    for (const name of [...this.names.keys()]) if (!fresh.has(name)) this.nameChanged(name, undefined);
    for (const [name, entry] of fresh) this.nameChanged(name, entry);
  }

  private nameChanged(name: string, entry: NameEntry | undefined): void {
    if (entry) this.names.set(name, entry); else if (!this.names.delete(name)) return;
    this.emit("name-changed", name, entry);
  }

  private died(nodeId: string, epoch: number, reason: string): void {
    if (this.told.get(nodeId) === "dead") return;
    this.told.set(nodeId, "dead");
    // The head releases a dead process's names: so do we.
    for (const [name, entry] of [...this.names]) if (entry.owner === nodeId) this.nameChanged(name, undefined);
    this.emit("node-died", { t: "node-died", nodeId, epoch, reason });
  }

  private refuse(reason: string): void {
    if (this.refusedReason !== undefined) return;
    this.refusedReason = reason;
    this.stop();
    this.emit("refused", reason);
  }

  /** The connection dropped: retry until the head takes us back, refuses us, or we stop. */
  private async onDisconnect(c: Connection, why: string): Promise<void> {
    if (this.connection !== c) return;
    this.connection = undefined;
    if (this.stopped) return;
    this.emit("disconnected", why);
    // Tries come at least four times per nodeTimeoutMs: a restarted head gives us one period to come back.
    const maxDelay = Math.max(FIRST_RETRY_MS, Math.min(MAX_RETRY_MS, Math.floor(this.nodeTimeoutMs / 4)));
    let delay = FIRST_RETRY_MS;
    while (!this.stopped) {
      await sleep(delay);
      if (this.stopped) return;
      try {
        await this.attach();
        if (this.connection) { this.emit("reconnected"); return; }
      } catch (e) {
        if (e instanceof NodeRefusedError) { this.refuse(e.message); return; }
      }
      delay = Math.min(delay * 2, maxDelay);
    }
  }

  private beat(): void {
    if (this.stopped || !this.connection) return;
    const available = this.options.available?.() ?? this.options.info.resources;
    this.connection.send({ t: "heartbeat", nodeId: this.nodeId, epoch: this.epoch, available, load: this.options.load?.() });
  }

  private stop(): void {
    this.stopped = true;
    if (this.beatTimer) clearInterval(this.beatTimer);
    this.beatTimer = undefined;
    this.connection?.close();
    this.connection = undefined;
    for (const wake of [...this.waitingForConnection]) wake();
  }

  /** A request to the head, waiting for a dropped connection to come back; rejects with the head's error. */
  private async request(h: Header): Promise<Header> {
    const timeoutMs = this.options.requestTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (!this.connection) {
        if (this.stopped) throw new LoomError(`the connection to the head at ${this.options.address} is closed${this.refusedReason ? ` (${this.refusedReason})` : ""}`);
        if (Date.now() >= deadline) throw new LoomError(`the head at ${this.options.address} has been unreachable for ${timeoutMs} ms (${h.t})`);
        await new Promise<void>((resolve) => {
          const wake = () => { clearTimeout(timer); this.waitingForConnection.delete(wake); resolve(); };
          const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
          this.waitingForConnection.add(wake);
        });
      }
      const c = this.connection;
      let reply: Header;
      try {
        reply = (await c.request(h, undefined, Math.max(1, deadline - Date.now()))).h;
      } catch (e) {
        // The connection dropped under the request: asked again once it is back (every head request may be repeated).
        if (e instanceof WireError && c.closed && !this.stopped && Date.now() < deadline) continue;
        throw new LoomError(`the head at ${this.options.address} did not answer ${h.t}: ${(e as Error).message}`, { cause: e });
      }
      if (reply.error) throw fromWire(reply.error as WireErrorShape);
      return reply;
    }
  }
}

/** The node table, asked by a process that does not join the cluster (`loom status`). */
export async function fetchNodes(options: { address: string; token?: string; timeoutMs?: number }): Promise<NodeInfo[]> {
  const { host, port } = parseAddress(options.address, "the head's address");
  const c = await connect({ host, port, token: options.token, timeoutMs: options.timeoutMs });
  try {
    const reply = (await c.request({ t: "nodes" }, undefined, options.timeoutMs ?? 10_000)).h;
    if (reply.error) throw fromWire(reply.error as WireErrorShape);
    return reply.nodes as NodeInfo[];
  } finally {
    c.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
