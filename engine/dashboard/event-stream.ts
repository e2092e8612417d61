// Server-sent events at /api/events: each rt.events event as an SSE event of the same name, plus the page's
// deltas (`dashboard:delta`), written to every open page at most every FLUSH_MS in one write. It listens to
// rt.events only while a page is connected; a job emitting faster than a page can use keeps the newest
// MAX_EVENTS_PER_FLUSH events of a flush and counts the older ones in a `dashboard:dropped` event (the
// deltas still carry the counts, so the page stays right).
import type { ServerResponse } from "node:http";
import type { EventEmitter } from "eventemitter3";
import type { DashboardState } from "./dashboard-state.js";

/** The events of SPEC.md's list, and worker:error and task:cancelled, which the runtime emits too. */
export const FORWARDED_EVENTS = [
  "task:submitted", "task:started", "task:finished", "task:failed", "task:cancelled", "task:retried", "task:infeasible",
  "worker:started", "worker:died", "worker:error", "object:spilled", "object:lost", "object:rebuilt",
  "actor:restarted", "actor:died", "node:added", "node:died",
] as const;

export const FLUSH_MS = 100;
/** The page shows the newest 100 events; more per flush would cost the driver encoding nobody reads. */
export const MAX_EVENTS_PER_FLUSH = 500;
const KEEPALIVE_MS = 15_000;

/** Errors become plain objects (JSON.stringify would write `{}`). */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data, replacer)}\n\n`;
}

interface Client { res: ServerResponse; blocked: boolean }

export class EventStream {
  private readonly clients = new Set<Client>();
  /** A ring of the newest events since the last flush: payloads are encoded only at the flush. */
  private readonly names: string[] = new Array(MAX_EVENTS_PER_FLUSH);
  private readonly payloads: unknown[] = new Array(MAX_EVENTS_PER_FLUSH);
  private first = 0;
  private count = 0;
  private readonly dropped = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private lastWrite = Date.now();
  private readonly listeners = FORWARDED_EVENTS.map((name) => [name, (payload: unknown) => this.push(name, payload)] as const);

  constructor(private readonly events: EventEmitter, private readonly state: DashboardState) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes an SSE request: headers, a full snapshot first, then events and deltas until it closes. */
  open(res: ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
    const client: Client = { res, blocked: false };
    res.write(`retry: 1000\n\n${sseFrame("dashboard:snapshot", this.state.snapshot())}`);
    res.on("close", () => this.remove(client));
    if (this.clients.size === 0) {
      for (const [name, fn] of this.listeners) this.events.on(name, fn);
      this.timer = setInterval(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
    this.clients.add(client);
  }

  private remove(client: Client): void {
    if (!this.clients.delete(client) || this.clients.size > 0) return;
    for (const [name, fn] of this.listeners) this.events.off(name, fn);
    clearInterval(this.timer);
    this.timer = undefined;
    this.takeEvents();
    this.dropped.clear();
  }

  private push(name: string, payload: unknown): void {
    if (this.count < MAX_EVENTS_PER_FLUSH) {
      const at = (this.first + this.count++) % MAX_EVENTS_PER_FLUSH;
      this.names[at] = name;
      this.payloads[at] = payload;
      return;
    }
    const old = this.names[this.first]!;
    this.dropped.set(old, (this.dropped.get(old) ?? 0) + 1);
    this.names[this.first] = name;
    this.payloads[this.first] = payload;
    this.first = (this.first + 1) % MAX_EVENTS_PER_FLUSH;
  }

  /** The buffered events as SSE frames, oldest first; empties the ring. */
  private takeEvents(): string {
    let out = "";
    for (let k = 0; k < this.count; k++) {
      const at = (this.first + k) % MAX_EVENTS_PER_FLUSH;
      out += sseFrame(this.names[at]!, this.payloads[at]);
      this.payloads[at] = undefined;
    }
    this.first = 0;
    this.count = 0;
    return out;
  }

  /** One write per page per flush: what was dropped, the buffered events, then the delta. */
  flush(): void {
    let chunk = "";
    if (this.dropped.size) {
      chunk += sseFrame("dashboard:dropped", Object.fromEntries(this.dropped));
      this.dropped.clear();
    }
    chunk += this.takeEvents();
    const delta = this.state.delta();
    if (delta) chunk += sseFrame("dashboard:delta", delta);
    const now = Date.now();
    if (!chunk && now - this.lastWrite < KEEPALIVE_MS) return;
    if (!chunk) chunk = ": keepalive\n\n";
    this.lastWrite = now;
    for (const c of this.clients) {
      // A page that reads slower than we write is skipped until its socket drains; the next delta resyncs it.
      if (c.blocked) continue;
      if (!c.res.write(chunk)) {
        c.blocked = true;
        c.res.once("drain", () => { c.blocked = false; });
      }
    }
  }

  /** Ends every open stream (shutdown). */
  close(): void {
    for (const c of [...this.clients]) { c.res.end(); this.remove(c); }
  }
}
