// apache-arrow for the value codec, loaded the first time an Arrow value is stored or read, not at start-up:
// evaluating the package costs 0.2-0.5 s of CPU per thread (the driver and every worker), about half of the
// smallest program's run time, and most programs never store an Arrow value.
import { createRequire } from "node:module";
import Module from "node:module";
import { fileURLToPath } from "node:url";

type Arrow = typeof import("apache-arrow");

let loaded: Arrow | undefined;

/**
 * Whether a synchronous load gives the instance an ESM `import "apache-arrow"` gives (so `instanceof` holds
 * for the user's classes). It does through require(esm) (Node >= 20.19 / 22.12), unless a require hook
 * compiles files itself: tsx's full loader (`--import tsx`, `tsx file.ts`) does, and makes a second instance.
 */
export function arrowLoadsOnDemand(): boolean {
  const extensions = (Module as unknown as { _extensions: Record<string, unknown> })._extensions;
  return process.features.require_module === true && extensions[".ts"] === undefined;
}

/** Loads apache-arrow now, the way the application imports it; for threads where loading on demand cannot. */
export async function preloadArrow(): Promise<void> {
  loaded ??= await import("apache-arrow");
}

/** The package, loaded on first use. */
export function arrowModule(): Arrow {
  if (loaded) return loaded;
  const path = fileURLToPath(import.meta.resolve("apache-arrow"));
  loaded = createRequire(import.meta.url)(path) as Arrow;
  return loaded;
}

// apache-arrow (v15 and later) brands its instances with these registry symbols, the same in every copy of the
// package: its own `instanceof` checks read them too, so a value is recognized without loading the package.
const TABLE = Symbol.for("apache-arrow/Table");
const RECORD_BATCH = Symbol.for("apache-arrow/RecordBatch");

export function isArrowTable(value: object): boolean {
  return (value as { [TABLE]?: unknown })[TABLE] === true;
}

export function isArrowBatch(value: object): boolean {
  return (value as { [RECORD_BATCH]?: unknown })[RECORD_BATCH] === true;
}
