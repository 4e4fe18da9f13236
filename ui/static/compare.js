// Two runs of the same question side by side (e.g. an offline plan against an LLM plan): how each planned,
// what each found and chose, the answers and their citations, the path through the graph, time, tokens, cost.

import { chip, clear, fmtDur, fmtNum, h, seekButton, spanButton } from "./dom.js";
import { drawPath, drawWaterfall } from "./flow.js";

function iou(a, b) {
  if (!a || !b) return null;
  const inter = Math.max(0, Math.min(a[1], b[1]) - Math.max(a[0], b[0]));
  const union = Math.max(a[1], b[1]) - Math.min(a[0], b[0]);
  return union > 0 ? inter / union : a[0] === b[0] ? 1 : 0;
}

function targetOf(r) {
  const t = r.target;
  return t && t.found !== false ? [t.start, t.end] : null;
}

function facts(r) {
  const steps = r.trace.steps || [];
  const a = r.answer || {};
  const plan = r.trace.plan || {};
  const t = targetOf(r);
  return [
    ["planner", plan.planner ? `${plan.planner}${plan.question_type ? ` · ${plan.question_type}` : ""}` : "–"],
    ["sub-events", (plan.sub_events || []).map((e) => `${e.id}: ${e.description}`).join("; ") || "–"],
    ["answer", h("span", { class: a.found === false ? "bad" : "" }, a.text || "–")],
    ["confidence", fmtNum(a.confidence ?? 0, 2)],
    ["target span", t ? spanButton(t[0], t[1]) : "not found"],
    ["citations", (a.citations || []).length ? (a.citations || []).map((c) => seekButton(c.seek ?? c.time, `${c.channel} ${fmtNum(c.seek ?? c.time, 1)}s`, "seek", c.span?.[1])) : "none"],
    ["path", steps.map((s) => s.node).join(" → ")],
    ["time in steps", fmtDur(r.usage?.wall_s ?? 0)],
    ["LLM", `${r.usage?.calls ?? 0} calls · ${(r.usage?.prompt_tokens ?? 0) + (r.usage?.completion_tokens ?? 0)} tokens · $${fmtNum(r.usage?.cost_usd ?? 0, 5)}`],
  ];
}

export function renderCompare(el, a, b, outline) {
  clear(el);
  const same = (a.trace.question || "").trim().toLowerCase() === (b.trace.question || "").trim().toLowerCase();
  const overlap = iou(targetOf(a), targetOf(b));
  const sameAnswer = (a.answer?.text || "") === (b.answer?.text || "");
  el.append(h("p", { class: "small" },
    same ? chip("same question") : chip("different questions", "warn"), " ",
    sameAnswer ? chip("same answer") : chip("different answers", "warn"), " ",
    overlap === null ? chip("a target span is missing", "warn") : chip(`target spans overlap ${Math.round(overlap * 100)}% (IoU)`, overlap > 0.5 ? "" : "warn")));
  const fa = facts(a);
  const fb = facts(b);
  el.append(h("table", { class: "compare-table" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, h("a", { href: `#/run/${a.trace.trace_id}` }, "A"), h("span", { class: "muted small" }, ` ${a.trace.trace_id.slice(0, 8)}`)),
      h("th", {}, h("a", { href: `#/run/${b.trace.trace_id}` }, "B"), h("span", { class: "muted small" }, ` ${b.trace.trace_id.slice(0, 8)}`)))),
    h("tbody", {}, fa.map(([k, va], i) => h("tr", { class: String(va) === String(fb[i][1]) ? "" : "differs" }, h("th", {}, k), h("td", {}, va), h("td", {}, fb[i][1]))))));
  for (const [name, r] of [["A", a], ["B", b]]) {
    const path = h("div", { class: "compare-path" });
    const fall = h("div", { class: "compare-fall" });
    el.append(h("h4", {}, `${name}: path and waterfall`), path, fall);
    requestAnimationFrame(() => {
      drawPath(path, outline, r.trace.steps || [], { complete: r.trace.complete });
      drawWaterfall(fall, r.trace.steps || []);
    });
  }
}
