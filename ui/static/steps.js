// Step cards: each graph step's inputs and outputs as readable text (what the planner decided, what was searched
// and found, the chosen moments, the evidence, the answer and its checks), its tool and LLM calls, and the raw
// JSON one click away. Every time is a seek button.

import { chip, clear, eventColor, fmtDur, fmtNum, h, json, spanButton } from "./dom.js";

function llmCall(c, i) {
  const head = `LLM call ${i + 1}: ${c.purpose || "completion"} · ${c.model} · ${c.prompt_tokens}+${c.completion_tokens} tokens · ` +
    `${fmtDur(c.latency_s)} · $${fmtNum(c.cost_usd, 5)}${c.attempts > 1 ? ` · ${c.attempts} attempts` : ""}${c.mocked ? " · mocked" : ""}${c.ok ? "" : " · FAILED"}`;
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
    h("summary", {}, `tool ${c.name} · ${fmtDur(c.wall_s)}${c.error ? " · ERROR" : ""}`),
    c.error ? h("p", { class: "bad small" }, c.error) : null,
    h("div", { class: "kv" }, h("b", {}, "args"), json(c.args)),
    h("div", { class: "kv" }, h("b", {}, "result"), json(c.result)));
}

const dot = (id) => h("span", { class: "dot", style: { background: eventColor(id) } });
const line = (...parts) => h("div", { class: "card-line" }, ...parts);
const label = (text) => h("span", { class: "card-label" }, text);
const quote = (t) => (t ? h("q", { class: "card-quote" }, t) : null);
const listOf = (items, f) => (Array.isArray(items) ? items.filter((x) => typeof x === "object" && x !== null).map(f) : []);

function planCard(s) {
  const p = s.outputs?.plan;
  const out = [];
  if (s.inputs?.feedback) out.push(line(label("re-planned after"), s.inputs.feedback));
  if (!p) return [...out, line(h("span", { class: "muted" }, "kept the previous plan"))];
  out.push(line(chip(p.question_type), " ", chip(`answer: ${p.answer_form}`), " ", chip(`planner: ${p.planner}`)));
  for (const e of p.sub_events || []) {
    out.push(line(dot(e.id), h("b", {}, e.id), " ", e.description, " ",
      h("span", { class: "muted small" }, `· ${(e.channels || []).join(", ")}${e.occurrence && e.occurrence !== "any" ? ` · ${e.occurrence}${e.nth ? ` #${e.nth}` : ""}` : ""}`)));
  }
  const rel = p.relations || [];
  if (rel.length) out.push(line(label("relations"), rel.map((r) => `${r.a} ${r.kind} ${r.b}`).join(", ")));
  const t = p.target || {};
  out.push(line(label("target"), `${t.kind || "–"}${t.refs?.length ? ` of ${t.refs.join(", ")}` : ""}${t.read?.length ? ` · read ${t.read.join(", ")}` : ""}`));
  return out;
}

function locateCard(s) {
  const i = s.inputs || {};
  const out = [line(label("video"), `${fmtNum(i.duration, 1)} s · ${i.whole_video ? "searched whole (short video or no scenes)" : "coarse windows first"}`)];
  for (const [id, windows] of Object.entries(s.outputs?.candidates || {})) {
    out.push(line(dot(id), h("b", {}, id), " ", listOf(windows, (w) => spanButton(w.start, w.end))));
  }
  return out;
}

function occurrenceLine(o) {
  return line(spanButton(o.start, o.end), " ", chip(o.channel, `ch-${o.channel}`), h("span", { class: "muted small" }, ` score ${Number(o.score).toFixed(2)} `), quote(o.text));
}

function groundCard(s) {
  const out = [];
  for (const [id, search] of Object.entries(s.outputs?.searches || {})) {
    const occ = listOf(search.occurrences, (o) => o);
    out.push(line(dot(id), h("b", {}, id), " ",
      occ.length ? `${occ.length} occurrence${occ.length > 1 ? "s" : ""}` : h("span", { class: "bad" }, "not found"),
      h("span", { class: "muted small" }, ` · searched ${(search.searched || []).join(", ") || "nothing"}`)));
    occ.slice().sort((a, b) => b.score - a.score).slice(0, 5).forEach((o) => out.push(h("div", { class: "card-indent" }, occurrenceLine(o))));
    for (const why of search.skipped || []) out.push(h("div", { class: "card-indent muted small" }, `not searched: ${why}`));
  }
  return out;
}

function constrainCard(s) {
  const i = s.inputs || {};
  const a = s.outputs?.assignment || {};
  const out = [line(label("found"), (i.found || []).join(", ") || "none", i.missing?.length ? h("span", { class: "bad" }, ` · missing ${i.missing.join(", ")}`) : null)];
  if (i.constraints?.length) out.push(line(label("constraints"), i.constraints.join(", ")));
  if (a.method === "order") {
    out.push(line(label("order"), a.first ? `${a.first} comes first` : "not comparable", a.holds === null || a.holds === undefined ? "" : a.holds ? " · the asked order holds" : " · the asked order does not hold"));
  } else if (Object.keys(a).length) {
    out.push(line(label("relations"), a.satisfied ? h("span", { class: "ok" }, "satisfied") : h("span", { class: "bad" }, `violated: ${(a.violated || []).join(", ")}`),
      a.relaxed ? " · closest combination used" : "", a.method ? h("span", { class: "muted small" }, ` · ${a.method}`) : null));
  }
  for (const [id, span] of Object.entries(a.chosen || {})) out.push(line(dot(id), h("b", {}, id), " chosen ", spanButton(span[0], span[1])));
  if (s.outputs?.feedback) out.push(line(label("asks to re-plan"), s.outputs.feedback));
  const t = s.outputs?.target;
  if (t) {
    out.push(line(label("target span"), spanButton(t.start, t.end), t.found === false ? h("span", { class: "bad" }, " · not found") : null));
    listOf(t.items, (it) => out.push(h("div", { class: "card-indent" }, line(spanButton(it.start, it.end), " ", chip(it.channel, `ch-${it.channel}`), it.speaker ? ` ${it.speaker}: ` : " ", quote(it.text)))));
    listOf(t.shots, (n) => out.push(h("div", { class: "card-indent" }, line(chip("shot"), " ", n.node_id, " ", spanButton(n.start, n.end)))));
    for (const n of t.notes || []) out.push(h("div", { class: "card-indent muted small" }, n));
  }
  return out;
}

export function evidenceLine(e) {
  return line(h("span", { class: "ev-id" }, e.id), " ", chip(e.role, `role-${e.role}`), " ", chip(e.channel, `ch-${e.channel}`), " ",
    spanButton(e.start, e.end), e.event ? h("span", { class: "muted small" }, ` ${e.event}`) : null, e.speaker ? ` ${e.speaker}:` : null, " ", quote(e.text));
}

function inspectCard(s) {
  const ev = listOf(s.outputs?.evidence, (e) => e);
  const counts = {};
  ev.forEach((e) => { counts[e.role] = (counts[e.role] || 0) + 1; });
  return [line(label("evidence"), Object.entries(counts).map(([r, n]) => `${n} ${r}`).join(" · ") || "none"), ...ev.map(evidenceLine)];
}

function answerCard(s) {
  const a = s.outputs?.answer || {};
  const out = [];
  if (s.inputs?.feedback) out.push(line(label("re-answer after"), s.inputs.feedback));
  out.push(line(h("b", {}, a.text || "(no text)")));
  out.push(line(h("span", { class: "muted small" }, `confidence ${fmtNum(a.confidence ?? 0, 2)} · by ${a.source || "–"}${a.found === false ? " · not found" : ""} · ${(a.citations || []).length} citation(s)`)));
  return out;
}

function verifyCard(s) {
  const a = s.outputs?.answer || {};
  const kept = (a.citations || []).length;
  const verdict = s.outputs?.feedback ? h("span", { class: "bad" }, "no citation holds up: a new answer is asked for")
    : kept ? h("span", { class: "ok" }, `${kept} citation${kept > 1 ? "s" : ""} hold${kept > 1 ? "" : "s"} up`)
      : h("span", { class: "muted" }, a.found === false ? "nothing to cite (not found)" : "no citations");
  const out = [line(label("verdict"), verdict)];
  const dropped = listOf(s.outputs?.rejected, (r) => r);
  if (dropped.length) out.push(line(label("dropped so far")));
  dropped.forEach((r) => out.push(h("div", { class: "card-indent small bad" }, `${r.channel || ""} ${r.text ? `“${r.text}” ` : ""}— ${r.reason || "rejected"}`)));
  if (s.outputs?.feedback) out.push(line(label("feedback"), s.outputs.feedback));
  return out;
}

function genericCard(s) {
  return Object.entries(s.outputs || {}).map(([k, v]) => line(label(k), typeof v === "object" ? JSON.stringify(v).slice(0, 160) : String(v)));
}

const CARDS = { plan: planCard, locate: locateCard, ground: groundCard, constrain: constrainCard, inspect: inspectCard, answer: answerCard, verify: verifyCard };

export function stepTokens(s) {
  return (s.llm_calls || []).reduce((n, c) => n + c.prompt_tokens + c.completion_tokens, 0);
}

export function stepItem(s, { live = false } = {}) {
  const llm = s.llm_calls || [];
  const tools = s.tool_calls || [];
  const tokens = stepTokens(s);
  const cost = llm.reduce((n, c) => n + (c.cost_usd || 0), 0);
  const summary = h("summary", {},
    h("span", { class: "step-no" }, `#${s.step}`), h("span", { class: "step-node" }, s.node),
    h("span", { class: "muted small" }, ` ${fmtDur(s.wall_s)} · ${tools.length} tool · ${llm.length} LLM${tokens ? ` · ${tokens} tok · $${fmtNum(cost, 4)}` : ""}`),
    s.error ? h("span", { class: "bad small" }, " error") : null);
  let body;
  try {
    body = (CARDS[s.node] || genericCard)(s);
  } catch (e) {
    body = [h("p", { class: "muted small" }, `(no readable view: ${e.message})`)];
  }
  const raw = h("div", { class: "raw", hidden: true },
    h("div", { class: "kv" }, h("b", {}, "inputs"), json(s.inputs)),
    h("div", { class: "kv" }, h("b", {}, "outputs"), json(s.outputs)));
  const toggle = h("button", { type: "button", class: "json-toggle", onclick: () => {
    raw.hidden = !raw.hidden;
    toggle.textContent = raw.hidden ? "JSON" : "hide JSON";
  } }, "JSON");
  return h("li", { class: `step${live ? " live" : ""}`, id: `step-${s.step}`, dataset: { node: s.node, step: s.step } },
    h("details", {}, summary,
      h("div", { class: "card" }, h("div", { class: "card-tools" }, toggle), body),
      s.notes?.length ? h("ul", { class: "notes small" }, s.notes.map((n) => h("li", {}, n))) : null,
      s.error ? h("p", { class: "bad small" }, s.error) : null,
      raw, tools.map(toolCall), llm.map(llmCall)));
}

export function renderSteps(el, steps) {
  clear(el);
  steps.forEach((s) => el.append(stepItem(s)));
}

// Open a step's card and bring it into view.
export function openStep(stepNo) {
  const li = document.getElementById(`step-${stepNo}`);
  if (!li) return;
  li.querySelector("details").open = true;
  li.scrollIntoView({ block: "nearest", behavior: "smooth" });
  li.classList.remove("flash");
  void li.offsetWidth;
  li.classList.add("flash");
}
