// The page: holds what the server sent (a snapshot on connect, then deltas that replace rows by key) and
// redraws at most every RENDER_MS. The graph is fetched on its own, every GRAPH_MS while its box is shown.
import {
  renderNodes, renderWorkers, renderCounts, renderThroughput, renderTimeline, renderRecent, renderActors,
  renderStore, renderErrors, renderEvents, renderGraph,
} from "./render.js";

const RENDER_MS = 250;
const GRAPH_MS = 3000;
const TASK_LIMIT = 500;
const ERROR_LIMIT = 50;
const EVENT_LIMIT = 100;

const state = {
  nodes: [], workers: [], counts: {}, tasks: new Map(), actors: new Map(), store: null, errors: [],
  throughput: new Map(), events: [], eventCount: 0, dropped: 0, clockSkew: 0,
};
const $ = (id) => document.getElementById(id);

function setTasks(rows) {
  for (const r of rows) {
    state.tasks.delete(r.taskId);
    state.tasks.set(r.taskId, r);
  }
  while (state.tasks.size > TASK_LIMIT) state.tasks.delete(state.tasks.keys().next().value);
}

function setThroughput(buckets) {
  for (const b of buckets) state.throughput.set(b.at, b);
  const oldest = Date.now() - state.clockSkew - 600_000;
  for (const at of state.throughput.keys()) if (at < oldest) state.throughput.delete(at);
}

function addErrors(errors) {
  const known = new Set(state.errors.map((e) => `${e.taskId}@${e.at}`));
  for (const e of errors) if (!known.has(`${e.taskId}@${e.at}`)) state.errors.push(e);
  if (state.errors.length > ERROR_LIMIT) state.errors.splice(0, state.errors.length - ERROR_LIMIT);
}

function applySnapshot(s) {
  state.clockSkew = Date.now() - s.time;
  state.nodes = s.nodes;
  state.workers = s.workers;
  state.counts = s.tasks.counts;
  state.tasks = new Map();
  setTasks(s.tasks.recent.slice().reverse());
  state.actors = new Map(s.actors.map((a) => [a.actorId, a]));
  state.store = s.store;
  state.errors = [];
  addErrors(s.errors);
  state.throughput = new Map();
  setThroughput(s.throughput.buckets);
}

function applyDelta(d) {
  state.clockSkew = Date.now() - d.time;
  if (d.nodes) state.nodes = d.nodes;
  if (d.workers) state.workers = d.workers;
  if (d.counts) state.counts = d.counts;
  if (d.tasks) setTasks(d.tasks);
  for (const a of d.actors ?? []) state.actors.set(a.actorId, a);
  for (const id of d.actorsGone ?? []) state.actors.delete(id);
  if (d.store) state.store = d.store;
  if (d.errors) addErrors(d.errors);
  if (d.throughput) setThroughput(d.throughput);
}

function noteEvent(name, data) {
  state.eventCount++;
  const ids = ["taskId", "actorId", "objectId", "worker", "nodeId"].filter((k) => data[k] !== undefined).map((k) => `${k}=${data[k]}`);
  state.events.unshift({ name, at: Date.now(), text: [data.name ?? data.className ?? "", ...ids, data.reason ?? ""].filter(Boolean).join(" ") });
  if (state.events.length > EVENT_LIMIT) state.events.length = EVENT_LIMIT;
}

const EVENTS = [
  "task:submitted", "task:started", "task:finished", "task:failed", "task:cancelled", "task:retried", "task:infeasible",
  "worker:started", "worker:died", "worker:error", "object:spilled", "object:lost", "object:rebuilt",
  "actor:restarted", "actor:died", "node:added", "node:died",
];

function connect() {
  const source = new EventSource("api/events");
  const badge = $("connection");
  source.addEventListener("open", () => { badge.textContent = "live"; badge.className = "badge live"; });
  source.addEventListener("error", () => { badge.textContent = "reconnecting…"; badge.className = "badge down"; });
  source.addEventListener("dashboard:snapshot", (m) => { applySnapshot(JSON.parse(m.data)); schedule(); });
  source.addEventListener("dashboard:delta", (m) => { applyDelta(JSON.parse(m.data)); schedule(); });
  source.addEventListener("dashboard:dropped", (m) => {
    for (const n of Object.values(JSON.parse(m.data))) state.dropped += n;
  });
  for (const name of EVENTS) source.addEventListener(name, (m) => { noteEvent(name, JSON.parse(m.data)); schedule(); });
}

let scheduled = false;
let lastRender = 0;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => { scheduled = false; render(); }, Math.max(0, RENDER_MS - (Date.now() - lastRender)));
}

let rateFrom = { at: Date.now(), count: 0 };
function render() {
  lastRender = Date.now();
  const now = Date.now() - state.clockSkew;
  const tasks = [...state.tasks.values()].reverse();
  renderNodes($("nodes"), state.nodes);
  renderWorkers($("workers"), state.workers);
  renderCounts($("counts"), state.counts);
  renderThroughput($("throughput"), state.throughput, now);
  renderTimeline($("timeline"), state.workers, tasks, now);
  renderRecent($("recent"), tasks, now);
  renderActors($("actors"), state.actors.values());
  renderStore($("store"), state.store);
  renderErrors($("errors"), state.errors);
  renderEvents($("events"), state.events);
  $("clock").textContent = new Date(now).toLocaleTimeString();
  const seconds = (lastRender - rateFrom.at) / 1000;
  if (seconds >= 1) {
    const rate = (state.eventCount + state.dropped - rateFrom.count) / seconds;
    $("event-rate").textContent = `${rate.toFixed(0)} events/s${state.dropped ? ` (${state.dropped} not shown)` : ""}`;
    rateFrom = { at: lastRender, count: state.eventCount + state.dropped };
  }
}

let graphKey = "";
async function refreshGraph() {
  try {
    const response = await fetch("api/graph?limit=3000");
    if (!response.ok) return;
    const graph = await response.json();
    const last = graph.nodes[graph.nodes.length - 1];
    const key = `${graph.total}|${graph.edges.length}|${last?.id}|${graph.nodes.map((n) => n.state[0]).join("")}`;
    if (key !== graphKey) { graphKey = key; renderGraph($("graph"), $("graph-info"), graph); }
  } catch {
    // the runtime may have shut down; the next tick tries again
  }
}

// rt.graph() copies up to 100k nodes in the driver: ask for it only while someone can see the graph.
let graphVisible = false;
new IntersectionObserver((entries) => { graphVisible = entries.some((e) => e.isIntersecting); }).observe($("graph-section"));

connect();
refreshGraph();
setInterval(() => { if ($("graph-live").checked && graphVisible && !document.hidden) refreshGraph(); }, GRAPH_MS);
// Time moves even when no event arrives: the timeline and the chart slide.
setInterval(schedule, 1000);
