// Where an actor lives: a pure policy over the load of each place. Today a place is a worker thread of this
// node; the cluster extends the same shape to (node, worker) pairs.

/** Chooses a place given the number of actors each one hosts; `exclude` (a restart's old place) is avoided if possible. */
export type PlacementPolicy = (load: readonly number[], exclude: number) => number;

/** The worker hosting the fewest actors (the first of equals); -1 only when there is no worker. */
export const leastLoadedWorker: PlacementPolicy = (load, exclude) => {
  let best = -1;
  for (let i = 0; i < load.length; i++) {
    if (i === exclude && load.length > 1) continue;
    if (best < 0 || load[i]! < load[best]!) best = i;
  }
  return best;
};
