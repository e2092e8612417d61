// current(): the Loom API of the thread it is called in. Stored on globalThis under a registry symbol, so it
// works however a task module imports Loom (the package name, or a path to another copy of these files).
import { LoomError } from "./errors.js";

const CURRENT = Symbol.for("loom.current");

type Slot = { api: unknown };

export function setCurrent(api: unknown): void {
  (globalThis as unknown as Record<symbol, Slot>)[CURRENT] = { api };
}

export function clearCurrent(api: unknown): void {
  const slot = (globalThis as unknown as Record<symbol, Slot | undefined>)[CURRENT];
  if (slot?.api === api) delete (globalThis as unknown as Record<symbol, Slot | undefined>)[CURRENT];
}

export function peekCurrent<T>(): T | undefined {
  return (globalThis as unknown as Record<symbol, Slot | undefined>)[CURRENT]?.api as T | undefined;
}

export function requireCurrent<T>(): T {
  const api = peekCurrent<T>();
  if (!api) throw new LoomError("current(): no Loom runtime in this thread; call init() first in the driver");
  return api;
}
