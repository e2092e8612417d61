// The seeds' streaming prefix count (Ray blog "stateful computation"), shared by every variant:
// documents of random 20-byte strings; a counter counts every proper prefix and keeps those
// seen more than POPULAR_AFTER times. Pure functions and one state class; no threads here.

import { mulberry32u } from "../../lib/prng.js";

export const STRING_BYTES = 20;
export const POPULAR_AFTER = 3;

/** Document `index` of a run: `size` latin1 strings of STRING_BYTES random bytes. */
export function makeDocument(index: number, size: number): string[] {
  const next = mulberry32u(0x9e3779b9 ^ Math.imul(index + 1, 0x85ebca6b));
  const doc = new Array<string>(size);
  const codes = new Array<number>(STRING_BYTES);
  for (let i = 0; i < size; i++) {
    for (let b = 0; b < STRING_BYTES; b += 4) {
      const r = next();
      codes[b] = r & 0xff;
      codes[b + 1] = (r >>> 8) & 0xff;
      codes[b + 2] = (r >>> 16) & 0xff;
      codes[b + 3] = r >>> 24;
    }
    doc[i] = String.fromCharCode.apply(null, codes);
  }
  return doc;
}

/** The per-actor state: prefix counts and the prefixes seen more than POPULAR_AFTER times. */
export interface PrefixState {
  counts: Map<string, number>;
  popular: Set<string>;
}

export function emptyState(): PrefixState {
  return { counts: new Map(), popular: new Set() };
}

/** Counts every proper prefix (length 1 .. STRING_BYTES-1) of every string of `doc` into `state`. */
export function countDocument(state: PrefixState, doc: readonly string[]): void {
  const { counts, popular } = state;
  for (const s of doc) {
    for (let len = 1; len < s.length; len++) {
      const p = s.slice(0, len);
      const c = (counts.get(p) ?? 0) + 1;
      counts.set(p, c);
      if (c > POPULAR_AFTER) popular.add(p);
    }
  }
}

/** Union of popular sets: the workload's answer. */
export function mergePopular(parts: Iterable<Iterable<string>>): Set<string> {
  const out = new Set<string>();
  for (const part of parts) for (const p of part) out.add(p);
  return out;
}
