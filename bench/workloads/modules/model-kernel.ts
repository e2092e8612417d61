// The "expensive initialization" workload's model (seeds' B4): building it costs ~300 ms
// (fill a 550×550 matrix from a PRNG, then W = A·Aᵀ/N); evaluating one batch is W·X for a
// 550×32 X. Pure functions; the modules around it decide where the model lives.

import { mulberry32 } from "../../lib/prng.js";

export const MODEL_N = 550;
export const BATCH_COLS = 32;

export interface Model {
  n: number;
  w: Float64Array;
}

/** The expensive part: O(n³). */
export function buildModel(seed: number, n = MODEL_N): Model {
  const rand = mulberry32(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = rand() - 0.5;
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ai = i * n;
    for (let j = 0; j < n; j++) {
      const aj = j * n;
      let s = 0;
      for (let k = 0; k < n; k++) s += a[ai + k]! * a[aj + k]!;
      w[ai + j] = s / n;
    }
  }
  return { n, w };
}

/** Batch `index`: an n × BATCH_COLS matrix, row-major. */
export function makeBatch(index: number, n = MODEL_N): Float64Array {
  const rand = mulberry32(0x51ed27 + index);
  const x = new Float64Array(n * BATCH_COLS);
  for (let i = 0; i < x.length; i++) x[i] = rand();
  return x;
}

/** W·X summarized to one number (the sum of the output) so results stay small. */
export function evaluate(model: Model, x: Float64Array): number {
  const { n, w } = model;
  const out = new Float64Array(BATCH_COLS);
  let total = 0;
  for (let i = 0; i < n; i++) {
    out.fill(0);
    const wi = i * n;
    for (let k = 0; k < n; k++) {
      const wik = w[wi + k]!;
      const xk = k * BATCH_COLS;
      for (let c = 0; c < BATCH_COLS; c++) out[c]! += wik * x[xk + c]!;
    }
    for (let c = 0; c < BATCH_COLS; c++) total += out[c]!;
  }
  return total;
}

export const MODEL_SEED = 20240601;
