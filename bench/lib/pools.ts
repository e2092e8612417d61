// piscina pools for the baselines: one constructor with the bench's defaults (threads = cores,
// all started up front) and a warm-up that makes every thread load its module before the clock.

import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Piscina } from "piscina";

export interface PoolOptions {
  threads?: number;
  concurrentTasksPerWorker?: number;
}

export function workerCount(): number {
  return os.availableParallelism();
}

/**
 * A .mjs entry for piscina workers that registers tsx in the worker and re-exports `moduleUrl`'s
 * functions under their own names. Needed because on Node 20 a worker thread inherits
 * `--import tsx` but tsx's ESM hooks do not apply there (importing a .ts file fails with
 * ERR_UNKNOWN_FILE_EXTENSION). Written once per module to the temp dir; piscina still looks
 * handlers up by export name, so calls are exactly what a user's pool would do.
 */
async function workerEntry(moduleUrl: URL): Promise<string> {
  if (!moduleUrl.pathname.endsWith(".ts")) return moduleUrl.href;
  const mod = (await import(moduleUrl.href)) as Record<string, unknown>;
  const names = Object.keys(mod).filter((k) => typeof mod[k] === "function");
  const src = [
    `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))};`,
    "register();",
    `const m = await import(${JSON.stringify(moduleUrl.href)});`,
    ...names.map((n) => (n === "default" ? "export default m.default;" : `export const ${n} = m.${n};`)),
    "",
  ].join("\n");
  const file = join(os.tmpdir(), `loom-bench-entry-${createHash("sha1").update(src).digest("hex").slice(0, 12)}.mjs`);
  writeFileSync(file, src);
  return pathToFileURL(file).href;
}

/** A piscina pool over the functions exported by `moduleUrl` (.ts or .js), all threads started. */
export async function makePool(moduleUrl: URL, opts: PoolOptions = {}): Promise<Piscina> {
  const threads = opts.threads ?? workerCount();
  return new Piscina({
    filename: await workerEntry(moduleUrl),
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: opts.concurrentTasksPerWorker ?? 1,
    idleTimeout: 60_000,
  });
}

/**
 * Runs `rounds × threads` calls of the named export at once, so every thread has loaded the module
 * (piscina gives a free thread the next task; with all tasks queued at once each thread gets some).
 */
export async function warmPool(pool: Piscina, name: string, arg: unknown, rounds = 4): Promise<void> {
  const n = pool.options.maxThreads * rounds;
  await Promise.all(Array.from({ length: n }, () => pool.run(arg, { name })));
}
