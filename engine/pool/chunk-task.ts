// Builds the one generic "apply a chunk" task from an inline function's source.
// Owns only source text: shipping and running it is the engine's job (rt.remote).

/** How a chunk calls the user function on each of its items. */
export type ChunkCall = "single" | "spread";

/**
 * Key of what a chunk task returns instead of its values when an item after the
 * first one throws: the values before it and the thrown value, so the driver can
 * yield those values and then raise the item's TaskError (made by `rethrowSource`).
 * An error thrown by the first item is simply rethrown: there is nothing to keep.
 */
export const CHUNK_FAILURE_KEY = "$loomPoolChunkFailure";

/** A thrown value as a chunk reports it: an error's parts, or a cloneable value. */
export type ThrownValue =
  | { readonly kind: "error"; readonly name: string; readonly message: string; readonly stack: string; readonly cause?: unknown }
  | { readonly kind: "value"; readonly value: unknown };

/** What a chunk returns when item `index` (> 0) threw. */
export interface ChunkFailure {
  readonly index: number;
  /** Results of the items before it, in order. */
  readonly values: unknown[];
  readonly thrown: ThrownValue;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * The source of `fn` as a function expression, so it can be embedded in another
 * function. Method shorthand (`sq(x) {…}`) is rewritten as `function sq(x) {…}`.
 * Throws a TypeError naming the function when it has no usable source (native,
 * bound, class).
 */
export function functionExpressionSource(fn: Function): string {
  const source = Function.prototype.toString.call(fn);
  const label = fn.name ? `function ${fn.name}` : "an anonymous function";
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TypeError(
      `Pool: ${label} has no source to ship (native or bound function); ` +
        `pass an inline self-contained function or a function from rt.module()`,
    );
  }
  if (/^class\b/.test(source)) {
    throw new TypeError(`Pool: ${label} is a class; pass a function`);
  }
  for (const candidate of [source, methodAsFunction(source)]) {
    if (candidate !== undefined && compiles(`return (${candidate});`)) return candidate;
  }
  throw new TypeError(`Pool: cannot ship the source of ${label}: ${abbreviate(source)}`);
}

/** `sq(x){…}` → `function sq(x){…}`; `async *g(){…}` → `async function* g(){…}`. */
function methodAsFunction(source: string): string | undefined {
  const m = /^(async\s+)?(\*\s*)?([A-Za-z_$][\w$]*)\s*\(/.exec(source);
  if (m === null || m[3] === "function") return undefined;
  return `${m[1] ?? ""}function${m[2] ? "*" : ""} ${source.slice(m[0].length - 1 - m[3].length)}`;
}

function compiles(body: string): boolean {
  try {
    // Compiling only; nothing runs, so `__name(...)` from tsx need not exist here.
    new Function(body);
    return true;
  } catch {
    return false;
  }
}

function abbreviate(source: string): string {
  const line = source.replace(/\s+/g, " ");
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

/**
 * The source of a self-contained async function that applies `fn` to every item
 * of a chunk, in order, and returns the results as an array. `call: "spread"`
 * calls `fn(...item)` (starmap). On a failed item see CHUNK_FAILURE_KEY. The chunk
 * function is named after `fn`, so a TaskError names the user function.
 */
export function chunkFunctionSource(fn: Function, call: ChunkCall): string {
  const body = functionExpressionSource(fn);
  const source = (name: string): string => chunkSource(name, body, call);
  const named = IDENTIFIER.test(fn.name) ? source(fn.name) : undefined;
  // A name that is a reserved word (`export default function` is named "default") falls back.
  return named !== undefined && compiles(`return (${named});`) ? named : source("poolChunk");
}

// Locals are `$lp…` so that they do not shadow anything the user function could name.
function chunkSource(name: string, body: string, call: ChunkCall): string {
  const invoke = call === "spread" ? "$lpFn(...$lpItems[$lpI])" : "$lpFn($lpItems[$lpI])";
  return `async function ${name}($lpItems) {
  const $lpFn = (${body});
  const $lpValues = new Array($lpItems.length);
  for (let $lpI = 0; $lpI < $lpItems.length; $lpI++) {
    try {
      const $lpR = ${invoke};
      $lpValues[$lpI] = $lpR !== null && typeof $lpR === "object" && typeof $lpR.then === "function" ? await $lpR : $lpR;
    } catch ($lpError) {
      if ($lpI === 0) throw $lpError;
      let $lpThrown;
      if ($lpError instanceof Error) {
        $lpThrown = { kind: "error", name: String($lpError.name), message: String($lpError.message), stack: String($lpError.stack) };
        if ("cause" in $lpError) {
          try { $lpThrown.cause = structuredClone($lpError.cause); } catch { $lpThrown.cause = String($lpError.cause); }
        }
      } else {
        try { $lpThrown = { kind: "value", value: structuredClone($lpError) }; } catch { $lpThrown = { kind: "value", value: String($lpError) }; }
      }
      return { ${CHUNK_FAILURE_KEY}: { index: $lpI, values: $lpValues.slice(0, $lpI), thrown: $lpThrown } };
    }
  }
  return $lpValues;
}`;
}

/**
 * The source of a task that throws a chunk's reported failure again, rebuilt as
 * the original (same name, message, stack; a built-in error class when it was
 * one), so the engine makes the same TaskError the item would have raised alone.
 */
export function rethrowSource(fn: Function): string {
  const source = (name: string): string => `function ${name}(thrown) {
  if (thrown.kind !== "error") throw thrown.value;
  const Builtin = globalThis[thrown.name];
  const useBuiltin = typeof Builtin === "function" && Builtin.prototype instanceof Error && thrown.name !== "AggregateError";
  const error = useBuiltin ? new Builtin(thrown.message) : new Error(thrown.message);
  if (error.name !== thrown.name) Object.defineProperty(error, "name", { value: thrown.name, configurable: true, writable: true });
  error.stack = thrown.stack;
  if ("cause" in thrown) error.cause = thrown.cause;
  throw error;
}`;
  const named = IDENTIFIER.test(fn.name) ? source(fn.name) : undefined;
  return named !== undefined && compiles(`return (${named});`) ? named : source("poolChunk");
}

/** Compiles a chunk function in this thread (the driver ships its source). */
export function chunkFunction(fn: Function, call: ChunkCall): (items: unknown[]) => Promise<unknown[]> {
  return compile(chunkFunctionSource(fn, call)) as (items: unknown[]) => Promise<unknown[]>;
}

/** The failure a chunk task reported instead of its values, if it did. */
export function chunkFailureOf(value: unknown): ChunkFailure | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const f = (value as Record<string, unknown>)[CHUNK_FAILURE_KEY];
  if (f === null || typeof f !== "object") return undefined;
  const { index, values, thrown } = f as Partial<ChunkFailure>;
  return typeof index === "number" && Array.isArray(values) && thrown !== undefined ? { index, values, thrown } : undefined;
}

/** Compiles the rethrow task in this thread (the driver ships its source). */
export function rethrowFunction(fn: Function): (thrown: ThrownValue) => never {
  return compile(rethrowSource(fn)) as (thrown: ThrownValue) => never;
}

/** tsx wraps named inner functions in `__name(fn, "name")`; the engine's workers define it, so do we. */
const nameHelper = <T>(target: T, value: string): T => {
  try {
    Object.defineProperty(target, "name", { value, configurable: true });
  } catch {
    // frozen: keep its name
  }
  return target;
};

/** Compiles a function expression's source in this thread (its text stays the source). */
export function compileExpression(source: string): Function {
  return compile(source);
}

function compile(source: string): Function {
  return new Function("__name", `"use strict"; return (${source});`)(nameHelper) as Function;
}
