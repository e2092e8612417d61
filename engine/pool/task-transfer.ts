// Pool.move() and the Transferable protocol: a value wrapped so that its buffer is moved to the other thread,
// not copied. Used on both sides (task arguments in the driver, results in a pool thread). The two public
// symbols are the registry symbols piscina uses, so an object written for piscina's protocol moves here too.
import { types } from "node:util";

/** The object to put in the transfer list. */
export const transferableSymbol: unique symbol = Symbol.for("Piscina.transferable") as never;
/** The value the receiving side gets. */
export const valueSymbol: unique symbol = Symbol.for("Piscina.valueOf") as never;
/** Marks a Transferable as moved on purpose (made by move(), or marked by it). */
const MOVABLE = Symbol.for("loom.pool.movable");

export interface Transferable {
  readonly [transferableSymbol]: object;
  readonly [valueSymbol]: object;
}

/** A value with both protocol getters. */
export function isTransferable(value: unknown): value is Transferable {
  return value != null && typeof value === "object" && transferableSymbol in value && valueSymbol in value;
}

/** A Transferable that move() marked. */
export function isMovable(value: unknown): value is Transferable {
  return isTransferable(value) && (value as unknown as Record<symbol, unknown>)[MOVABLE] === true;
}

/**
 * Marks `value` to be moved: an ArrayBuffer, a MessagePort or any Transferable as it is; a typed array or
 * DataView moves its buffer and arrives as the same view. Primitives and null come back unchanged.
 */
export function move<T>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  let movable: object = value;
  if (!isTransferable(value)) {
    const view = types.isArrayBufferView(value) ? (value as ArrayBufferView) : undefined;
    const carried: object = view ?? (value as object);
    const buffer: object = view ? view.buffer : (value as object);
    movable = { get [transferableSymbol]() { return buffer; }, get [valueSymbol]() { return carried; } };
  }
  Object.defineProperty(movable, MOVABLE, { value: true, enumerable: false, configurable: true, writable: true });
  return movable as T;
}

/**
 * The value to post and what to move with it: a movable is unwrapped, and what it names as transferable
 * (one object, or an array of them) is added to the list.
 */
export function unwrapMovable(value: unknown, transferList: readonly unknown[] = []): { value: unknown; transferList: unknown[] } {
  if (!isMovable(value)) return { value, transferList: [...transferList] };
  const moved = value[transferableSymbol];
  return { value: value[valueSymbol], transferList: [...transferList, ...(Array.isArray(moved) ? moved : [moved])] };
}
