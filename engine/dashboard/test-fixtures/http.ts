// HTTP helpers for the dashboard's tests: JSON GETs and an SSE reader, each bounded in time, over node:http
// (so a test can send a Host header of its choosing).
import { request, type ClientRequest } from "node:http";

export interface HttpResult { status: number; headers: Record<string, string | string[] | undefined>; body: string }

export function httpGet(url: string, options: { host?: string; method?: string; timeoutMs?: number } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: options.method ?? "GET", headers: options.host ? { host: options.host } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(options.timeoutMs ?? 5000, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

export async function getJson(url: string): Promise<any> {
  const r = await httpGet(url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.body}`);
  return JSON.parse(r.body);
}

export interface SseFrame { event: string; data: any; chunk: number; at: number }

/** An open /api/events stream: frames parsed as they come, with the index of the network chunk that held them. */
export class SseReader {
  readonly frames: SseFrame[] = [];
  readonly chunkTimes: number[] = [];
  private readonly req: ClientRequest;
  private rest = "";
  private waiters: Array<() => void> = [];

  constructor(url: string) {
    const u = new URL(url);
    this.req = request({ host: u.hostname, port: u.port, path: u.pathname }, (res) => {
      res.setEncoding("utf8");
      res.on("data", (c: string) => this.onChunk(c));
    });
    this.req.on("error", () => undefined);
    this.req.end();
  }

  private onChunk(text: string): void {
    const chunk = this.chunkTimes.push(Date.now()) - 1;
    const all = this.rest + text;
    const blocks = all.split("\n\n");
    this.rest = blocks.pop()!;
    for (const block of blocks) {
      let event = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) this.frames.push({ event, data: JSON.parse(data), chunk, at: Date.now() });
    }
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first frame (from the start) that matches, or rejects after timeoutMs. */
  async waitFor(match: (f: SseFrame) => boolean, timeoutMs = 5000): Promise<SseFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching SSE frame within ${timeoutMs} ms (got ${this.frames.map((f) => f.event).join(", ")})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  close(): void {
    this.req.destroy();
  }
}
