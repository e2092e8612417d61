// What a benchmark report must say about the machine it ran on (STYLE.md: Node version,
// core count, build), read once at start.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

export interface SystemInfo {
  date: string;
  node: string;
  v8: string;
  platform: string;
  cpu: string;
  cores: number;
  totalMemGiB: number;
  build: string;
  loomVersion: string;
  /** Which engine the Loom variants load: the repository's (with its commit) or LOOM_BENCH_ENGINE. */
  engine: string;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** "release" when the WebAssembly core was built with `asc --target release` (npm run asbuild). */
function buildKind(): string {
  try {
    const cfg = JSON.parse(readFileSync(`${ROOT}asconfig.json`, "utf8")) as {
      targets?: Record<string, { outFile?: string; debug?: boolean }>;
    };
    const release = cfg.targets?.["release"];
    if (release?.outFile && existsSync(`${ROOT}${release.outFile}`)) return `release (${release.outFile})`;
    const debug = cfg.targets?.["debug"];
    if (debug?.outFile && existsSync(`${ROOT}${debug.outFile}`)) return `debug (${debug.outFile})`;
    return "unbuilt (run npm run build)";
  } catch {
    return "unknown (no asconfig.json)";
  }
}

function engineInfo(): string {
  const override = process.env["LOOM_BENCH_ENGINE"];
  const pin = process.env["LOOM_BENCH_PIN_REFS"] === "1" ? "; bench pins refs during get (LOOM_BENCH_PIN_REFS=1)" : "";
  if (override) return `LOOM_BENCH_ENGINE=${override} (not this repository's engine)${pin}`;
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = git("status", "--porcelain", "--", "engine", "core-wasm") !== "";
    return `engine/ at ${git("rev-parse", "--short", "HEAD")}${dirty ? " + uncommitted changes" : ""}${pin}`;
  } catch {
    return "engine/ (no git)";
  }
}

export function systemInfo(): SystemInfo {
  const cpus = os.cpus();
  let loomVersion = "?";
  try {
    loomVersion = (JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { version: string }).version;
  } catch {
    /* keep "?" */
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism(),
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    build: buildKind(),
    loomVersion,
    engine: engineInfo(),
  };
}
