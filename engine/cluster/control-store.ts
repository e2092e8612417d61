// The head's tables: nodes (epoch, state, resources, liveness) and named actors. Only the head writes them.
// Behind an async interface with two implementations, this one in memory and RedisControlStore: each method
// that checks and changes a row does both in one call, so that it is one atomic script in Redis.
import type { NameEntry, NodeInfo } from "./messages.js";
import type { Resources } from "../options.js";
import { LoomError } from "../errors.js";

/** A node's row: what rt.nodes() shows, plus what the head needs to judge it. */
export interface NodeRecord extends NodeInfo {
  /** When the head last heard a beat (ms since the epoch, head clock). */
  lastBeatAt: number;
  /** Why it is dead ("left", "no heartbeat for 2000 ms"); set with state "dead". */
  deathReason?: string;
}

export type { NameEntry };
export type BeatResult = { ok: true; node: NodeRecord } | { ok: false; reason: string };
export type ClaimResult = { ok: true } | { ok: false; holder: NameEntry };

export interface ControlStore {
  /** Adds a row for a node that just registered (its id is new). */
  addNode(node: NodeRecord): Promise<void>;
  getNode(nodeId: string): Promise<NodeRecord | undefined>;
  listNodes(): Promise<NodeRecord[]>;
  /** Records a beat: refused when the node is unknown, dead, or `epoch` is not its current one. */
  beat(nodeId: string, epoch: number, available: Resources, now: number): Promise<BeatResult>;
  /** Alive → dead, epoch bumped; undefined when the node is unknown or already dead (so one death is told once). */
  markDead(nodeId: string, reason: string): Promise<NodeRecord | undefined>;
  /**
   * Claims `name` for `owner`; fails with the holder when someone else holds it. Claiming one's own name again
   * updates its value. Throws when `owner` is a dead node: a claim racing its death must not outlive it.
   */
  claimName(name: string, owner: string, value: unknown): Promise<ClaimResult>;
  /** Releases `name` if `owner` holds it; true when it did. */
  releaseName(name: string, owner: string): Promise<boolean>;
  lookupName(name: string): Promise<NameEntry | undefined>;
  /** Every name held now (a joining process learns them; later claims and releases are broadcast). */
  listNames(): Promise<NameEntry[]>;
  /** Releases every name `owner` holds (its process died); returns them. */
  releaseNamesOf(owner: string): Promise<string[]>;
  close(): Promise<void>;
}

/** The tables in this process's memory: they end with the head. */
export class MemoryControlStore implements ControlStore {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly names = new Map<string, NameEntry>();

  async addNode(node: NodeRecord): Promise<void> {
    if (this.nodes.has(node.nodeId)) throw new Error(`node ${node.nodeId} is already registered`);
    this.nodes.set(node.nodeId, copy(node));
  }

  async getNode(nodeId: string): Promise<NodeRecord | undefined> {
    const n = this.nodes.get(nodeId);
    return n && copy(n);
  }

  async listNodes(): Promise<NodeRecord[]> {
    return [...this.nodes.values()].map(copy);
  }

  async beat(nodeId: string, epoch: number, available: Resources, now: number): Promise<BeatResult> {
    const n = this.nodes.get(nodeId);
    if (!n) return { ok: false, reason: `node ${nodeId} is not known to this head` };
    if (n.state === "dead") return { ok: false, reason: `node ${nodeId} was declared dead (${n.deathReason ?? "unknown"})` };
    if (epoch !== n.epoch) return { ok: false, reason: `node ${nodeId} beat with epoch ${epoch}, the head has ${n.epoch}` };
    n.lastBeatAt = now;
    n.available = { ...available };
    return { ok: true, node: copy(n) };
  }

  async markDead(nodeId: string, reason: string): Promise<NodeRecord | undefined> {
    const n = this.nodes.get(nodeId);
    if (!n || n.state === "dead") return undefined;
    n.state = "dead";
    n.epoch++;
    n.deathReason = reason;
    return copy(n);
  }

  async claimName(name: string, owner: string, value: unknown): Promise<ClaimResult> {
    if (this.nodes.get(owner)?.state === "dead") throw new LoomError(`node ${owner} is dead`);
    const held = this.names.get(name);
    if (held && held.owner !== owner) return { ok: false, holder: { ...held } };
    this.names.set(name, { name, owner, value });
    return { ok: true };
  }

  async releaseName(name: string, owner: string): Promise<boolean> {
    const held = this.names.get(name);
    if (!held || held.owner !== owner) return false;
    this.names.delete(name);
    return true;
  }

  async lookupName(name: string): Promise<NameEntry | undefined> {
    const held = this.names.get(name);
    return held && { ...held };
  }

  async listNames(): Promise<NameEntry[]> {
    return [...this.names.values()].map((entry) => ({ ...entry }));
  }

  async releaseNamesOf(owner: string): Promise<string[]> {
    const released: string[] = [];
    for (const [name, entry] of this.names) if (entry.owner === owner) { this.names.delete(name); released.push(name); }
    return released;
  }

  async close(): Promise<void> {}
}

// Rows leave the store as copies, as they would from Redis: a caller that edits one changes nothing here.
function copy(n: NodeRecord): NodeRecord {
  return { ...n, resources: { ...n.resources }, available: { ...n.available } };
}
