// The Loom home directory (LOOM_HOME, else ~/.loom): the cluster token, the head's address that
// `init({ address: "auto" })` reads, and one file per Loom process this machine started, for `loom stop`.
// Files only; it starts and stops nothing itself.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export function loomHome(): string {
  const home = process.env.LOOM_HOME;
  return home !== undefined && home !== "" ? home : path.join(os.homedir(), ".loom");
}

/** The home, created with mode 0700 when missing (the token inside is a key to every node). */
export function ensureLoomHome(): string {
  const home = loomHome();
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  return home;
}

const tokenPath = () => path.join(loomHome(), "token");
const addressPath = () => path.join(loomHome(), "address");
const pidsDir = () => path.join(loomHome(), "pids");

/** The cluster token: LOOM_TOKEN, else the home's `token` file, else undefined. */
export function readToken(): string | undefined {
  const env = process.env.LOOM_TOKEN;
  if (env !== undefined && env !== "") return env;
  try {
    const token = fs.readFileSync(tokenPath(), "utf8").trim();
    return token === "" ? undefined : token;
  } catch {
    return undefined;
  }
}

/** Writes `token` (a new random one by default) to the home's `token` file, mode 0600; returns it. */
export function writeNewToken(token: string = randomBytes(32).toString("hex")): string {
  ensureLoomHome();
  writePrivate(tokenPath(), `${token}\n`);
  return token;
}

/** Records the head's host:port for `init({ address: "auto" })` on this machine. */
export function writeHeadAddress(address: string): void {
  ensureLoomHome();
  writePrivate(addressPath(), `${address}\n`);
}

export function readHeadAddress(): string | undefined {
  try {
    const address = fs.readFileSync(addressPath(), "utf8").trim();
    return address === "" ? undefined : address;
  } catch {
    return undefined;
  }
}

// Written to a temporary name then renamed, so a reader never sees half a token; the mode is set at creation
// so the token is never readable by others, even for an instant.
function writePrivate(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

// ---- the processes this machine started (`loom stop`) ----
// One file per process (pids/<pid>) rather than one shared file: processes start and exit concurrently, and
// creating or removing a file of one's own needs no lock.

export interface PidRecord {
  pid: number;
  role: "head" | "node";
  /** The process's start time (ms), so that a recycled pid is not mistaken for ours. */
  startedAt: number;
}

export function recordPid(role: PidRecord["role"]): void {
  ensureLoomHome();
  fs.mkdirSync(pidsDir(), { recursive: true, mode: 0o700 });
  const record: PidRecord = { pid: process.pid, role, startedAt: Date.now() };
  fs.writeFileSync(path.join(pidsDir(), String(process.pid)), JSON.stringify(record), { mode: 0o600 });
}

export function forgetPid(pid: number = process.pid): void {
  try { fs.unlinkSync(path.join(pidsDir(), String(pid))); } catch { /* already gone */ }
}

export function readPids(): PidRecord[] {
  let names: string[];
  try { names = fs.readdirSync(pidsDir()); } catch { return []; }
  const out: PidRecord[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const r = JSON.parse(fs.readFileSync(path.join(pidsDir(), name), "utf8")) as PidRecord;
      if (Number.isSafeInteger(r.pid) && r.pid > 0 && (r.role === "head" || r.role === "node")) out.push(r);
    } catch { /* a file being written or removed: skipped */ }
  }
  return out;
}
