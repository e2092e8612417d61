// Tree reduce: combine n refs with n-1 pairwise merge tasks in ceil(log2 n) levels,
// so merges run in parallel instead of one long chain. Knows only `.remote(a, b)`.

/** What a tree reduce needs from a remote function: a pairwise call returning a ref like its inputs. */
export interface PairMerger<Ref> {
  remote(a: Ref, b: Ref): Ref;
}

export interface TreeReduction<Ref> {
  root: Ref;
  /** levels[0] are the inputs, each next level the merges of the one before; the last holds only root. */
  levels: Ref[][];
}

/** Submit the merge tree at once (no waiting): each level pairs neighbours; an odd one out moves up unmerged. */
export function treeReduce<Ref>(inputs: readonly Ref[], merger: PairMerger<Ref>): TreeReduction<Ref> {
  if (inputs.length === 0) throw new Error("treeReduce needs at least one input");
  const levels: Ref[][] = [[...inputs]];
  while (levels[levels.length - 1].length > 1) {
    const prev = levels[levels.length - 1];
    const next: Ref[] = [];
    for (let i = 0; i + 1 < prev.length; i += 2) next.push(merger.remote(prev[i], prev[i + 1]));
    if (prev.length % 2 === 1) next.push(prev[prev.length - 1]);
    levels.push(next);
  }
  return { root: levels[levels.length - 1][0], levels };
}
