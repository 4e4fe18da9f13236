// Panels of a run page: the answer with its citations (each seeks to the start of the evidence it cites), the
// plan, what was searched per sub-event with the chosen moments and the target span, the evidence by role, the
// hierarchy tree, the transcript (with speakers when the transcript has them) and the index build's progress.
// Everything is built with text nodes.

import { chip, clear, eventColor, fmtDur, fmtNum, fmtSpan, fmtTime, h, seekButton, spanButton, speakerColor } from "./dom.js";
import { evidenceLine } from "./steps.js";

export function renderAnswer(el, detail) {
  clear(el);
  const a = detail.answer;
  if (!a) {
    el.append(h("p", { class: "muted" }, detail.trace.complete ? "No answer recorded." : "The run did not finish."));
    return;
  }
  el.append(h("p", { class: `answer-text${a.found === false ? " not-found" : ""}` }, a.text || "(empty)"));
  const meta = [`confidence ${fmtNum(a.confidence ?? 0, 2)}`, a.source ? `by ${a.source}` : null];
  if (a.verified !== undefined) meta.push(a.verified ? "verified" : "not verified");
  el.append(h("p", { class: "muted small" }, meta.filter(Boolean).join(" · ")));
  const cites = a.citations || [];
  if (!cites.length) el.append(h("p", { class: "muted" }, a.found === false ? "Nothing to cite." : "No citations."));
  const list = h("div", { class: "citations", role: "list", "aria-label": "citations" });
  cites.forEach((c, i) => {
    const seek = c.seek ?? c.time;
    const span = c.span || [seek, seek];
    list.append(
      h("button", {
        type: "button", class: "citation", role: "listitem",
        dataset: { seek, index: i, spanStart: span[0], spanEnd: span[1], citation: i },
        title: `play from ${fmtTime(seek)} (the start of the cited ${c.channel === "visual" ? "shot or frame" : "evidence"})`,
      },
      c.thumbnail ? h("img", { src: c.thumbnail, alt: `frame ${c.frame_index}`, loading: "lazy" }) : h("div", { class: "no-thumb" }, "no frame"),
      h("div", { class: "cite-body" },
        h("div", { class: "cite-head" }, h("span", { class: "cite-no" }, `[${i + 1}]`), h("span", { class: "time" }, fmtSpan(span[0], span[1])),
          chip(c.channel, `ch-${c.channel}`), c.role ? chip(c.role, `role-${c.role}`) : null,
          c.node_id ? h("span", { class: "muted small" }, c.node_id) : null),
        c.text ? h("q", {}, c.text) : null,
        c.why ? h("div", { class: "muted small" }, c.why) : null)),
    );
  });
  el.append(list);
  if (cites.length > 1) el.append(h("p", { class: "muted small keys" }, "Keys: ", h("kbd", {}, "]"), " / ", h("kbd", {}, "["), " next / previous citation"));
  const ev = detail.evidence || [];
  if (ev.length) {
    const counts = {};
    ev.forEach((e) => { counts[e.role] = (counts[e.role] || 0) + 1; });
    el.append(h("details", { class: "evidence" }, h("summary", {}, `evidence: ${Object.entries(counts).map(([r, n]) => `${n} ${r}`).join(" · ")}`),
      ev.map(evidenceLine)));
  }
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

// What was searched (per sub-event: occurrences, channels searched and skipped), the assignment (chosen moments,
// missing sub-events, the relations or order verdict) and the target span with what was read there.
export function renderSearch(el, detail) {
  clear(el);
  const searches = detail.searches || {};
  const v = detail.verdict;
  if (!Object.keys(searches).length && !v) { el.append(h("p", { class: "muted" }, "Nothing searched yet.")); return; }
  for (const [id, s] of Object.entries(searches)) {
    const occ = (s.occurrences || []).filter((o) => typeof o === "object");
    const chosen = detail.chosen?.[id];
    el.append(h("div", { class: "search-event" },
      h("div", {}, h("span", { class: "dot", style: { background: eventColor(id) } }), h("b", {}, id), " ",
        occ.length ? `${occ.length} occurrence${occ.length > 1 ? "s" : ""}` : h("span", { class: "bad" }, "not found"),
        h("span", { class: "muted small" }, ` · searched ${(s.searched || []).join(", ") || "nothing"}`),
        chosen ? h("span", {}, " · chosen ", spanButton(chosen[0], chosen[1])) : null),
      occ.length ? h("div", { class: "occurrences" }, occ.map((o) => h("span", { class: `occ${chosen && Math.abs(chosen[0] - o.start) < 1e-3 ? " picked" : ""}` },
        spanButton(o.start, o.end), h("span", { class: "muted small" }, ` ${o.channel} ${fmtNum(o.score, 2)}`)))) : null,
      (s.skipped || []).map((why) => h("div", { class: "muted small" }, `not searched: ${why}`))));
  }
  if (v) {
    const ok = v.satisfied && !v.relaxed;
    const head = v.method === "order"
      ? (v.first ? `${v.first} comes first${v.holds === false ? " — the asked order does not hold" : v.holds ? " — the asked order holds" : ""}` : "order not comparable")
      : ok ? "✓ relations satisfied" : v.relaxed ? "✗ no combination satisfies the relations — the closest one is used" : "✗ relations violated";
    el.append(h("p", { class: `verdict ${ok ? "ok" : "bad"}` }, head,
      h("span", { class: "muted small" }, ` score ${fmtNum(v.score)} · ${v.method || "–"} · re-plans ${v.replans ?? 0} · re-answers ${v.reanswers ?? 0}`)));
    const cons = v.constraints || [];
    if (cons.length) el.append(h("p", { class: "small" }, h("b", {}, "constraints: "), cons.join(", ")));
    if (v.violated?.length) el.append(h("p", { class: "small bad" }, h("b", {}, "violated: "), v.violated.join(", ")));
    if (v.missing?.length) el.append(h("p", { class: "small bad" }, h("b", {}, "not found: "), v.missing.join(", ")));
  }
  const t = detail.target;
  if (t) {
    el.append(h("p", { class: "small" }, h("b", {}, "target span: "), spanButton(t.start, t.end),
      t.found === false ? h("span", { class: "bad" }, " (nothing found: the answer says so)") : null,
      t.node_id ? ` ${t.node_id}` : null));
    const items = (t.items || []).filter((it) => typeof it === "object");
    if (items.length) {
      el.append(h("ul", { class: "target-items small" }, items.map((it) => h("li", {}, spanButton(it.start, it.end), " ", chip(it.channel, `ch-${it.channel}`),
        it.speaker ? ` ${it.speaker}:` : "", " ", it.text, it.id?.includes("@") ? h("span", { class: "muted" }, " (read on demand)") : null))));
    }
    const shots = (t.shots || []).filter((n) => typeof n === "object");
    if (shots.length) el.append(h("p", { class: "small" }, h("b", {}, "shots: "), shots.map((n) => spanButton(n.start, n.end, n.node_id))));
    for (const n of t.notes || []) el.append(h("p", { class: "muted small" }, n));
  }
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

export function renderTranscript(el, items, speakers = [], message = "No speech in the index.") {
  clear(el);
  if (!items?.length) { el.append(h("li", { class: "muted" }, message)); return; }
  let previous = null;
  for (const it of items) {
    const who = it.speaker && it.speaker !== previous ? h("span", { class: "speaker", style: { color: speakerColor(speakers, it.speaker) } }, `${it.speaker} `) : null;
    previous = it.speaker || previous;
    el.append(h("li", { class: "line", dataset: { seek: it.start, start: it.start, end: it.end, speaker: it.speaker || "" }, title: `play from ${fmtTime(it.start)}` },
      h("span", { class: "time" }, fmtTime(it.start)), " ", who, it.text));
  }
}

// The index build's progress: the decode bar the CLI shows, each stage's status, elapsed time and what is left.
export function renderProgress(el, p) {
  clear(el);
  if (!p) return;
  const pct = Math.round((p.decode || 0) * 100);
  if (p.final) {
    const wall = (p.stages || []).reduce((n, s) => n + (s.wall_s || 0), 0);
    el.append(h("p", { class: "muted small" }, `${p.stages.length} stages · ${fmtDur(wall)} of stage work when built · hover a stage for why it is not ok`));
  } else {
    el.append(h("div", { class: "progress-head" },
      h("span", { class: "spinner", "aria-hidden": "true" }), " ", h("b", {}, p.message || "indexing"),
      h("span", { class: "muted small" }, ` · ${p.done}/${p.total} stages · ${fmtDur(p.elapsed_s)}${p.eta_s ? ` · about ${fmtDur(p.eta_s)} left in decoding` : ""}`)));
    el.append(h("div", { class: "bar", title: `decode ${pct}%` }, h("div", { class: "bar-fill", style: { width: `${pct}%` } })));
  }
  el.append(h("ul", { class: "stage-list" }, (p.stages || []).map((s) =>
    h("li", { class: `stage st-${s.status}`, dataset: { stage: s.name, status: s.status }, title: s.reason || s.status },
      h("span", { class: "stage-mark" }, { ok: "✓", degraded: "!", skipped: "–", failed: "✗", running: "…", pending: "·" }[s.status] || "·"),
      ` ${s.name}`, s.frames && s.status === "running" ? ` ${pct}%` : "", s.wall_s !== null && s.wall_s !== undefined ? h("span", { class: "muted" }, ` ${fmtDur(s.wall_s)}`) : null))));
}
