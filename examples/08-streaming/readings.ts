// A sensor log read in chunks: `chunks` is a generator task that yields one chunk of readings at a time; `stats`
// summarises one chunk. Both run in workers.

/** Yields `n` chunks of `size` readings (a slow source: each chunk takes `ms` to "read"). */
export async function* chunks(n: number, size: number, ms: number): AsyncGenerator<Float64Array> {
  for (let c = 0; c < n; c++) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = Math.sin((c * size + i) * 1e-4) * 10 + 20 + c; // drifts up one degree per chunk
    yield out;
  }
}

/** Min, max and mean of one chunk. */
export function stats(readings: Float64Array): { min: number; max: number; mean: number } {
  let min = Infinity, max = -Infinity, sum = 0;
  for (const r of readings) {
    if (r < min) min = r;
    if (r > max) max = r;
    sum += r;
  }
  return { min, max, mean: sum / readings.length };
}
