// Minimal SVG charts for the results (line chart, grouped bars, horizontal bars with target
// marks). Hand-rolled on purpose: three chart shapes need ~200 lines, output stays
// deterministic and diffable, and the bench gains no dependency (no charting library is in
// package.json; vega would need vega + vega-lite + a headless renderer for the same result).

const W = 760;
const FONT = `font-family="system-ui, -apple-system, Segoe UI, sans-serif"`;
const PALETTE = ["#1f6feb", "#d1242f", "#1a7f37", "#e16f24", "#8250df", "#0a7e8c", "#57606a", "#bf3989"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a >= 1 || a === 0) return `${+v.toPrecision(3)}`;
  return `${+v.toPrecision(2)}`;
}

/** About `count` round tick values covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo)) lo = 0;
  if (!(hi > lo) || !Number.isFinite(hi)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  let v = Math.floor(lo / step) * step;
  out.push(+v.toPrecision(12));
  while (v < hi - step * 1e-9) {
    v += step;
    out.push(+v.toPrecision(12));
  }
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !Number.isFinite(lo)) lo = 1;
  if (!Number.isFinite(hi) || hi < lo) hi = lo * 10;
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

function frame(h: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" ${FONT} font-size="12">`,
    `<rect width="${W}" height="${h}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`,
    ...body,
    `</svg>`,
    "",
  ].join("\n");
}

export interface LineSeries {
  name: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

/** Lines over a shared x axis (x values drawn at their numeric position, log2 when `logX`). */
export function lineChart(title: string, xLabel: string, yLabel: string, series: LineSeries[], opts: { logX?: boolean } = {}): string {
  const H = 420;
  const m = { l: 70, r: 220, t: 40, b: 50 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  series = series.map((s) => ({ ...s, points: s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])) }));
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  if (xs.length === 0) return frame(H, title, [`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text>`]);
  const fx = (x: number) => (opts.logX ? Math.log2(x) : x);
  const x0 = Math.min(...xs.map(fx));
  const x1 = Math.max(...xs.map(fx));
  const yTicks = niceTicks(0, Math.max(...ys));
  const y1 = yTicks[yTicks.length - 1]!;
  const px = (x: number) => m.l + (x1 === x0 ? pw / 2 : ((fx(x) - x0) / (x1 - x0)) * pw);
  const py = (y: number) => m.t + ph - (y / y1) * ph;
  const body: string[] = [];
  for (const t of yTicks) {
    body.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${py(t)}" y2="${py(t)}" stroke="#d0d7de" stroke-width="1"/>`);
    body.push(`<text x="${m.l - 8}" y="${py(t) + 4}" text-anchor="end" fill="#57606a">${fmtTick(t)}</text>`);
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    body.push(`<text x="${px(x)}" y="${m.t + ph + 18}" text-anchor="middle" fill="#57606a">${fmtTick(x)}</text>`);
  }
  body.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#57606a"/>`);
  body.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  body.push(`<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    const d = pts.map((p, k) => `${k === 0 ? "M" : "L"}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(" ");
    body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ` stroke-dasharray="6 4"` : ""}/>`);
    for (const p of pts) body.push(`<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = m.t + 10 + i * 20;
    body.push(`<line x1="${W - m.r + 16}" x2="${W - m.r + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ` stroke-dasharray="6 4"` : ""}/>`);
    body.push(`<text x="${W - m.r + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  return frame(H, title, body);
}

export interface BarGroup {
  label: string;
  values: Array<number | null>;
}

/** Vertical grouped bars on a log10 y axis (throughputs spanning several decades). */
export function groupedBarChart(title: string, yLabel: string, seriesNames: string[], groups: BarGroup[]): string {
  const m = { l: 70, r: 20, t: 60, b: 110 };
  const H = 440;
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const vals = groups.flatMap((g) => g.values).filter((v): v is number => typeof v === "number" && v > 0 && Number.isFinite(v));
  if (vals.length === 0) return frame(H, title, [`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text>`]);
  const ticks = logTicks(Math.min(...vals), Math.max(...vals));
  const lo = Math.log10(ticks[0]!);
  const hi = Math.log10(ticks[ticks.length - 1]!) === lo ? lo + 1 : Math.log10(ticks[ticks.length - 1]!);
  const py = (v: number) => m.t + ph - ((Math.log10(v) - lo) / (hi - lo)) * ph;
  const body: string[] = [];
  for (const t of ticks) {
    body.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${py(t)}" y2="${py(t)}" stroke="#d0d7de"/>`);
    body.push(`<text x="${m.l - 8}" y="${py(t) + 4}" text-anchor="end" fill="#57606a">${fmtTick(t)}</text>`);
  }
  body.push(`<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  const gw = pw / groups.length;
  const bw = Math.min(36, (gw * 0.8) / seriesNames.length);
  groups.forEach((g, gi) => {
    const cx = m.l + gw * gi + gw / 2;
    g.values.forEach((v, si) => {
      const x = cx - (bw * seriesNames.length) / 2 + si * bw;
      if (typeof v !== "number" || v <= 0) {
        body.push(`<text x="${x + bw / 2}" y="${m.t + ph - 4}" text-anchor="middle" fill="#8c959f" font-size="10">n/a</text>`);
        return;
      }
      const y = py(v);
      body.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(m.t + ph - y).toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"/>`);
      body.push(`<text x="${(x + bw / 2 - 1).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="10">${fmtTick(v)}</text>`);
    });
    const words = g.label.split(" ");
    const lines: string[] = [];
    for (const w of words) {
      const last = lines[lines.length - 1];
      if (last !== undefined && (last + " " + w).length <= 20) lines[lines.length - 1] = `${last} ${w}`;
      else lines.push(w);
    }
    lines.slice(0, 5).forEach((l, li) => body.push(`<text x="${cx}" y="${m.t + ph + 16 + li * 13}" text-anchor="middle" font-size="11">${esc(l)}</text>`));
  });
  body.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#57606a"/>`);
  seriesNames.forEach((s, i) => {
    const x = m.l + i * 140;
    body.push(`<rect x="${x}" y="${m.t - 26}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`);
    body.push(`<text x="${x + 18}" y="${m.t - 16}">${esc(s)}</text>`);
  });
  return frame(H, title, body);
}

export interface HBar {
  label: string;
  value: number | null;
  /** Drawn as a tick on the bar's row. */
  target?: number;
  met?: boolean | null;
}

/** Horizontal bars on a log10 axis with 1× marked (speedups: <1 is slower, >1 faster). */
export function speedupChart(title: string, bars: HBar[]): string {
  const rowH = 34;
  const m = { l: 300, r: 70, t: 50, b: 40 };
  const H = m.t + m.b + rowH * Math.max(1, bars.length);
  const pw = W - m.l - m.r;
  const vals = bars.flatMap((b) => [b.value, b.target ?? null]).filter((v): v is number => typeof v === "number" && v > 0 && Number.isFinite(v));
  const ticks = logTicks(Math.min(0.5, ...vals), Math.max(2, ...vals));
  const lo = Math.log10(ticks[0]!);
  const hi = Math.log10(ticks[ticks.length - 1]!);
  const px = (v: number) => m.l + ((Math.log10(v) - lo) / (hi - lo)) * pw;
  const body: string[] = [];
  for (const t of ticks) {
    body.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${m.t - 6}" y2="${H - m.b}" stroke="${t === 1 ? "#57606a" : "#d0d7de"}"/>`);
    body.push(`<text x="${px(t)}" y="${H - m.b + 16}" text-anchor="middle" fill="#57606a">${fmtTick(t)}×</text>`);
  }
  bars.forEach((b, i) => {
    const y = m.t + i * rowH;
    body.push(`<text x="${m.l - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(b.label)}</text>`);
    if (typeof b.value === "number" && b.value > 0) {
      const x0 = px(1);
      const x1 = px(b.value);
      const color = b.met === false ? "#d1242f" : b.met === true ? "#1a7f37" : "#1f6feb";
      body.push(`<rect x="${Math.min(x0, x1).toFixed(1)}" y="${y + 7}" width="${Math.abs(x1 - x0).toFixed(1)}" height="${rowH - 14}" fill="${color}"/>`);
      body.push(`<text x="${(Math.max(x0, x1) + 4).toFixed(1)}" y="${y + rowH / 2 + 4}">${b.value.toFixed(2)}×</text>`);
    } else {
      body.push(`<text x="${px(1) + 4}" y="${y + rowH / 2 + 4}" fill="#8c959f">not measured</text>`);
    }
    if (b.target !== undefined && b.target > 0) {
      const tx = px(b.target).toFixed(1);
      body.push(`<line x1="${tx}" x2="${tx}" y1="${y + 3}" y2="${y + rowH - 3}" stroke="#24292f" stroke-width="2" stroke-dasharray="3 2"/>`);
    }
  });
  body.push(`<text x="${W - m.r}" y="${m.t - 14}" text-anchor="end" fill="#57606a" font-size="11">bar: measured ratio (green met, red missed) · dashed tick: target</text>`);
  return frame(H, title, body);
}
