// Argument checks shared by the driver's API and a worker's (`current()`), so that a misuse fails alike in both.
import { LoomError } from "./errors.js";
import { isObjectRef, type ObjectRef } from "./refs.js";
import type { ObjectId } from "./ids.js";

/** A value as an error message names it: its type, and its text for primitives. */
export function describeArgument(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return `an instance of ${(value as object).constructor?.name ?? "Object"}`;
  return `${typeof value} ${String(value)}`;
}

function checkOptionKeys(what: string, options: unknown, known: readonly string[]): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new LoomError(`${what}(): options must be an object, got ${describeArgument(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new LoomError(`${what}(): unknown option ${JSON.stringify(key)}; known options: ${known.join(", ")}`);
  }
}

const GET_OPTIONS = ["timeoutMs"] as const;
const WAIT_OPTIONS = ["numReturns", "timeoutMs"] as const;

/** Checks `get`'s options: an unknown key is refused, as in `.options()`, rather than silently ignored. */
export function checkGetOptions(options: unknown): void {
  checkOptionKeys("get", options, GET_OPTIONS);
}

/**
 * Checks `wait`'s arguments and returns how many refs it waits for (0 for an empty list). Refs must be distinct,
 * as in Ray: a ref listed twice could never make up two of the `numReturns` ready ones.
 */
export function checkWaitArgs(refs: unknown, options: { numReturns?: number; timeoutMs?: number }): number {
  if (!Array.isArray(refs)) throw new LoomError(`wait(): expected an array of ObjectRefs, got ${describeArgument(refs)}`);
  checkOptionKeys("wait", options, WAIT_OPTIONS);
  const firstAt = new Map<ObjectId, number>();
  refs.forEach((r: unknown, i) => {
    if (!isObjectRef(r)) throw new LoomError(`wait(): refs[${i}] is not an ObjectRef (${describeArgument(r)})`);
    const first = firstAt.get((r as ObjectRef).id);
    if (first !== undefined) throw new LoomError(`wait(): refs[${i}] repeats refs[${first}] (${String(r)}); wait takes distinct refs`);
    firstAt.set((r as ObjectRef).id, i);
  });
  if (refs.length === 0) return 0;
  const want = options.numReturns ?? 1;
  if (!Number.isInteger(want) || want < 1) throw new LoomError(`wait(): invalid numReturns ${String(options.numReturns)}`);
  if (want > refs.length) throw new LoomError(`wait(): numReturns ${want} is more than the ${refs.length} refs given`);
  checkTimeout("wait()", options.timeoutMs);
  return want;
}

/** `timeoutMs` anywhere: undefined, or a number >= 0 (Infinity meaning none). */
export function checkTimeout(what: string, timeoutMs: unknown): void {
  if (timeoutMs === undefined) return;
  if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
    throw new LoomError(`${what}: invalid timeoutMs ${describeArgument(timeoutMs)} (expected a number >= 0, Infinity for none)`);
  }
}

/** Why a new actor was refused its name, in the driver and in a task alike. */
export function nameTakenMessage(name: string): string {
  return `an actor named ${JSON.stringify(name)} already exists; pick another name or kill it first`;
}
