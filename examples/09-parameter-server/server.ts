// A parameter server: an actor holds a linear model's weights; workers fetch them, compute a gradient on their own
// shard of data, and send it back. Fitting y = 3·x0 − 2·x1 + 0.5 from noiseless samples.

/** The actor: weights, and an update step that applies one gradient. */
export class ParameterServer {
  private weights: Float64Array;
  private updates = 0;
  constructor(size: number, private readonly rate: number) {
    this.weights = new Float64Array(size);
  }
  get(): Float64Array {
    return this.weights;
  }
  update(gradient: Float64Array): number {
    for (let i = 0; i < this.weights.length; i++) this.weights[i]! -= this.rate * gradient[i]!;
    return ++this.updates;
  }
}

/** The samples of shard `shard`: x in [-1, 1]², y from the true model (deterministic, so runs repeat). */
function shardData(shard: number, n: number): { x: Float64Array; y: Float64Array } {
  const x = new Float64Array(n * 2), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.sin(shard * 7919 + i * 13), b = Math.cos(shard * 104729 + i * 7);
    x[2 * i] = a; x[2 * i + 1] = b;
    y[i] = 3 * a - 2 * b + 0.5;
  }
  return { x, y };
}

/** The mean-squared-error gradient of the weights [w0, w1, bias] on shard `shard`. */
export function gradient(weights: Float64Array, shard: number, n: number): Float64Array {
  const { x, y } = shardData(shard, n);
  const g = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    const err = weights[0]! * x[2 * i]! + weights[1]! * x[2 * i + 1]! + weights[2]! - y[i]!;
    g[0]! += (2 * err * x[2 * i]!) / n;
    g[1]! += (2 * err * x[2 * i + 1]!) / n;
    g[2]! += (2 * err) / n;
  }
  return g;
}

/** One worker's loop: get the weights, compute a gradient, send it; `steps` times. */
export async function train(server: { get: { remote(): unknown }; update: { remote(g: unknown): unknown } }, shard: number, steps: number): Promise<number> {
  const { current } = await import("loom-dag");
  const rt = current();
  let last = 0;
  for (let s = 0; s < steps; s++) {
    const weights = (await rt.get(server.get.remote() as never)) as Float64Array;
    last = (await rt.get(server.update.remote(gradient(weights, shard, 500)) as never)) as number;
  }
  return last;
}
