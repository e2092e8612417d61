// The sha256 of task modules as this node sees them, to refuse work whose module differs from the driver's copy
// (SPEC "Cluster": code). One hash per file version: cached by URL and re-read when the file's mtime or size
// changes. Every task asks, so the file's stat is shared by the tasks that ask while it runs, and a hash a stat
// confirmed within the last second is taken as it is (hashNow): a burst of tasks costs one stat, not one each.
// It does not import modules; the workers do.
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { fileURLToPath } from "node:url";
import { LoomError } from "../errors.js";

interface HashEntry {
  mtimeMs: number;
  size: number;
  /** Shared by the tasks that ask while the file is read. */
  hash: Promise<string>;
  /** The hash once read, and when a stat last found the file unchanged (performance.now()). */
  value?: string;
  checkedAt: number;
}

/**
 * How long a hash is taken as current without a new stat (hashNow): a burst of tasks then costs no stat and no
 * wait per task, and a module edited meanwhile is noticed this much later at most.
 */
const RECHECK_MS = 1_000;

export class ModuleHashes {
  /** url → the hash of the file version last seen; replaced when the file changes. */
  private readonly byUrl = new Map<string, HashEntry>();
  /** url → its stat under way: callers that ask meanwhile wait for it rather than stat again. */
  private readonly statting = new Map<string, Promise<Stats>>();

  /** The module's sha256 (hex) on this node; rejects with a LoomError when it is not a readable file. */
  async hashOf(url: string): Promise<string> {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (e) {
      throw new LoomError(`module ${url} is not a file URL, so its copy cannot be compared: ${(e as Error).message}`);
    }
    let statted = this.statting.get(url);
    if (!statted) {
      const p = statted = stat(path);
      this.statting.set(url, p);
      const done = () => { if (this.statting.get(url) === p) this.statting.delete(url); };
      p.then(done, done);
    }
    const s = await statted;
    const cached = this.byUrl.get(url);
    if (cached && cached.mtimeMs === s.mtimeMs && cached.size === s.size) {
      cached.checkedAt = performance.now();
      return cached.hash;
    }
    const entry: HashEntry = { mtimeMs: s.mtimeMs, size: s.size, hash: readFile(path).then((b) => createHash("sha256").update(b).digest("hex")), checkedAt: performance.now() };
    this.byUrl.set(url, entry);
    entry.hash.then((h) => { entry.value = h; }, () => { if (this.byUrl.get(url) === entry) this.byUrl.delete(url); });
    return entry.hash;
  }

  /** The module's hash now, without a stat, when one found the file unchanged within RECHECK_MS; else undefined. */
  hashNow(url: string): string | undefined {
    const cached = this.byUrl.get(url);
    return cached?.value !== undefined && performance.now() - cached.checkedAt < RECHECK_MS ? cached.value : undefined;
  }

  /** Rejects unless the module's file here hashes to `expected` (the driver's copy). */
  async check(url: string, expected: string, nodeId: string): Promise<void> {
    let local: string;
    try {
      local = await this.hashOf(url);
    } catch (e) {
      if (e instanceof LoomError) throw e;
      throw new LoomError(`module ${url} cannot be read on node ${nodeId}: ${(e as Error).message} (deploy the code at the same path on every machine)`);
    }
    if (local !== expected) throw new LoomError(`module ${url} differs on node ${nodeId} from the driver's copy`);
  }
}
