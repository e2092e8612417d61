// A redis-server (Debian's, from PATH) on a free 127.0.0.1 port for tests: started, restarted on the same port
// and data directory (its AOF survives), stopped. It owns that process only, and a watchdog that kills it
// when this process dies, however it dies (redis-server has no way to notice its parent's death by itself).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { LoomError } from "../../engine/errors.js";

/** What a test prints when it skips because redis-server is missing. */
export const REDIS_SERVER_MISSING = "redis-server is not on PATH: install it (Debian/Ubuntu: `apt-get install -y redis-server`; macOS: `brew install redis`) to run the Redis control store's tests";

/** The redis-server on PATH, or undefined. */
export function redisServerPath(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  const p = found.status === 0 ? found.stdout.trim() : "";
  return p === "" ? undefined : p;
}

export interface RedisServerOptions {
  /** Append-only file in `dir`, fsynced at every write, so that a restart (even after SIGKILL) keeps every table (default true). */
  aof?: boolean;
  /** Its data directory (default: a new temp directory, removed at stop). */
  dir?: string;
  /** Copy its log to this process's stderr. */
  log?: boolean;
}

const READY_TIMEOUT_MS = 15_000;

/** Every redis-server of this process, killed from an exit handler if the process exits without stopping them. */
const everyServer = new Set<ChildProcess>();
let exitHookInstalled = false;

export class RedisServer {
  private child: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private logTail = "";

  private constructor(readonly port: number, readonly dir: string, private readonly ownsDir: boolean, private readonly options: RedisServerOptions) {}

  /** `redis://127.0.0.1:PORT`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts redis-server on a free port; resolves once it accepts connections. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const bin = redisServerPath();
    if (!bin) throw new LoomError(REDIS_SERVER_MISSING);
    installExitHook();
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "loom-redis-"));
    // A free port can be taken between our probe and redis-server's bind: a few tries.
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(await freePort(), dir, ownsDir, options);
      try {
        await server.launch();
        return server;
      } catch (e) {
        await server.stop({ keepDir: true });
        if (attempt >= 3 || !/Address already in use/i.test((e as Error).message)) {
          if (ownsDir) fs.rmSync(dir, { recursive: true, force: true });
          throw e;
        }
      }
    }
  }

  /**
   * Stops redis-server and starts it again on the same port and directory (it reloads its AOF). `graceful:
   * false` SIGKILLs it, as a crash (nothing is lost: the AOF is fsynced at every write).
   */
  async restart(options: { graceful?: boolean; downForMs?: number } = {}): Promise<void> {
    await this.kill(options.graceful === false ? "SIGKILL" : "SIGTERM");
    if (options.downForMs) await new Promise((r) => setTimeout(r, options.downForMs));
    await this.launch();
  }

  /** Stops it now (SIGKILL) and removes its directory when it made it. */
  async stop(options: { keepDir?: boolean } = {}): Promise<void> {
    await this.kill("SIGKILL");
    this.watchdog?.stdin?.end();
    this.watchdog = undefined;
    if (this.ownsDir && !options.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await new Promise<void>((resolve) => child.once("exit", () => resolve()));
  }

  private async launch(): Promise<void> {
    const aof = this.options.aof !== false;
    const args = [
      "--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "", "--daemonize", "no",
      "--appendonly", aof ? "yes" : "no", ...(aof ? ["--appendfsync", "always"] : []), "--logfile", "",
    ];
    const child = spawn(redisServerPath()!, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    everyServer.add(child);
    child.once("exit", () => everyServer.delete(child));
    this.guard(child.pid!);
    const onLog = (d: Buffer) => {
      this.logTail = (this.logTail + d.toString()).slice(-4000);
      if (this.options.log) process.stderr.write(d);
    };
    child.stderr!.on("data", onLog);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new LoomError(`redis-server on port ${this.port}: not ready within ${READY_TIMEOUT_MS} ms\n${this.logTail}`)); }, READY_TIMEOUT_MS);
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        onLog(Buffer.from(`${line}\n`));
        if (/Ready to accept connections/.test(line)) { clearTimeout(timer); resolve(); }
      });
      child.once("exit", (code, sig) => {
        clearTimeout(timer);
        reject(new LoomError(`redis-server on port ${this.port} exited (${sig ?? `code ${String(code)}`}) before it was ready\n${this.logTail}`));
      });
    });
  }

  /** Tells the watchdog which pid to kill when this process dies (one watchdog for every restart). */
  private guard(pid: number): void {
    if (!this.watchdog || this.watchdog.exitCode !== null) {
      // It holds a pipe to us on stdin: our death closes it, and it kills the pid it was last given.
      const script = `let pid = 0;
        require("node:readline").createInterface({ input: process.stdin }).on("line", (l) => { pid = Number(l); });
        const end = () => { if (pid > 0) { try { process.kill(pid, "SIGKILL"); } catch {} } process.exit(0); };
        process.stdin.on("end", end); process.stdin.on("close", end); process.stdin.on("error", end);`;
      this.watchdog = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "ignore", "ignore"] });
      this.watchdog.stdin!.on("error", () => {});
      this.watchdog.unref();
      (this.watchdog.stdin as unknown as { unref?: () => void }).unref?.();
    }
    this.watchdog.stdin!.write(`${pid}\n`);
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => { for (const c of everyServer) { try { c.kill("SIGKILL"); } catch { /* gone */ } } });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
