// The dashboard's HTTP server (Node's own http, on 127.0.0.1 only): the page's static files and the JSON API.
// Requests whose Host is not this loopback address are refused, so a web page elsewhere cannot reach the API
// through a DNS name rebound to 127.0.0.1.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { LoomError } from "../errors.js";
import { GRAPH_DEFAULT_LIMIT, GRAPH_MAX_LIMIT, type DashboardState } from "./dashboard-state.js";
import type { EventStream } from "./event-stream.js";

export const HOST = "127.0.0.1";

const PAGE_FILES: Record<string, string> = {
  "/": "index.html",
  "/index.html": "index.html",
  "/dashboard.css": "dashboard.css",
  "/dashboard.js": "dashboard.js",
  "/render.js": "render.js",
  "/graph-layout.js": "graph-layout.js",
};
const TYPES: Record<string, string> = { html: "text/html; charset=utf-8", css: "text/css; charset=utf-8", js: "text/javascript; charset=utf-8" };

/** The page's folder: beside this file when run from source, in the package's engine/ when run from dist/. */
function pageDir(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  for (const dir of [join(here, "page"), join(here, "..", "..", "..", "engine", "dashboard", "page")]) {
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  throw new LoomError(`dashboard: its page files are missing (looked beside ${here}); reinstall the package`);
}

const TOKEN_COOKIE = "loom_token";

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class DashboardServer {
  private readonly server: Server;
  private readonly dir = pageDir();
  private readonly files = new Map<string, Buffer>();
  private port = 0;

  /** @param token a cluster's token: the page and the API then need it (`?token=` once, then a cookie). */
  constructor(private readonly state: DashboardState, private readonly stream: EventStream, private readonly token?: string) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.json(res, 500, { error: String((error as Error)?.message ?? error) });
        else res.end();
      });
    });
  }

  get url(): string {
    return `http://${HOST}:${this.port}`;
  }

  /** Listens on 127.0.0.1; a taken port is a LoomError naming it. */
  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        this.server.off("listening", onListening);
        reject(error.code === "EADDRINUSE"
          ? new LoomError(`dashboard: port ${port} on ${HOST} is already in use; pass init({ dashboard: { port } }) a free port, or { port: 0 } for any`)
          : new LoomError(`dashboard: cannot listen on ${HOST}:${port}: ${error.message}`, { cause: error }));
      };
      const onListening = () => {
        this.server.off("error", onError);
        this.port = (this.server.address() as { port: number }).port;
        resolve();
      };
      this.server.once("error", onError);
      this.server.once("listening", onListening);
      this.server.listen(port, HOST);
    });
  }

  /** Ends the event streams and every connection, then stops listening. */
  close(): Promise<void> {
    this.stream.close();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /**
   * With a token: a request carries it as `?token=` (then it gets a cookie, so the page's own requests need
   * nothing) or in that cookie; anything else is a 401 that says how to get in.
   */
  private admitted(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const given = url.searchParams.get("token") ?? cookieOf(req, TOKEN_COOKIE);
    if (given !== null && given !== undefined && sameSecret(given, this.token!)) {
      if (url.searchParams.has("token")) res.setHeader("set-cookie", `${TOKEN_COOKIE}=${encodeURIComponent(given)}; Path=/; HttpOnly; SameSite=Strict`);
      return true;
    }
    this.json(res, 401, { error: "this dashboard needs the cluster token: open it once with ?token=<the token> (see ~/.loom/token)" });
    return false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? "";
    if (host !== `${HOST}:${this.port}` && host !== `localhost:${this.port}`) {
      this.json(res, 403, { error: `unexpected Host header ${JSON.stringify(host)}; the dashboard answers at ${this.url}` });
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      this.json(res, 405, { error: `${req.method} is not supported; the dashboard is read-only` });
      return;
    }
    const url = new URL(req.url ?? "/", this.url);
    if (this.token !== undefined && !this.admitted(req, res, url)) return;
    const page = PAGE_FILES[url.pathname];
    if (page) return this.serveFile(res, page);
    switch (url.pathname) {
      case "/api/nodes": return this.json(res, 200, this.state.nodes());
      case "/api/tasks": return this.json(res, 200, this.state.tasks());
      case "/api/actors": return this.json(res, 200, this.state.actors());
      case "/api/objects": return this.json(res, 200, this.state.objects());
      case "/api/workers": return this.json(res, 200, this.state.workers());
      case "/api/store": return this.json(res, 200, this.state.store());
      case "/api/errors": return this.json(res, 200, this.state.errors());
      case "/api/throughput": return this.json(res, 200, this.state.throughput(intParam(url, "seconds", 120, 1, 600)));
      case "/api/graph": return this.json(res, 200, this.state.graph(intParam(url, "limit", GRAPH_DEFAULT_LIMIT, 1, GRAPH_MAX_LIMIT)));
      case "/api/snapshot": return this.json(res, 200, this.state.snapshot());
      case "/api/events":
        if (req.method === "HEAD") { res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" }); res.end(); return; }
        return this.stream.open(res);
      default: this.json(res, 404, { error: `no route ${url.pathname}` });
    }
  }

  private async serveFile(res: ServerResponse, name: string): Promise<void> {
    let body = this.files.get(name);
    if (!body) this.files.set(name, body = await readFile(join(this.dir, name)));
    res.writeHead(200, { "content-type": TYPES[name.split(".").pop()!]!, "cache-control": "no-store", "content-length": body.byteLength });
    res.end(body);
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }
}

/** An integer query parameter within [min, max]; the fallback when absent or not a number. */
function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  const n = raw === null ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}
