// What every part of the piscina-compat suite shares: the class under test (piscina or loom/pool, picked by
// its runner), fixture paths, and the pools a test made, destroyed after it so no thread outlives its test.
import { afterEach, test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";

/** The subset of piscina's class the suite uses; both piscina and loom/pool fit it. */
export type PoolClass = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- either package's class

export interface Subject {
  /** "piscina" or "loom/pool": in test titles. */
  readonly label: string;
  readonly Pool: PoolClass;
  /** The package's module namespace (named exports). */
  readonly exports: Record<string, unknown>;
  /** The version its package.json states. */
  readonly version: string;
}

/** Absolute path of a fixture. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** Makes pools and destroys every one of them after each test (also when the test failed half-way). */
export function poolMaker(Pool: PoolClass): (options?: object) => any {
  const made: any[] = [];
  afterEach(async () => {
    const pools = made.splice(0);
    await Promise.allSettled(pools.map((pool) => pool.destroy()));
  });
  return (options?: object) => {
    const pool = new Pool(options);
    made.push(pool);
    return pool;
  };
}

/** Resolves once `predicate` holds, polling every 10 ms; rejects after `ms` (a bound, not a speed claim). */
export async function eventually(predicate: () => boolean, ms = 5_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `test` with the subject's label in front of every title. */
export function labelled(label: string): (name: string, fn: (ctx: TestContext) => void | Promise<void>) => void {
  return (name, fn) => void test(`[${label}] ${name}`, fn);
}
