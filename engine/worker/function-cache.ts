// Resolves function ids to callables in a worker: module exports are imported once and kept; inline
// functions are compiled once from their source. Descriptors arrive from the driver by message.
import { LoomError } from "../errors.js";
import type { FunctionDescriptor } from "../remote.js";

/** Set once: every later TypeScript import waits for the same registration. */
let tsxRegistered: Promise<void> | undefined;
function ensureTypeScriptLoader(url: string): Promise<void> {
  if (!/\.(c|m)?tsx?$/.test(new URL(url).pathname)) return Promise.resolve();
  tsxRegistered ??= import("tsx/esm/api").then(({ register }) => { register(); });
  return tsxRegistered;
}

/** tsx wraps named inner functions in __name(fn, "name"); inline sources may carry those calls. */
const nameHelper = <T>(target: T, value: string): T => {
  try { Object.defineProperty(target, "name", { value, configurable: true }); } catch { /* frozen: keep its name */ }
  return target;
};

/** Method shorthand (`sq(x) { … }`, `async *gen() { … }`) is not an expression; make it a function one. */
function asExpression(source: string): string {
  const m = /^(async\s+)?(\*\s*)?([A-Za-z_$][\w$]*)\s*\(/.exec(source);
  if (!m || m[3] === "function" || m[3] === "async" && !m[1]) return source;
  if (/^(async\s+)?[A-Za-z_$][\w$]*\s*=>/.test(source)) return source;
  return `${m[1] ?? ""}function${m[2] ? "*" : ""} ${source.slice(m[0].length - 1 - m[3].length)}`;
}

export function compileInline(source: string): (...args: unknown[]) => unknown {
  // A self-contained function's source; the only free name it may use is tsx's __name helper.
  const made = new Function("__name", `"use strict"; return (${asExpression(source)});`)(nameHelper);
  if (typeof made !== "function") throw new LoomError("inline remote function source did not evaluate to a function");
  return made;
}

export class FunctionCache {
  private readonly descriptors = new Map<number, FunctionDescriptor>();
  private readonly loaded = new Map<number, Promise<unknown>>();
  private readonly waiting = new Map<number, Array<() => void>>();

  define(id: number, fn: FunctionDescriptor): void {
    this.descriptors.set(id, fn);
    const wake = this.waiting.get(id);
    if (wake) {
      this.waiting.delete(id);
      for (const w of wake) w();
    }
  }

  descriptor(id: number): FunctionDescriptor | undefined {
    return this.descriptors.get(id);
  }

  /** The function or class with this id (imported or compiled on first use). */
  get(id: number): Promise<unknown> {
    let p = this.loaded.get(id);
    if (!p) {
      p = this.load(id);
      p.then((fn) => this.ready.set(id, fn), () => {});
      this.loaded.set(id, p);
    }
    return p;
  }

  /** Imports every module function defined so far; settles, never rejects. Undefined when there are none. */
  warmModules(): Promise<void> | undefined {
    const loads: Promise<unknown>[] = [];
    for (const [id, d] of this.descriptors) if (d.kind === "module") loads.push(this.get(id).catch(() => undefined));
    return loads.length ? Promise.all(loads).then(() => undefined) : undefined;
  }

  /** The function if it is loaded already (the synchronous fast path for small tasks), else undefined. */
  peek(id: number): unknown {
    return this.ready.get(id);
  }
  private readonly ready = new Map<number, unknown>();

  private async load(id: number): Promise<unknown> {
    let d = this.descriptors.get(id);
    if (!d) {
      // The driver posts a definition before pushing any task that uses it; it is in our port's queue.
      await new Promise<void>((resolve) => {
        const list = this.waiting.get(id) ?? [];
        list.push(resolve);
        this.waiting.set(id, list);
      });
      d = this.descriptors.get(id)!;
    }
    if (d.kind === "inline") return compileInline(d.source);
    await ensureTypeScriptLoader(d.url);
    const mod = (await import(d.url)) as Record<string, unknown>;
    const value = mod[d.name];
    if (typeof value !== "function") throw new LoomError(`module ${d.url} has no exported function or class ${JSON.stringify(d.name)}`);
    return value;
  }
}

export { ensureTypeScriptLoader };
