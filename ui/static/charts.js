// SVG drawings tied to the player: the timeline (events / scenes / shots / speech / spans / citations) and
// one similarity-curve plot per sub-event (curves per channel, proposals, the chosen span). Every clickable
// item carries data-seek (seconds); app.js turns clicks into player seeks. setTime(t) moves the playheads.

import { CHANNEL_COLORS, clear, eventColor, fmtSpan, fmtTime, fmtNum, h } from "./dom.js";

const GUTTER = 78; // left label column (px)
const RIGHT = 10;
const ROW = 18;
const GAP = 5;

function scaleFor(width, duration) {
  const span = Math.max(duration, 1e-6);
  const inner = Math.max(width - GUTTER - RIGHT, 50);
  const x = (t) => GUTTER + (inner * Math.min(Math.max(t, 0), span)) / span;
  const t = (px) => Math.min(Math.max(((px - GUTTER) / inner) * span, 0), span);
  return { x, t, inner };
}

function niceStep(duration, inner) {
  const target = duration / Math.max(inner / 80, 1);
  for (const s of [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600]) if (s >= target) return s;
  return 7200;
}

function title(text) {
  return h("svg:title", {}, text);
}

function ruler(svg, sc, duration, y, height) {
  const step = niceStep(duration, sc.inner);
  for (let t = 0; t <= duration + 1e-6; t += step) {
    svg.append(h("svg:line", { x1: sc.x(t), x2: sc.x(t), y1: y, y2: y + height, class: "tick" }));
    if (sc.x(t) + 40 < sc.x(duration) + RIGHT) svg.append(h("svg:text", { x: sc.x(t) + 2, y: y + 10, class: "tick-label" }, fmtTime(t)));
  }
}

function seekOnBackground(svg, sc) {
  svg.addEventListener("click", (e) => {
    if (e.target.closest("[data-seek]")) return;
    const box = svg.getBoundingClientRect();
    const px = e.clientX - box.left;
    if (px < GUTTER) return;
    svg.dispatchEvent(new CustomEvent("seek", { bubbles: true, detail: sc.t(px) }));
  });
}

function playhead(svg, height) {
  const line = h("svg:line", { x1: -10, x2: -10, y1: 0, y2: height, class: "playhead" });
  svg.append(line);
  return line;
}

function shortLabel(text, max = 11) {
  const t = String(text ?? "");
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

// rows: [{label, title, items: [{start, end, color, text, cls}], markers: [{time, color, text, cls}]}]
// Returns setTime(t); highlightSpan(container, [s, e] | null) shows a band across every row.
export function drawTimeline(container, duration, rows) {
  clear(container);
  const width = container.clientWidth || 800;
  const sc = scaleFor(width, duration);
  const height = 16 + rows.length * (ROW + GAP);
  const svg = h("svg:svg", { width, height, class: "timeline-svg", role: "img", "aria-label": "timeline" });
  ruler(svg, sc, duration, 0, height);
  rows.forEach((row, i) => {
    const y = 16 + i * (ROW + GAP);
    svg.append(h("svg:g", {}, title(row.title || row.label),
      h("svg:text", { x: 4, y: y + 13, class: `row-label ${row.labelCls || ""}`, fill: row.labelColor || null }, shortLabel(row.label))));
    svg.append(h("svg:rect", { x: GUTTER, y, width: sc.inner, height: ROW, class: "row-bg" }));
    for (const it of row.items || []) {
      const x0 = sc.x(it.start);
      const w = Math.max(sc.x(it.end) - x0, 2);
      svg.append(
        h(
          "svg:rect",
          {
            x: x0, y: y + 1, width: w, height: ROW - 2, rx: 2,
            class: `tl-item ${it.cls || ""}`, fill: it.color || "#8aa",
            dataset: { seek: it.start, spanStart: it.start, spanEnd: it.end },
          },
          title(`${it.text ? it.text + "\n" : ""}${fmtSpan(it.start, it.end)}`),
        ),
      );
    }
    for (const m of row.markers || []) {
      const cx = sc.x(m.time);
      const path = `M${cx},${y + 1} L${cx + 6},${y + ROW / 2} L${cx},${y + ROW - 1} L${cx - 6},${y + ROW / 2} Z`;
      svg.append(
        h("svg:path", { d: path, class: `tl-marker ${m.cls || ""}`, fill: m.color || "#d33", dataset: { seek: m.seek ?? m.time } },
          title(`${m.text ? m.text + "\n" : ""}${fmtTime(m.time)}`)),
      );
    }
  });
  const band = h("svg:rect", { x: -10, y: 14, width: 0, height: height - 14, class: "cite-band", visibility: "hidden" });
  svg.append(band);
  const head = playhead(svg, height);
  seekOnBackground(svg, sc);
  container.append(svg);
  container.vrTimeline = { sc, band };
  return (t) => { const x = sc.x(t); head.setAttribute("x1", x); head.setAttribute("x2", x); };
}

export function highlightSpan(container, span) {
  const tl = container.vrTimeline;
  if (!tl) return;
  if (!span) { tl.band.setAttribute("visibility", "hidden"); return; }
  const [s, e] = span;
  const x0 = tl.sc.x(s);
  tl.band.setAttribute("x", x0 - (e - s < 1e-6 ? 2 : 0));
  tl.band.setAttribute("width", Math.max(tl.sc.x(e) - x0, 4));
  tl.band.setAttribute("visibility", "visible");
  tl.band.dataset.start = s;
  tl.band.dataset.end = e;
}

// One plot per sub-event. events: [{id, description, curve_times, curves: {channel: [..]}, proposals: [...],
// chosen: [s, e] | null}]
export function drawCurves(container, duration, events) {
  clear(container);
  const setters = [];
  if (!events.length) {
    container.append(h("p", { class: "muted" }, "No sub-event curves for this run."));
    return () => {};
  }
  for (const ev of events) {
    const width = container.clientWidth || 800;
    const sc = scaleFor(width, duration);
    const height = 118;
    const top = 22; // proposal band
    const plotTop = top + 16;
    const plotH = height - plotTop - 14;
    const all = Object.values(ev.curves || {}).flat().filter((v) => Number.isFinite(v));
    const lo = Math.min(0, ...all);
    const peak = Math.max(lo, ...all);
    const hi = peak - lo > 1e-9 ? peak : lo + 1; // a flat curve is drawn on [lo, lo + 1]
    const y = (v) => plotTop + plotH - ((v - lo) / (hi - lo)) * plotH;
    const svg = h("svg:svg", { width, height, class: "curve-svg", role: "img", "aria-label": `curves of ${ev.id}` });
    svg.append(h("svg:text", { x: 4, y: 14, class: "curve-title", fill: eventColor(ev.id) }, `${ev.id}: ${ev.description}`));
    svg.append(h("svg:rect", { x: GUTTER, y: plotTop, width: sc.inner, height: plotH, class: "row-bg" }));
    svg.append(h("svg:text", { x: GUTTER - 4, y: plotTop + 9, class: "axis-label", "text-anchor": "end" }, fmtNum(hi, 2)));
    svg.append(h("svg:text", { x: GUTTER - 4, y: plotTop + plotH, class: "axis-label", "text-anchor": "end" }, fmtNum(lo, 2)));
    if (ev.chosen) {
      const [s, e] = ev.chosen;
      svg.append(
        h("svg:rect", {
          x: sc.x(s), y: plotTop, width: Math.max(sc.x(e) - sc.x(s), 2), height: plotH,
          class: "chosen", fill: eventColor(ev.id), stroke: eventColor(ev.id), dataset: { seek: s },
        }, title(`chosen span ${fmtSpan(s, e)}`)),
      );
    }
    (ev.proposals || []).forEach((p, k) => {
      const x0 = sc.x(p.start);
      const w = Math.max(sc.x(p.end) - x0, 2);
      const picked = ev.chosen && Math.abs(ev.chosen[0] - p.start) < 1e-3 && Math.abs(ev.chosen[1] - p.end) < 1e-3;
      svg.append(
        h("svg:rect", {
          x: x0, y: top + (k % 2) * 7, width: w, height: 6, rx: 2,
          class: `proposal${picked ? " picked" : ""}`, fill: eventColor(ev.id), dataset: { seek: p.start },
        }, title(`proposal #${k + 1} ${fmtSpan(p.start, p.end)} score ${fmtNum(p.score)}${picked ? " (chosen)" : ""}`)),
      );
    });
    const times = ev.curve_times || [];
    let legendX = width - RIGHT;
    for (const [name, values] of Object.entries(ev.curves || {}).reverse()) {
      const pts = values.map((v, i) => `${sc.x(times[i] ?? 0).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      const color = CHANNEL_COLORS[name] || "#555";
      svg.append(h("svg:polyline", { points: pts, class: `curve curve-${name}`, stroke: color }, title(name)));
      const label = h("svg:text", { x: legendX, y: 14, class: "legend", fill: color, "text-anchor": "end" }, name);
      svg.append(label);
      legendX -= 9 * name.length + 14;
    }
    const head = playhead(svg, height);
    seekOnBackground(svg, sc);
    container.append(h("div", { class: "curve-block", dataset: { event: ev.id } }, svg));
    setters.push((t) => { const x = sc.x(t); head.setAttribute("x1", x); head.setAttribute("x2", x); });
  }
  return (t) => setters.forEach((f) => f(t));
}
