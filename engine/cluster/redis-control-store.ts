// The head's tables in Redis (`loom start --head --redis URL`), so that a restarted head takes the cluster back.
// Every check-and-change is one Lua script (atomic on the server); every call is retried through Redis's own
// restarts. It owns the Redis connection and the key layout; the liveness clock stays with the head.
//
// Keys (all under one hash tag, so that on Redis Cluster they share a slot and every script stays legal):
//
//   {P}:schema        string   "1"                                    the layout's version, refused if different
//   {P}:nodes         hash     nodeId → JSON { address, isHead, isDriver, workers, resources, pid }  (never changes)
//   {P}:epochs        hash     nodeId → epoch (integer, bumped by a death)
//   {P}:beats         hash     nodeId → lastBeatAt (ms, the head's clock)
//   {P}:available     hash     nodeId → JSON resources free at the last beat
//   {P}:deaths        hash     nodeId → why it died        (present ⇔ the node is dead)
//   {P}:death-tokens  hash     nodeId → the token of the markDead call that killed it (a retry of that call is told again)
//   {P}:name-owners   hash     actor name → owner nodeId
//   {P}:name-values   hash     actor name → JSON { v: value }
//
// P is the prefix (default "loom"): two clusters share a Redis by giving their heads different prefixes.
import { createHash, randomBytes } from "node:crypto";
import { createClient, ErrorReply } from "@redis/client";
import { LoomError } from "../errors.js";
import type { Resources } from "../options.js";
import type { BeatResult, ClaimResult, ControlStore, NameEntry, NodeRecord } from "./control-store.js";

export interface RedisControlStoreOptions {
  /** redis://[user:password@]host:port[/db] */
  url: string;
  /** Keys live under the hash tag `{prefix}` (default "loom"). */
  prefix?: string;
  /** How long open() keeps trying to reach Redis (default 10 s). */
  connectForMs?: number;
  /** Where the store says that Redis went away and came back; default: nowhere. */
  log?: (line: string) => void;
}

const SCHEMA = "1";
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 1_000;
/** Replies that say "not now" rather than "no": Redis is loading its AOF, a script runs, a failover is under way. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/;

// The order of KEYS every script gets (unused ones cost nothing, and one list keeps the scripts readable).
const TABLES = ["nodes", "epochs", "beats", "available", "deaths", "death-tokens", "name-owners", "name-values"] as const;
const LUA_KEYS = `local nodes, epochs, beats, available, deaths, tokens, owners, values = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]\n`;
/** A node's row as the scripts return it: { info, epoch, lastBeatAt, available, deathReason or false }. */
const LUA_ROW = `local function row(id)
  return { redis.call('HGET', nodes, id), redis.call('HGET', epochs, id), redis.call('HGET', beats, id), redis.call('HGET', available, id), redis.call('HGET', deaths, id) }
end\n`;

const SCRIPTS = {
  /** ARGV: id, info, epoch, now, available, deathReason or "". → 1 added, 0 the id exists. */
  add: `if redis.call('HEXISTS', nodes, ARGV[1]) == 1 then return 0 end
redis.call('HSET', nodes, ARGV[1], ARGV[2])
redis.call('HSET', epochs, ARGV[1], ARGV[3])
redis.call('HSET', beats, ARGV[1], ARGV[4])
redis.call('HSET', available, ARGV[1], ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', deaths, ARGV[1], ARGV[6]) end
return 1`,
  /** ARGV: id. → row, or nil. */
  get: `if redis.call('HEXISTS', nodes, ARGV[1]) == 0 then return false end
return row(ARGV[1])`,
  /** → { id, row, id, row, ... }, one consistent snapshot. */
  list: `local out = {}
local ids = redis.call('HKEYS', nodes)
for _, id in ipairs(ids) do out[#out + 1] = id; out[#out + 1] = row(id) end
return out`,
  /**
   * ARGV: id, epoch, now, available. → { 'ok', row } | { 'unknown' } | { 'dead', reason } | { 'epoch', current }.
   * The check and the write are one step: a beat that comes after a death can never revive the row. A beat
   * retried late (Redis was away) does not overwrite a newer one.
   */
  beat: `if redis.call('HEXISTS', nodes, ARGV[1]) == 0 then return { 'unknown' } end
local dead = redis.call('HGET', deaths, ARGV[1])
if dead then return { 'dead', dead } end
local epoch = redis.call('HGET', epochs, ARGV[1])
if epoch ~= ARGV[2] then return { 'epoch', epoch } end
if tonumber(ARGV[3]) >= (tonumber(redis.call('HGET', beats, ARGV[1])) or 0) then
  redis.call('HSET', beats, ARGV[1], ARGV[3])
  redis.call('HSET', available, ARGV[1], ARGV[4])
end
return { 'ok', row(ARGV[1]) }`,
  /**
   * ARGV: id, reason, token. → the dead row, or nil when unknown or already dead. Alive → dead and the epoch
   * bump are one step, so two heads' (or two checks') declarations tell the death once; the same call
   * retried after its reply was lost finds its own token and is told again.
   */
  markDead: `if redis.call('HEXISTS', nodes, ARGV[1]) == 0 then return false end
if redis.call('HEXISTS', deaths, ARGV[1]) == 1 then
  if redis.call('HGET', tokens, ARGV[1]) == ARGV[3] then return row(ARGV[1]) end
  return false
end
redis.call('HSET', deaths, ARGV[1], ARGV[2])
redis.call('HSET', tokens, ARGV[1], ARGV[3])
redis.call('HINCRBY', epochs, ARGV[1], 1)
return row(ARGV[1])`,
  /**
   * ARGV: name, owner, value. → { 'ok' } | { 'held', owner, value } | { 'dead' }. A dead owner cannot claim:
   * otherwise a claim racing its death would outlive the releaseOf that buried its names.
   */
  claim: `if redis.call('HEXISTS', deaths, ARGV[2]) == 1 then return { 'dead' } end
local holder = redis.call('HGET', owners, ARGV[1])
if holder and holder ~= ARGV[2] then return { 'held', holder, redis.call('HGET', values, ARGV[1]) } end
redis.call('HSET', owners, ARGV[1], ARGV[2])
redis.call('HSET', values, ARGV[1], ARGV[3])
return { 'ok' }`,
  /** ARGV: name, owner. → 1 released, 0 not held by owner. */
  release: `if redis.call('HGET', owners, ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', owners, ARGV[1])
redis.call('HDEL', values, ARGV[1])
return 1`,
  /** ARGV: name. → { owner, value } or nil. */
  lookup: `local holder = redis.call('HGET', owners, ARGV[1])
if not holder then return false end
return { holder, redis.call('HGET', values, ARGV[1]) }`,
  /** → name, owner, value, for every name held. */
  names: `local out = {}
local held = redis.call('HGETALL', owners)
for i = 1, #held, 2 do
  out[#out + 1] = held[i]
  out[#out + 1] = held[i + 1]
  out[#out + 1] = redis.call('HGET', values, held[i]) or false
end
return out`,
  /** ARGV: owner. → the names released. */
  releaseOf: `local out = {}
local all = redis.call('HGETALL', owners)
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then out[#out + 1] = all[i]; redis.call('HDEL', owners, all[i]); redis.call('HDEL', values, all[i]) end
end
return out`,
} as const;

type ScriptName = keyof typeof SCRIPTS;
type Reply = string | number | null | Reply[];
type RowReply = [string, string, string, string, string | null];
/** What the store uses of the client: raw commands (scripts), and closing. */
interface Client {
  sendCommand<T>(args: string[]): Promise<T>;
  close(): Promise<void>;
  destroy(): void;
}

/** The tables in Redis: they outlive the head, and the head that reads them back takes the cluster over. */
export class RedisControlStore implements ControlStore {
  private readonly keys: string[];
  private readonly scripts: Record<ScriptName, { source: string; sha: string }>;
  private closed = false;
  /** Set while Redis is unreachable, so that the outage is logged once and its end once. */
  private outageSince: number | undefined;

  private constructor(private readonly client: Client, private readonly prefix: string, private readonly log: (line: string) => void, private readonly url: string) {
    this.keys = TABLES.map((t) => key(prefix, t));
    const scripts = {} as Record<ScriptName, { source: string; sha: string }>;
    for (const [name, body] of Object.entries(SCRIPTS) as [ScriptName, string][]) {
      const source = LUA_KEYS + LUA_ROW + body;
      scripts[name] = { source, sha: sha1(source) };
    }
    this.scripts = scripts;
  }

  /** Connects (retrying for up to `connectForMs`) and checks the layout's version; rejects when Redis stays unreachable. */
  static async open(options: RedisControlStoreOptions): Promise<RedisControlStore> {
    const prefix = options.prefix ?? "loom";
    if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(prefix)) throw new LoomError(`the Redis key prefix must be 1 to 100 of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(prefix).slice(0, 120)}`);
    const log = options.log ?? (() => {});
    const connectForMs = options.connectForMs ?? 10_000;
    // Commands fail at once while the connection is down (no offline queue): the store's own retry loop
    // decides when to send them again, so that nothing queued long ago runs late behind our back.
    const client = createClient({
      url: options.url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2_000, reconnectStrategy: (retries) => Math.min(FIRST_RETRY_MS * 2 ** retries, MAX_RETRY_MS) },
    });
    // Without a listener an 'error' event would crash the head; the retry loop reports outages instead.
    client.on("error", () => {});
    const where = redactedUrl(options.url);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new LoomError(`could not reach Redis at ${where} within ${connectForMs} ms`)), connectForMs); }),
      ]);
    } catch (e) {
      client.destroy();
      throw e instanceof LoomError ? e : new LoomError(`could not connect to Redis at ${where}: ${(e as Error).message}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    const store = new RedisControlStore(client, prefix, log, where);
    try {
      const schemaKey = key(prefix, "schema");
      await store.retrying("schema", () => client.sendCommand(["SET", schemaKey, SCHEMA, "NX"]));
      const schema = await store.retrying("schema", () => client.sendCommand<string | null>(["GET", schemaKey]));
      if (schema !== SCHEMA) throw new LoomError(`Redis at ${where} holds Loom tables of layout ${String(schema)} under prefix ${prefix}; this Loom writes layout ${SCHEMA} (use another --redis-prefix, or another Redis)`);
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  async addNode(node: NodeRecord): Promise<void> {
    let attempt = 0;
    const added = await this.run("add", [node.nodeId, JSON.stringify(staticInfo(node)), String(node.epoch), String(node.lastBeatAt), JSON.stringify(node.available), node.state === "dead" ? (node.deathReason ?? "dead") : ""], () => attempt++);
    // Ids are 64 random bits: an id found on a retry is the row our own first attempt wrote before its reply was lost.
    if (added === 0 && attempt === 1) throw new LoomError(`node ${node.nodeId} is already registered`);
  }

  async getNode(nodeId: string): Promise<NodeRecord | undefined> {
    const r = await this.run("get", [nodeId]);
    return r === null ? undefined : toRecord(nodeId, r as RowReply);
  }

  async listNodes(): Promise<NodeRecord[]> {
    const r = (await this.run("list", [])) as Reply[];
    const out: NodeRecord[] = [];
    for (let i = 0; i < r.length; i += 2) out.push(toRecord(String(r[i]), r[i + 1] as RowReply));
    return out;
  }

  async beat(nodeId: string, epoch: number, available: Resources, now: number): Promise<BeatResult> {
    const r = (await this.run("beat", [nodeId, String(epoch), String(now), JSON.stringify(available)])) as Reply[];
    switch (r[0]) {
      case "ok": return { ok: true, node: toRecord(nodeId, r[1] as RowReply) };
      case "unknown": return { ok: false, reason: `node ${nodeId} is not known to this head` };
      case "dead": return { ok: false, reason: `node ${nodeId} was declared dead (${String(r[1])})` };
      default: return { ok: false, reason: `node ${nodeId} beat with epoch ${epoch}, the head has ${String(r[1])}` };
    }
  }

  async markDead(nodeId: string, reason: string): Promise<NodeRecord | undefined> {
    const token = randomBytes(8).toString("hex");
    const r = await this.run("markDead", [nodeId, reason, token]);
    return r === null ? undefined : toRecord(nodeId, r as RowReply);
  }

  async claimName(name: string, owner: string, value: unknown): Promise<ClaimResult> {
    const r = (await this.run("claim", [name, owner, JSON.stringify({ v: value })])) as Reply[];
    if (r[0] === "ok") return { ok: true };
    if (r[0] === "dead") throw new LoomError(`node ${owner} is dead`);
    return { ok: false, holder: { name, owner: String(r[1]), value: parseValue(r[2]) } };
  }

  async releaseName(name: string, owner: string): Promise<boolean> {
    return (await this.run("release", [name, owner])) === 1;
  }

  async lookupName(name: string): Promise<NameEntry | undefined> {
    const r = (await this.run("lookup", [name])) as Reply[] | null;
    return r === null ? undefined : { name, owner: String(r[0]), value: parseValue(r[1]) };
  }

  async listNames(): Promise<NameEntry[]> {
    const r = (await this.run("names", [])) as Reply[];
    const out: NameEntry[] = [];
    for (let i = 0; i < r.length; i += 3) out.push({ name: String(r[i]), owner: String(r[i + 1]), value: parseValue(r[i + 2]) });
    return out;
  }

  async releaseNamesOf(owner: string): Promise<string[]> {
    return ((await this.run("releaseOf", [owner])) as Reply[]).map(String);
  }

  /** Closes the connection; calls still retrying fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try { await this.client.close(); } catch { this.client.destroy(); }
  }

  // ---- calls ----

  /** Runs a script by its sha, loading it when Redis does not have it (first use, or Redis restarted without its cache). */
  private run(name: ScriptName, args: string[], onAttempt?: () => void): Promise<Reply> {
    const { source, sha } = this.scripts[name];
    const n = String(this.keys.length);
    return this.retrying(name, async () => {
      onAttempt?.();
      try {
        return await this.client.sendCommand<Reply>(["EVALSHA", sha, n, ...this.keys, ...args]);
      } catch (e) {
        if (!(e instanceof ErrorReply) || !e.message.startsWith("NOSCRIPT")) throw e;
        return await this.client.sendCommand<Reply>(["EVAL", source, n, ...this.keys, ...args]);
      }
    });
  }

  /**
   * Calls `attempt` until Redis answers: a dropped connection, a Redis that is restarting or loading its AOF,
   * are waited out (with backoff, for as long as it takes, until close()). An error reply is not retried.
   * Every script is safe to repeat (see markDead's token and addNode's id), since a call whose reply was lost
   * may have run.
   */
  private async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    let delay = FIRST_RETRY_MS;
    for (;;) {
      if (this.closed) throw new LoomError(`the control store at ${this.url} is closed (${what})`);
      try {
        const value = await attempt();
        if (this.outageSince !== undefined) {
          this.log(`Redis at ${this.url} answers again after ${Date.now() - this.outageSince} ms`);
          this.outageSince = undefined;
        }
        return value;
      } catch (e) {
        if (e instanceof ErrorReply && !TRANSIENT_REPLY.test(e.message)) throw new LoomError(`Redis at ${this.url} refused ${what}: ${e.message}`, { cause: e });
        if (this.closed) throw new LoomError(`the control store at ${this.url} is closed (${what})`, { cause: e });
        if (this.outageSince === undefined) {
          this.outageSince = Date.now();
          this.log(`Redis at ${this.url} is unreachable (${(e as Error).message}); retrying the head's calls until it answers`);
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    }
  }
}

function key(prefix: string, table: string): string {
  return `{${prefix}}:${table}`;
}

function staticInfo(n: NodeRecord) {
  return { address: n.address, isHead: n.isHead, isDriver: n.isDriver, workers: n.workers, resources: n.resources, pid: n.pid };
}

function toRecord(nodeId: string, r: RowReply): NodeRecord {
  const info = JSON.parse(r[0]) as ReturnType<typeof staticInfo>;
  const dead = r[4] !== null && r[4] !== undefined;
  return {
    nodeId, ...info, state: dead ? "dead" : "alive", epoch: Number(r[1]), lastBeatAt: Number(r[2]),
    available: JSON.parse(r[3]) as Resources, ...(dead ? { deathReason: String(r[4]) } : {}),
  };
}

function parseValue(raw: Reply | undefined): unknown {
  return typeof raw === "string" ? (JSON.parse(raw) as { v?: unknown }).v : undefined;
}

function sha1(source: string): string {
  // Redis names a script by the SHA1 of its text (EVALSHA); node:crypto has it.
  return createHash("sha1").update(source).digest("hex");
}

/** The URL without its password, for logs and errors. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(an unparsable Redis URL)";
  }
}
