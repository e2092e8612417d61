// One object pulled between two processes, the cluster's way (wire.ts frames, object-transfer.ts chunks) and as
// raw loopback TCP of the same bytes from the same memory, in the same run. The holder is a child process that
// keeps one object in a SharedArrayBuffer (as a node's store does) and serves it both ways; this process pulls it
// into (a) a fresh SharedArrayBuffer each time, as a first pull on a node with an empty pool does, and (b) one
// destination reused each time, as a node whose pool recycles segments does. The raw-TCP receiver copies each read
// into a reused destination too (so both sides move the bytes into memory the reader keeps), and also reports
// the bare receive with the bytes discarded. Both receivers read into one reused 256 KiB buffer (net's `onread`,
// as the wire's client sockets do): a fresh buffer per read costs page faults that vary from run to run.
//   node --import tsx/esm bench/micro/pull-transfer.ts [--mib 64,256] [--reps 5] [--in-flight-mib 16]
//   (LOOM_PULL_ENGINE=/path/to/engine: another checkout's wire and transfer, for a before/after in one sitting)
// Prints GB/s (medians), the receiver's minor page faults per pull, its CPU seconds and the sender's.
import { spawn } from "node:child_process";
import net from "node:net";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { pathToFileURL } from "node:url";
import type * as Wire from "../../engine/cluster/wire.js";
import type * as Transfer from "../../engine/cluster/object-transfer.js";

// LOOM_PULL_ENGINE=dir: the engine/ to take the wire and the transfer from (an older commit's, for a before/after).
const engineDir = process.env["LOOM_PULL_ENGINE"] ? pathToFileURL(`${process.env["LOOM_PULL_ENGINE"]}/`) : new URL("../../engine/", import.meta.url);
const { listen } = (await import(new URL("cluster/wire.js", engineDir).href)) as typeof Wire;
const { answerPull, ObjectPuller } = (await import(new URL("cluster/object-transfer.js", engineDir).href)) as typeof Transfer;

const MiB = 2 ** 20;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

async function holder(): Promise<void> {
  const objects = new Map<string, Uint8Array>();
  for (const mib of arg("mib", "64,256").split(",").map(Number)) {
    const bytes = new Uint8Array(new SharedArrayBuffer(mib * MiB));
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 255;
    objects.set(`o${mib}`, bytes);
  }
  const wire = await listen({ host: "127.0.0.1", port: 0 }, (c) => {
    c.onFrame = (f, conn) => { answerPull(conn, f, (key) => { const b = objects.get(key); return b && { flags: 0, bytes: b, hasRefs: false }; }); };
  });
  // Raw TCP: a request is 4 bytes naming the size in MiB; the answer is that object's bytes as one write.
  const raw = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => { for (let i = 0; i + 4 <= d.length; i += 4) socket.write(objects.get(`o${d.readUInt32BE(i)}`)!); });
  });
  await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
  process.stdout.write(`${wire.port} ${(raw.address() as net.AddressInfo).port}\n`);
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Sample { s: number; faults: number; cpu: number; senderCpu: number }

/** CPU seconds a process has used (user + system), from /proc. */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

let holderPid = 0;

async function timed(fn: () => Promise<void>): Promise<Sample> {
  const r0 = process.resourceUsage(), c0 = cpuOf(holderPid), t0 = performance.now();
  await fn();
  const r1 = process.resourceUsage();
  return {
    s: (performance.now() - t0) / 1000, faults: r1.minorPageFault - r0.minorPageFault,
    cpu: (r1.userCPUTime + r1.systemCPUTime - r0.userCPUTime - r0.systemCPUTime) / 1e6, senderCpu: cpuOf(holderPid) - c0,
  };
}

/** A raw loopback connection that reads into one reused buffer (net's `onread`), as the wire's client sockets do. */
async function rawConnection(port: number): Promise<{ socket: net.Socket; pull: (mib: number, into: Uint8Array | undefined) => Promise<void> }> {
  let onBytes: (d: Buffer) => void = () => {};
  const socket = net.connect({ host: "127.0.0.1", port, onread: { buffer: Buffer.allocUnsafe(256 * 1024), callback: (n, buf) => { onBytes((buf as Buffer).subarray(0, n)); return true; } } });
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once("connect", resolve));
  const pull = (mib: number, into: Uint8Array | undefined) => new Promise<void>((resolve) => {
    const want = mib * MiB;
    let seen = 0;
    onBytes = (d) => {
      if (into) into.set(d, seen);
      seen += d.length;
      if (seen >= want) resolve();
    };
    const req = Buffer.alloc(4);
    req.writeUInt32BE(mib);
    socket.write(req);
  });
  return { socket, pull };
}

async function main(): Promise<void> {
  const sizes = arg("mib", "64,256").split(",").map(Number);
  const reps = Number(arg("reps", "5"));
  const child = spawn(process.execPath, ["--import", "tsx/esm", fileURLToPath(import.meta.url), "--holder", "--mib", sizes.join(",")], { stdio: ["pipe", "pipe", "inherit"] });
  holderPid = child.pid!;
  try {
    const [wirePort, rawPort] = await new Promise<number[]>((resolve, reject) => {
      child.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim().split(" ").map(Number)));
      child.once("exit", (code) => reject(new Error(`holder exited ${code}`)));
    });
    const puller = new ObjectPuller(undefined, undefined, Number(arg("in-flight-mib", "16")) * MiB);
    const raw = await rawConnection(rawPort);
    const address = `127.0.0.1:${wirePort}`;
    for (const mib of sizes) {
      const bytes = mib * MiB;
      const reused = new Uint8Array(new SharedArrayBuffer(bytes));
      reused.fill(1); // faulted in once, before any timing
      const rows: Record<string, Sample[]> = { "loom, fresh segment": [], "loom, reused segment": [], "raw TCP, into reused": [], "raw TCP, discarded": [] };
      for (let i = 0; i <= reps; i++) {
        const samples = [
          await timed(async () => { await puller.pull(address, `o${mib}`, (n) => new Uint8Array(new SharedArrayBuffer(n))); }),
          await timed(async () => { await puller.pull(address, `o${mib}`, () => reused); }),
          await timed(() => raw.pull(mib, reused)),
          await timed(() => raw.pull(mib, undefined)),
        ];
        if (i === 0) continue; // the first round warms the connections and the code
        Object.values(rows).forEach((list, k) => list.push(samples[k]!));
      }
      // Each round's pulls run back to back, so a round's ratio is less at the mercy of what else the machine runs.
      const ratios = rows["loom, reused segment"]!.map((x, k) => rows["raw TCP, into reused"]![k]!.s / x.s);
      console.log(`${mib} MiB loom (reused) / raw TCP (into reused), per round: median ${median(ratios).toFixed(2)}× (${ratios.map((r) => r.toFixed(2)).join(" ")})`);
      for (const [name, list] of Object.entries(rows)) {
        const s = median(list.map((x) => x.s));
        console.log(`${mib} MiB ${name.padEnd(22)} ${(bytes / s / 1e9).toFixed(2)} GB/s  (${(s * 1000).toFixed(0)} ms, ${median(list.map((x) => x.faults))} faults, receiver CPU ${median(list.map((x) => x.cpu)).toFixed(3)} s, sender ${median(list.map((x) => x.senderCpu)).toFixed(2)} s)`);
      }
    }
    raw.socket.destroy();
    await puller.close();
  } finally {
    child.stdin!.end();
    child.kill();
  }
}

if (process.argv.includes("--holder")) await holder(); else await main();
