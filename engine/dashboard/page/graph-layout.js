// A layered layout for the dashboard's graph, left to right, in O(nodes + edges): each node's column is one
// past its furthest predecessor (all three edge kinds order work), columns taller than MAX_ROWS wrap into
// several, and rows are ordered by the mean row of their predecessors (one barycentre pass), which keeps
// chains straight. Good enough for a few thousand nodes; it makes no attempt at minimal crossings.

export const MAX_ROWS = 40;

/**
 * @param {{ id: string }[]} nodes in creation order
 * @param {{ from: string, to: string }[]} edges
 * @returns {{ positions: Map<string, { col: number, row: number }>, cols: number, rows: number }}
 */
export function layoutGraph(nodes, edges) {
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const preds = nodes.map(() => []);
  const succs = nodes.map(() => []);
  const indegree = new Int32Array(nodes.length);
  for (const e of edges) {
    const a = index.get(e.from), b = index.get(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    preds[b].push(a); succs[a].push(b); indegree[b]++;
  }
  // Kahn's order; a node left on a cycle (none should exist) is placed after the rest, in creation order.
  const order = [];
  for (let i = 0; i < nodes.length; i++) if (indegree[i] === 0) order.push(i);
  for (let k = 0; k < order.length; k++) for (const s of succs[order[k]]) if (--indegree[s] === 0) order.push(s);
  if (order.length < nodes.length) {
    const placed = new Uint8Array(nodes.length);
    for (const i of order) placed[i] = 1;
    for (let i = 0; i < nodes.length; i++) if (!placed[i]) order.push(i);
  }
  const layer = new Int32Array(nodes.length);
  for (const i of order) for (const p of preds[i]) if (layer[p] + 1 > layer[i]) layer[i] = layer[p] + 1;
  const byLayer = [];
  for (const i of order) (byLayer[layer[i]] ??= []).push(i);

  const col = new Int32Array(nodes.length);
  const row = new Float64Array(nodes.length);
  let nextCol = 0, rows = 0;
  for (const members of byLayer) {
    if (!members) continue;
    const key = members.map((i) => {
      const p = preds[i];
      if (p.length === 0) return [i, i];
      let sum = 0;
      for (const q of p) sum += row[q] + col[q] * MAX_ROWS;
      return [i, sum / p.length];
    });
    key.sort((a, b) => a[1] - b[1]);
    key.forEach(([i], k) => {
      col[i] = nextCol + Math.floor(k / MAX_ROWS);
      row[i] = k % MAX_ROWS;
    });
    nextCol += Math.ceil(members.length / MAX_ROWS);
    rows = Math.max(rows, Math.min(members.length, MAX_ROWS));
  }
  const positions = new Map();
  nodes.forEach((n, i) => positions.set(n.id, { col: col[i], row: row[i] }));
  return { positions, cols: nextCol, rows };
}
