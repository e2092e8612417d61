// The seeds' large-numeric workload (Ray blog / js-pools-measured B2): a square image convolved
// with a 4×4 filter in 'full' mode (scipy's convolve2d default: the whole (n+3)² output is
// materialized), then every 5th row and column kept. Plain scalar JavaScript; no threads here.

export const FILTER = 4;
export const STRIDE = 5;

/** Side of a square image stored row-major in `image`. */
export function sideOf(image: Float64Array): number {
  const n = Math.round(Math.sqrt(image.length));
  if (n * n !== image.length) throw new Error(`image of ${image.length} elements is not square`);
  return n;
}

/** The blog's image: zeros (a fresh allocation per round), plus a diagonal so results are checkable. */
export function makeImage(n: number, shared = false): Float64Array {
  const img = shared ? new Float64Array(new SharedArrayBuffer(n * n * 8)) : new Float64Array(n * n);
  for (let i = 0; i < n; i++) img[i * n + i] = 1;
  return img;
}

export function makeFilter(index: number): Float64Array {
  const f = new Float64Array(FILTER * FILTER);
  for (let i = 0; i < f.length; i++) f[i] = ((i * 7 + index * 13) % 17) / 17 - 0.5;
  return f;
}

/** convolve2d(image, filter, 'full')[::STRIDE, ::STRIDE]. */
export function convolveFullStrided(image: Float64Array, filter: Float64Array): Float64Array {
  const n = sideOf(image);
  const on = n + FILTER - 1;
  const full = new Float64Array(on * on);
  for (let i = 0; i < on; i++) {
    const outRow = i * on;
    for (let a = 0; a < FILTER; a++) {
      const r = i - a;
      if (r < 0 || r >= n) continue;
      const inRow = r * n;
      for (let b = 0; b < FILTER; b++) {
        const w = filter[a * FILTER + b]!;
        const base = outRow + b;
        for (let c = 0; c < n; c++) full[base + c]! += w * image[inRow + c]!;
      }
    }
  }
  const sn = Math.ceil(on / STRIDE);
  const out = new Float64Array(sn * sn);
  for (let i = 0; i < sn; i++) for (let j = 0; j < sn; j++) out[i * sn + j] = full[i * STRIDE * on + j * STRIDE]!;
  return out;
}

export function checksum(xs: Float64Array): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]! * ((i % 7) + 1);
  return s;
}
