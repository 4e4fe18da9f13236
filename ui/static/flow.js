// How a run went: the path through the reasoning graph (drawn from LangGraph's own graph description, served at
// /api/graph: nodes in reading order, edges, which edges loop back) with the nodes visited and the loops taken,
// and a step waterfall (every node's start and end on one time axis, its tool calls and LLM calls nested
// under it, tokens and cost per step). Clicking a node or a row opens that step's card (data-step).

import { clear, fmtDur, fmtNum, h } from "./dom.js";

const LOOP_NAMES = { plan: "re-plan", answer: "re-answer" };

function title(text) {
  return h("svg:title", {}, text);
}

// The transitions a run took: [from, to] pairs, __start__ first and __end__ last when it finished.
export function transitions(steps, { complete = false, running = null } = {}) {
  const seq = ["__start__", ...steps.map((s) => s.node)];
  if (running) seq.push(running);
  else if (complete) seq.push("__end__");
  const out = [];
  for (let i = 1; i < seq.length; i += 1) out.push([seq[i - 1], seq[i]]);
  return out;
}

// outline: {nodes: [{id, label}], edges: [{source, target, conditional, loop}]}
export function drawPath(container, outline, steps, { complete = false, running = null } = {}) {
  clear(container);
  if (!outline) return;
  const nodes = outline.nodes;
  const visits = {};
  steps.forEach((s) => { visits[s.node] = (visits[s.node] || 0) + 1; });
  const taken = {};
  for (const [a, b] of transitions(steps, { complete, running })) taken[`${a}>${b}`] = (taken[`${a}>${b}`] || 0) + 1;
  const charW = 6.6;
  const terminal = (id) => id === "__start__" || id === "__end__";
  const boxW = (n) => (terminal(n.id) ? 14 : n.label.length * charW + 16);
  const needed = nodes.reduce((w, n) => w + boxW(n), 0) + 18 * (nodes.length - 1) + 12;
  const width = Math.max(container.clientWidth || needed, needed);
  const gap = (width - 12 - nodes.reduce((w, n) => w + boxW(n), 0)) / Math.max(nodes.length - 1, 1);
  const loops = outline.edges.filter((e) => e.loop);
  const top = loops.length ? 38 : 8;
  const boxH = 24;
  const height = top + boxH + 30;
  const pos = {};
  let x = 6;
  for (const n of nodes) {
    pos[n.id] = { x, w: boxW(n), cx: x + boxW(n) / 2 };
    x += boxW(n) + gap;
  }
  const svg = h("svg:svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", class: "path-svg", role: "img",
    "aria-label": "path through the reasoning graph" });
  svg.append(h("svg:defs", {},
    ["arrow", "arrow-taken", "arrow-loop"].map((id) => h("svg:marker", { id, viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      h("svg:path", { d: "M0,0 L8,4 L0,8 Z", class: `arrowhead ${id}` })))));
  const mid = top + boxH / 2;
  for (const e of outline.edges) {
    const a = pos[e.source];
    const b = pos[e.target];
    if (!a || !b) continue;
    const n = taken[`${e.source}>${e.target}`] || 0;
    const state = n ? (e.loop ? "loop" : "taken") : "idle";
    const cls = `edge ${state}${e.conditional ? " conditional" : ""}`;
    const marker = `url(#${state === "loop" ? "arrow-loop" : state === "taken" ? "arrow-taken" : "arrow"})`;
    if (e.loop) {
      const x1 = a.cx;
      const x2 = b.cx;
      const d = `M${x1},${top} C${x1},${top - 30} ${x2},${top - 30} ${x2},${top - 2}`;
      const name = LOOP_NAMES[e.target] || `back to ${e.target}`;
      const label = n ? `${name} ×${n}` : `${name} (not taken)`;
      svg.append(h("svg:path", { d, class: cls, "marker-end": marker, dataset: { edge: `${e.source}>${e.target}` } }, title(label)));
      svg.append(h("svg:text", { x: (x1 + x2) / 2, y: top - 26, class: `loop-label ${state}`, "text-anchor": "middle" }, label));
    } else {
      const forward = b.x > a.x;
      const x1 = forward ? a.x + a.w : a.x;
      const x2 = forward ? b.x - 1 : b.x + b.w;
      svg.append(h("svg:line", { x1, y1: mid, x2, y2: mid, class: cls, "marker-end": marker, dataset: { edge: `${e.source}>${e.target}` } },
        title(`${e.source} → ${e.target}${e.conditional ? " (routed)" : ""}${n ? ` · taken ×${n}` : ""}`)));
    }
  }
  for (const n of nodes) {
    const p = pos[n.id];
    const count = visits[n.id] || 0;
    const reached = count > 0 || (n.id === "__start__" && steps.length) || (n.id === "__end__" && complete);
    if (terminal(n.id)) {
      svg.append(h("svg:circle", { cx: p.cx, cy: mid, r: 6, class: `terminal${reached ? " visited" : ""}` }, title(n.label)));
      svg.append(h("svg:text", { x: p.cx, y: top + boxH + 14, class: "node-sub", "text-anchor": "middle" }, n.label));
      continue;
    }
    const isRunning = running === n.id;
    const g = h("svg:g", { class: `gnode${count ? " visited" : ""}${isRunning ? " running" : ""}`, dataset: { node: n.id } },
      title(`${n.id}: ${count ? `${count} visit${count > 1 ? "s" : ""}` : "not visited"}${isRunning ? " · running now" : ""}`));
    g.append(h("svg:rect", { x: p.x, y: top, width: p.w, height: boxH, rx: 5 }));
    g.append(h("svg:text", { x: p.cx, y: mid + 4, "text-anchor": "middle" }, n.label));
    if (count > 1) g.append(h("svg:text", { x: p.cx, y: top + boxH + 14, class: "node-sub loop", "text-anchor": "middle" }, `×${count}`));
    else if (isRunning) g.append(h("svg:text", { x: p.cx, y: top + boxH + 14, class: "node-sub", "text-anchor": "middle" }, "running"));
    svg.append(g);
  }
  container.append(svg);
}

// ------------------------------------------------------------------------------------------------ waterfall

function stepTokens(s) {
  return (s.llm_calls || []).reduce((n, c) => n + c.prompt_tokens + c.completion_tokens, 0);
}

function stepCost(s) {
  return (s.llm_calls || []).reduce((n, c) => n + (c.cost_usd || 0), 0);
}

function niceTicks(span, px) {
  const target = span / Math.max(px / 70, 1);
  for (const s of [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600]) if (s >= target) return s;
  return 1200;
}

// steps: TraceSteps (started_at unix s, wall_s, tool_calls [{name, wall_s}], llm_calls [{purpose, latency_s,
// tokens, cost}]); running: {node, started_at} | null; now: unix seconds (for the running bar).
export function drawWaterfall(container, steps, { running = null, now = null } = {}) {
  clear(container);
  if (!steps.length && !running) {
    container.append(h("p", { class: "muted" }, "No steps yet."));
    return;
  }
  const starts = steps.map((s) => s.started_at);
  if (running?.started_at) starts.push(running.started_at);
  const t0 = Math.min(...starts);
  const ends = steps.map((s) => s.started_at + s.wall_s);
  if (running?.started_at) ends.push(Math.max(now ?? running.started_at, running.started_at));
  const span = Math.max(Math.max(...ends) - t0, 1e-3);
  const rows = [];
  for (const s of steps) {
    rows.push({ kind: "step", step: s, start: s.started_at - t0, end: s.started_at - t0 + s.wall_s });
    let cursor = s.started_at - t0;
    for (const c of s.tool_calls || []) {
      rows.push({ kind: "tool", step: s, call: c, start: cursor, end: cursor + (c.wall_s || 0) });
      cursor += c.wall_s || 0;
    }
    cursor = s.started_at - t0;
    for (const c of s.llm_calls || []) {
      rows.push({ kind: "llm", step: s, call: c, start: cursor, end: cursor + (c.latency_s || 0) });
      cursor += c.latency_s || 0;
    }
  }
  if (running?.node) rows.push({ kind: "running", node: running.node, start: running.started_at - t0, end: Math.max((now ?? 0) - t0, running.started_at - t0) });
  const maxTokens = Math.max(1, ...steps.map(stepTokens));
  const width = Math.max(container.clientWidth || 600, 360);
  const LABEL = 112;
  const RIGHT = 140;
  const durText = (r, text) => (x(r.end) + 52 < width - RIGHT
    ? h("svg:text", { x: x(r.end) + 4, y: 0, class: "wf-dur" }, text)
    : h("svg:text", { x: x(r.start) - 4, y: 0, class: "wf-dur", "text-anchor": "end" }, text));
  const ROWH = 17;
  const inner = width - LABEL - RIGHT - 8;
  const x = (t) => LABEL + (inner * Math.max(0, t)) / span;
  const height = 18 + rows.length * ROWH + 4;
  const svg = h("svg:svg", { width, height, class: "waterfall-svg", role: "img", "aria-label": "step waterfall" });
  const tick = niceTicks(span, inner);
  for (let t = 0; t <= span + 1e-9; t += tick) {
    svg.append(h("svg:line", { x1: x(t), x2: x(t), y1: 14, y2: height, class: "tick" }));
    if (x(t) + 48 < width - RIGHT) svg.append(h("svg:text", { x: x(t) + 2, y: 10, class: "tick-label" }, fmtDur(t)));
  }
  svg.append(h("svg:text", { x: width - RIGHT + 4, y: 10, class: "tick-label" }, "tokens · cost"));
  rows.forEach((r, i) => {
    const y = 18 + i * ROWH;
    const s = r.step;
    const g = h("svg:g", { class: `wf-row wf-${r.kind}`, dataset: { step: s ? s.step : "", node: s ? s.node : r.node } });
    if (r.kind === "step") {
      g.append(h("svg:rect", { x: 0, y: y - 1, width, height: ROWH, class: "wf-hit" }));
      g.append(h("svg:text", { x: 4, y: y + 11, class: "wf-label" }, `#${s.step} ${s.node}`));
      g.append(h("svg:rect", { x: x(r.start), y: y + 2, width: Math.max(x(r.end) - x(r.start), 2), height: ROWH - 5, rx: 2,
        class: `wf-bar node-${s.node}${s.error ? " failed" : ""}` },
      title(`${s.node}: ${fmtDur(s.wall_s)} (from ${fmtDur(r.start)})${s.error ? `\n${s.error}` : ""}`)));
      const dur = durText(r, fmtDur(s.wall_s));
      dur.setAttribute("y", y + 11);
      g.append(dur);
      const tok = stepTokens(s);
      if (tok) {
        g.append(h("svg:rect", { x: width - RIGHT + 4, y: y + 3, width: Math.max(2, ((RIGHT - 92) * tok) / maxTokens), height: ROWH - 7, class: "wf-tokens" },
          title(`${tok} tokens · $${fmtNum(stepCost(s), 5)}`)));
        g.append(h("svg:text", { x: width - 4, y: y + 11, class: "wf-cost", "text-anchor": "end" }, `${tok} tok · $${fmtNum(stepCost(s), 4)}`));
      }
    } else if (r.kind === "running") {
      g.append(h("svg:text", { x: 4, y: y + 11, class: "wf-label" }, `… ${r.node}`));
      g.append(h("svg:rect", { x: x(r.start), y: y + 2, width: Math.max(x(r.end) - x(r.start), 3), height: ROWH - 5, rx: 2, class: "wf-bar running" },
        title(`${r.node}: running for ${fmtDur(r.end - r.start)}`)));
      const dur = durText(r, `${fmtDur(r.end - r.start)} · running`);
      dur.setAttribute("y", y + 11);
      g.append(dur);
    } else {
      const c = r.call;
      const name = r.kind === "tool" ? c.name : `LLM ${c.purpose || "call"}`;
      const tip = r.kind === "tool" ? `tool ${c.name}: ${fmtDur(c.wall_s)}${c.error ? ` · ${c.error}` : ""}`
        : `LLM ${c.purpose} · ${c.model}: ${fmtDur(c.latency_s)} · ${c.prompt_tokens}+${c.completion_tokens} tokens · $${fmtNum(c.cost_usd, 5)}`;
      g.append(h("svg:text", { x: 14, y: y + 11, class: "wf-sub" }, `↳ ${name}`));
      g.append(h("svg:rect", { x: x(r.start), y: y + 4, width: Math.max(x(r.end) - x(r.start), 2), height: ROWH - 9, rx: 2, class: `wf-call ${r.kind}` }, title(tip)));
      if (r.kind === "llm") g.append(h("svg:text", { x: width - 4, y: y + 11, class: "wf-cost", "text-anchor": "end" }, `${c.prompt_tokens}+${c.completion_tokens}`));
    }
    svg.append(g);
  });
  container.append(svg);
  const total = steps.reduce((n, s) => n + s.wall_s, 0);
  const llmS = steps.reduce((n, s) => n + (s.llm_calls || []).reduce((m, c) => m + (c.latency_s || 0), 0), 0);
  const toolS = steps.reduce((n, s) => n + (s.tool_calls || []).reduce((m, c) => m + (c.wall_s || 0), 0), 0);
  container.append(h("p", { class: "muted small wf-foot" },
    `${fmtDur(span)} from the first step's start to the last one's end · ${fmtDur(total)} in nodes: ${fmtDur(toolS)} in tools, ` +
    `${fmtDur(llmS)} in LLM calls. Calls are drawn one after another from their step's start (the trace records how long each took, not when it began).`));
}
