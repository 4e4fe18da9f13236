// Panels of a run page: answer with citations, plan, ordering verdict, the steps (inputs / outputs / tool
// calls / LLM calls), the hierarchy tree and the transcript. Everything is built with text nodes.

import { clear, eventColor, fmtNum, fmtSpan, fmtTime, h, json, seekButton } from "./dom.js";

export function renderAnswer(el, detail) {
  clear(el);
  const a = detail.answer;
  if (!a) {
    el.append(h("p", { class: "muted" }, detail.trace.complete ? "No answer recorded." : "The run did not finish."));
    return;
  }
  el.append(h("p", { class: "answer-text" }, a.text || "(empty)"));
  const meta = [`confidence ${fmtNum(a.confidence ?? 0, 2)}`, a.source ? `by ${a.source}` : null];
  if (a.verified !== undefined) meta.push(a.verified ? "verified" : "not verified");
  el.append(h("p", { class: "muted small" }, meta.filter(Boolean).join(" · ")));
  const cites = a.citations || [];
  if (!cites.length) el.append(h("p", { class: "muted" }, "No citations."));
  const list = h("div", { class: "citations" });
  cites.forEach((c, i) => {
    list.append(
      h("button", { type: "button", class: "citation", dataset: { seek: c.time, index: i }, title: `play from ${fmtTime(c.time)}` },
        c.thumbnail ? h("img", { src: c.thumbnail, alt: `frame ${c.frame_index}`, loading: "lazy" }) : h("div", { class: "no-thumb" }, "no frame"),
        h("div", { class: "cite-body" },
          h("div", { class: "cite-head" }, h("span", { class: "time" }, fmtTime(c.time)), h("span", { class: `chip ch-${c.channel}` }, c.channel),
            c.node_id ? h("span", { class: "muted small" }, c.node_id) : null),
          c.text ? h("q", {}, c.text) : null,
          c.why ? h("div", { class: "muted small" }, c.why) : null)),
    );
  });
  el.append(list);
  const deg = detail.trace.degraded || [];
  if (deg.length) el.append(h("details", { class: "degraded" }, h("summary", {}, `degraded (${deg.length})`), h("ul", {}, deg.map((d) => h("li", {}, d)))));
}

export function renderPlan(el, plan) {
  clear(el);
  if (!plan) { el.append(h("p", { class: "muted" }, "No plan yet.")); return; }
  el.append(h("p", { class: "small" },
    h("span", { class: "chip" }, plan.question_type), " ", h("span", { class: "chip" }, `answer: ${plan.answer_form}`), " ",
    h("span", { class: "chip" }, `planner: ${plan.planner}`)));
  if (plan.planner_note) el.append(h("p", { class: "muted small" }, plan.planner_note));
  const rows = (plan.sub_events || []).map((e) =>
    h("tr", {},
      h("td", {}, h("span", { class: "dot", style: { background: eventColor(e.id) } }), e.id),
      h("td", {}, e.description, e.paraphrases?.length ? h("div", { class: "muted small" }, `also: ${e.paraphrases.join("; ")}`) : null),
      h("td", { class: "small" }, (e.channels || []).join(", ")),
      h("td", { class: "small" }, e.occurrence + (e.nth ? ` #${e.nth}` : ""))));
  el.append(h("table", { class: "plan-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "id"), h("th", {}, "sub-event"), h("th", {}, "channels"), h("th", {}, "which"))),
    h("tbody", {}, rows)));
  const rel = plan.relations || [];
  el.append(h("p", { class: "small" }, h("b", {}, "relations: "), rel.length ? rel.map((r) => `${r.a} ${r.kind} ${r.b}`).join(", ") : "none"));
  const t = plan.target || {};
  el.append(h("p", { class: "small" }, h("b", {}, "target: "), `${t.kind}${t.refs?.length ? " " + t.refs.join(", ") : ""}`));
  if (plan.reasoning) el.append(h("p", { class: "muted small" }, plan.reasoning));
}

export function renderVerdict(el, detail) {
  clear(el);
  const v = detail.verdict;
  if (!v) { el.append(h("p", { class: "muted" }, "The ordering check did not run.")); return; }
  const ok = v.satisfied && !v.relaxed;
  el.append(h("p", { class: `verdict ${ok ? "ok" : "bad"}` },
    ok ? "✓ relations satisfied" : v.relaxed ? "✗ no combination satisfies the relations — best relaxed one used" : "✗ relations violated",
    h("span", { class: "muted small" }, ` score ${fmtNum(v.score)} · ${v.method || "–"} · re-plans ${v.replans ?? 0}`)));
  const cons = v.constraints || [];
  el.append(h("p", { class: "small" }, h("b", {}, "constraints: "), cons.length ? cons.join(", ") : "none (single sub-event)"));
  if (v.violated?.length) el.append(h("p", { class: "small bad" }, h("b", {}, "violated: "), v.violated.join(", ")));
  const chosen = Object.entries(detail.chosen || {});
  if (chosen.length) {
    el.append(h("div", { class: "chosen-list" }, chosen.map(([id, [s, e]]) =>
      h("span", { class: "chosen-item" }, h("span", { class: "dot", style: { background: eventColor(id) } }), `${id} `, seekButton(s, fmtSpan(s, e))))));
  }
  if (detail.target) {
    el.append(h("p", { class: "small" }, h("b", {}, "answer span: "), seekButton(detail.target.start, fmtSpan(detail.target.start, detail.target.end)),
      ` (${detail.target.describe})`));
  }
}

function llmCall(c, i) {
  const head = `LLM call ${i + 1}: ${c.purpose || "completion"} · ${c.model} · ${c.prompt_tokens}+${c.completion_tokens} tokens · ` +
    `${fmtNum(c.latency_s, 2)} s · $${fmtNum(c.cost_usd, 5)}${c.attempts > 1 ? ` · ${c.attempts} attempts` : ""}${c.mocked ? " · mocked" : ""}${c.ok ? "" : " · FAILED"}`;
  const body = [];
  if (c.error) body.push(h("p", { class: "bad small" }, c.error));
  if (c.validation_errors?.length) body.push(h("ul", { class: "small" }, c.validation_errors.map((e) => h("li", {}, e))));
  if (c.redacted) body.push(h("p", { class: "muted small" }, "prompt and response redacted"));
  for (const m of c.messages || []) body.push(h("div", { class: "msg" }, h("div", { class: "role" }, m.role), h("pre", { class: "prompt" }, m.content)));
  if (c.response !== null && c.response !== undefined) body.push(h("div", { class: "msg" }, h("div", { class: "role" }, "response"), h("pre", { class: "prompt" }, c.response)));
  return h("details", { class: "call llm" }, h("summary", {}, head), body);
}

function toolCall(c) {
  return h("details", { class: "call tool" },
    h("summary", {}, `tool ${c.name} · ${fmtNum(c.wall_s, 3)} s${c.error ? " · ERROR" : ""}`),
    c.error ? h("p", { class: "bad small" }, c.error) : null,
    h("div", { class: "kv" }, h("b", {}, "args"), json(c.args)),
    h("div", { class: "kv" }, h("b", {}, "result"), json(c.result)));
}

export function stepItem(s, { live = false } = {}) {
  const llm = s.llm_calls || [];
  const tools = s.tool_calls || [];
  const tokens = llm.reduce((n, c) => n + c.prompt_tokens + c.completion_tokens, 0);
  const summary = h("summary", {},
    h("span", { class: "step-no" }, `#${s.step}`), h("span", { class: "step-node" }, s.node),
    h("span", { class: "muted small" }, ` ${fmtNum(s.wall_s, 3)} s · ${tools.length} tool · ${llm.length} LLM${tokens ? ` (${tokens} tok)` : ""}`),
    s.error ? h("span", { class: "bad small" }, " error") : null);
  return h("li", { class: `step${live ? " live" : ""}`, dataset: { node: s.node } },
    h("details", {}, summary,
      s.notes?.length ? h("ul", { class: "notes small" }, s.notes.map((n) => h("li", {}, n))) : null,
      s.error ? h("p", { class: "bad small" }, s.error) : null,
      h("div", { class: "kv" }, h("b", {}, "inputs"), json(s.inputs)),
      h("div", { class: "kv" }, h("b", {}, "outputs"), json(s.outputs)),
      tools.map(toolCall), llm.map(llmCall)));
}

export function renderSteps(el, steps) {
  clear(el);
  steps.forEach((s) => el.append(stepItem(s)));
}

export function renderUsage(el, usage) {
  clear(el);
  if (!usage) return;
  el.append(`${usage.calls} LLM calls · ${usage.prompt_tokens}+${usage.completion_tokens} tokens · $${fmtNum(usage.cost_usd, 5)} · ${fmtNum(usage.wall_s, 2)} s in steps`);
}

// nodes: flat list (top-down) with id, level, start, end, parent, caption, summary, transcript, ocr_text
export function renderTree(el, nodes) {
  clear(el);
  if (!nodes?.length) { el.append(h("p", { class: "muted" }, "No hierarchy in the index.")); return; }
  const kids = new Map();
  for (const n of nodes) {
    const p = n.parent ?? "";
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(n);
  }
  const build = (n, depth) => {
    const texts = [["summary", n.summary], ["caption", n.caption], ["speech", n.transcript], ["on screen", n.ocr_text]]
      .filter(([, v]) => v).map(([k, v]) => h("div", { class: "node-text" }, h("b", {}, `${k}: `), v));
    const children = (kids.get(n.id) || []).map((c) => build(c, depth + 1));
    return h("details", { class: `node lvl-${n.level}`, open: depth < 2 },
      h("summary", {}, h("span", { class: "node-id" }, n.id), " ", seekButton(n.start, fmtSpan(n.start, n.end)),
        children.length ? h("span", { class: "muted small" }, ` ${children.length} ${children.length === 1 ? "child" : "children"}`) : null),
      texts.length ? texts : null, children);
  };
  for (const root of kids.get("") || []) el.append(build(root, 0));
}

export function renderTranscript(el, items) {
  clear(el);
  if (!items?.length) { el.append(h("li", { class: "muted" }, "No speech in the index.")); return; }
  for (const it of items) {
    el.append(h("li", { class: "line", dataset: { seek: it.start, start: it.start, end: it.end }, title: `play from ${fmtTime(it.start)}` },
      h("span", { class: "time" }, fmtTime(it.start)), " ", it.text));
  }
}
