// Loom module for the expensive-initialization workload: an actor that builds the model once
// in its constructor, and a plain task that rebuilds it for every batch (the pool habit).

import { buildModel, evaluate, MODEL_SEED, type Model } from "./model-kernel.js";

export class ModelServer {
  private readonly model: Model;
  constructor(seed: number = MODEL_SEED) {
    this.model = buildModel(seed);
  }
  predict(x: Float64Array): number {
    return evaluate(this.model, x);
  }
}

/** Re-initialise per task: build the model, evaluate one batch, throw the model away. */
export function buildAndPredict(x: Float64Array): number {
  return evaluate(buildModel(MODEL_SEED), x);
}

export function ping(): number {
  return 1;
}

/** Holds a worker for `ms` so that a batch of these reaches every worker (each loads this module). */
export async function warm(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 1;
}
