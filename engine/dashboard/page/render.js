// The page's renderers: each takes the page's state and redraws one panel. Text goes in through textContent
// only (function names and stacks are the user's data, never markup).
import { layoutGraph } from "./graph-layout.js";

const SVG = "http://www.w3.org/2000/svg";

export function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "text") node.textContent = String(v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c);
  return node;
}

function td(text, cls) {
  return el("td", { class: cls, text });
}

function fillBody(table, rows) {
  table.tBodies[0].replaceChildren(...rows);
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n, u = -1;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

function clock(ms) {
  return ms ? new Date(ms).toLocaleTimeString() : "";
}

function duration(row, now) {
  if (!row.startedAt) return "";
  const ms = (row.finishedAt ?? now) - row.startedAt;
  return ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function renderNodes(table, nodes) {
  fillBody(table, nodes.map((n) => {
    const res = Object.keys(n.resources).sort().map((k) => `${k} ${+(n.resources[k] - (n.available[k] ?? 0)).toFixed(2)} / ${n.resources[k]}`).join(", ");
    const role = [n.isHead ? "head" : "", n.isDriver ? "driver" : ""].filter(Boolean).join(", ");
    return el("tr", { "data-node-id": n.nodeId }, td(n.nodeId.slice(0, 12)), td(n.address), td(n.state, `state-${n.state}`), td(role), td(n.workers, "num"), td(res));
  }));
}

export function renderWorkers(box, workers) {
  box.replaceChildren(...workers.map((w) => el("div",
    { class: `worker ${!w.alive ? "dead" : w.busy ? "busy" : "idle"}`, "data-worker-id": w.workerId },
    el("strong", { text: `worker ${w.workerId}` }), " ",
    el("span", { class: "worker-state", text: !w.alive ? "dead" : w.busy ? "busy" : "idle" }),
    el("div", { class: "worker-task", text: w.busy ? `${w.functionName} (${w.taskId})` : "—" }))));
}

export function renderCounts(table, counts) {
  const names = Object.keys(counts).sort();
  fillBody(table, names.map((name) => {
    const c = counts[name];
    return el("tr", { "data-function": name }, td(name), td(c.pending, "num"), td(c.running, "num state-running"), td(c.finished, "num"), td(c.failed, c.failed ? "num state-failed" : "num"), td(c.cancelled ?? 0, "num state-cancelled"));
  }));
}

// Charts draw in the SVG's own pixel size (read each time), so that text is never stretched.
export function renderThroughput(svg, buckets, now) {
  const W = svg.clientWidth || 600, H = svg.clientHeight || 160, span = 120;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const last = Math.floor(now / 1000);
  const points = [];
  for (let b = last - span + 1; b <= last; b++) points.push(buckets.get(b * 1000) ?? { finished: 0, failed: 0 });
  const max = Math.max(1, ...points.map((p) => p.finished + p.failed));
  const line = (f) => points.map((p, i) => `${(i / (span - 1) * W).toFixed(1)},${(H - 14 - f(p) / max * (H - 24)).toFixed(1)}`).join(" ");
  svg.replaceChildren(
    el("svg:polyline", { points: line((p) => p.finished), fill: "none", stroke: "#16a34a", "stroke-width": 1.5, class: "finished" }),
    el("svg:polyline", { points: line((p) => p.failed), fill: "none", stroke: "#dc2626", "stroke-width": 1.5, class: "failed" }),
    el("svg:text", { x: 4, y: 12, "font-size": 11, fill: "#6b7280", text: `max ${max}/s` }),
    el("svg:text", { x: W - 4, y: H - 2, "font-size": 11, fill: "#6b7280", "text-anchor": "end", text: `now: ${points[points.length - 2]?.finished ?? 0}/s` }));
}

const STATE_COLOR = { pending: "#a3a3a3", running: "#2563eb", finished: "#16a34a", failed: "#dc2626", cancelled: "#d97706" };

export function renderTimeline(svg, workers, tasks, now) {
  const span = 30_000, W = svg.clientWidth || 1000, lane = 18, left = 70;
  const lanes = Math.max(1, workers.length);
  const H = lanes * lane + 4;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.style.height = `${H}px`;
  const x = (t) => left + Math.max(0, (t - (now - span)) / span) * (W - left);
  const parts = workers.map((w, i) => el("svg:text", { x: 4, y: i * lane + 14, "font-size": 11, fill: w.alive ? "#1d1d1f" : "#dc2626", text: `worker ${w.workerId}` }));
  for (const t of tasks) {
    if (t.workerId === null || !t.startedAt) continue;
    const end = t.finishedAt ?? now;
    if (end < now - span) continue;
    const x0 = x(t.startedAt), x1 = Math.max(x0 + 1, x(end));
    const rect = el("svg:rect", { x: x0.toFixed(1), y: t.workerId * lane + 3, width: (x1 - x0).toFixed(1), height: lane - 6, fill: STATE_COLOR[t.state] ?? "#888", class: `span state-${t.state}`, "data-task-id": t.taskId });
    rect.append(el("svg:title", { text: `${t.functionName} ${t.taskId} (${t.state})` }));
    parts.push(rect);
  }
  svg.replaceChildren(...parts);
}

export function renderRecent(table, tasks, now, limit = 25) {
  const rows = [];
  for (const t of tasks) {
    if (rows.length >= limit) break;
    rows.push(el("tr", { "data-task-id": t.taskId, "data-state": t.state },
      td(t.taskId), td(t.functionName), td(t.state, `task-state state-${t.state}`), td(t.workerId ?? "", "num"),
      td(clock(t.submittedAt)), td(duration(t, now), "num"), td(t.error ?? "", "state-failed")));
  }
  fillBody(table, rows);
}

export function renderActors(table, actors) {
  fillBody(table, [...actors].sort((a, b) => a.actorId - b.actorId).map((a) => el("tr", { "data-actor-id": a.actorId },
    td(a.actorId), td(a.className), td(a.name ?? ""), td(a.state, `state-${a.state}`), td(a.nodeId.slice(0, 12)),
    td(a.restarts, "num actor-restarts"), td(a.pendingCalls, "num"))));
}

export function renderStore(box, s) {
  if (!s) return;
  const pct = s.capacity ? Math.min(100, s.bytesInMemory / s.capacity * 100) : 0;
  box.replaceChildren(
    el("div", { text: `in memory: ${bytes(s.bytesInMemory)} of ${bytes(s.capacity)} (${pct.toFixed(1)}%)`, id: "store-memory" }),
    el("div", { class: "bar" }, el("div", { style: `width:${pct}%` })),
    el("div", { text: `arena ${bytes(s.arenaBytes)} · segments ${bytes(s.segmentBytes)} · kept for reuse ${bytes(s.reusableBytes)}` }),
    el("div", { text: `spilled: ${bytes(s.bytesSpilled)}`, id: "store-spilled" }),
    el("div", { text: `objects: ${s.objects}`, id: "store-objects" }));
}

export function renderErrors(box, errors) {
  if (!errors.length) { box.replaceChildren(el("p", { class: "empty", text: "none" })); return; }
  box.replaceChildren(...errors.slice().reverse().map((e, i) => el("details", { "data-task-id": e.taskId, class: "error", ...(i === 0 ? { open: "" } : {}) },
    el("summary", { text: `${clock(e.at)} ${e.functionName} (${e.taskId}): ${e.name}: ${e.message}` }),
    el("pre", { class: "stack", text: e.stack || "(no stack)" }))));
}

export function renderEvents(list, events) {
  list.replaceChildren(...events.map((e) => el("li", { "data-event": e.name, text: `${clock(e.at)} ${e.name} ${e.text}` })));
}

export function renderGraph(svg, info, graph) {
  const { positions, cols, rows } = layoutGraph(graph.nodes, graph.edges);
  const dx = graph.nodes.length > 300 ? 18 : 90, dy = graph.nodes.length > 300 ? 14 : 26, pad = 10;
  const at = (id) => { const p = positions.get(id); return p && [pad + p.col * dx, pad + p.row * dy]; };
  svg.setAttribute("width", pad * 2 + Math.max(1, cols) * dx);
  svg.setAttribute("height", pad * 2 + Math.max(1, rows) * dy);
  const parts = [];
  for (const e of graph.edges) {
    const a = at(e.from), b = at(e.to);
    if (!a || !b) continue;
    parts.push(el("svg:line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], class: `edge edge-${e.kind}`, "data-kind": e.kind }));
  }
  const labels = graph.nodes.length <= 300;
  for (const n of graph.nodes) {
    const [x, y] = at(n.id);
    const g = el("svg:g", { class: `node state-${n.state}`, "data-task-id": n.id });
    g.append(el("svg:circle", { cx: x, cy: y, r: labels ? 5 : 3, fill: STATE_COLOR[n.state] ?? "#888" }),
      el("svg:title", { text: `${n.name} ${n.id} (${n.kind}, ${n.state})` }));
    if (labels) g.append(el("svg:text", { x: x + 7, y: y + 4, "font-size": 10, text: n.name.length > 12 ? n.name.slice(0, 11) + "…" : n.name }));
    parts.push(g);
  }
  svg.replaceChildren(...parts);
  const kinds = { data: 0, control: 0, stateful: 0 };
  for (const e of graph.edges) kinds[e.kind]++;
  info.textContent = `${graph.nodes.length} nodes${graph.truncated ? ` (newest of ${graph.total}${graph.total < 100000 ? "" : "+"})` : ""}, edges: ${kinds.data} data, ${kinds.control} control, ${kinds.stateful} stateful`;
}
