// The trace viewer: sidebar (ask / ground, videos, runs), the video column (player, timeline, curves,
// transcript) and the trace column (answer, plan, ordering check, steps, hierarchy). Routes: #/,
// #/video/<id>, #/run/<trace id>. Clicking anything with data-seek moves the player there.

import { clear, eventColor, fmtSpan, fmtTime, getJSON, h, postJSON, postStream, seekButton } from "./dom.js";
import { drawCurves, drawTimeline } from "./charts.js";
import { renderAnswer, renderPlan, renderSteps, renderTranscript, renderTree, renderUsage, renderVerdict, stepItem } from "./panels.js";

const $ = (id) => document.getElementById(id);
const state = { video: null, run: null, curves: null, grounding: null, live: null, setters: [] };

// ------------------------------------------------------------------------------------------- player + seek
function seek(t) {
  const player = $("player");
  if (!Number.isFinite(t)) return;
  player.currentTime = t;
  onTime();
}

function onTime() {
  const t = $("player").currentTime;
  state.setters.forEach((f) => f(t));
  for (const li of $("transcript").querySelectorAll("li.line")) {
    li.classList.toggle("current", t >= Number(li.dataset.start) && t < Number(li.dataset.end));
  }
}

document.addEventListener("click", (e) => {
  const el = e.target.closest("[data-seek]");
  if (!el) return;
  e.preventDefault();
  seek(Number(el.dataset.seek));
});
document.addEventListener("seek", (e) => seek(e.detail));

function setPlayer(video) {
  const player = $("player");
  const src = `/api/videos/${video.id}/media`;
  if (player.getAttribute("src") !== src) {
    $("player-msg").textContent = "";
    player.setAttribute("src", src);
    player.load();
  }
}

// ----------------------------------------------------------------------------------------------- messages
function status(text, kind = "") {
  const el = $("status");
  el.textContent = text || "";
  el.className = `status ${kind}`;
  el.hidden = !text;
}

function show(view) {
  $("empty").hidden = view !== "empty";
  $("view").hidden = view === "empty";
  document.body.dataset.view = view;
  for (const id of ["answer-panel", "plan-panel", "verdict-panel", "steps-panel"]) $(id).hidden = view === "video";
  $("steps-panel").hidden = view === "video" || view === "ground";
  $("answer-panel").querySelector("h3").textContent = view === "ground" ? "Ranked spans" : "Answer";
}

// ------------------------------------------------------------------------------------------------- drawing
function timelineRows() {
  const v = state.video;
  if (!v?.indexed) return [];
  const rows = [];
  for (const level of ["event", "scene", "shot"]) {
    const items = (v.nodes || []).filter((n) => n.level === level)
      .map((n, i) => ({ start: n.start, end: n.end, text: n.id, cls: `lvl-${level} alt${i % 2}` }));
    if (items.length) rows.push({ label: `${level}s`, items });
  }
  rows.push({ label: "speech", items: (v.transcript || []).map((it) => ({ start: it.start, end: it.end, text: it.text, cls: "speech" })) });
  if (v.captions?.length) rows.push({ label: "captions", items: v.captions.map((it) => ({ start: it.start, end: it.end, text: it.text, cls: "caption" })) });
  if (v.ocr?.length) rows.push({ label: "on screen", items: v.ocr.map((it) => ({ start: it.start, end: it.end, text: it.text, cls: "ocr" })) });
  const r = state.run;
  if (r) {
    for (const [id, props] of Object.entries(r.proposals || {})) {
      const items = props.map((p, k) => ({ start: p.start, end: p.end, color: eventColor(id), cls: "prop", text: `${id} proposal #${k + 1} (${p.score})` }));
      const c = r.chosen?.[id];
      if (c) items.push({ start: c[0], end: c[1], color: eventColor(id), cls: "chosen-span", text: `${id} chosen` });
      rows.push({ label: id, items });
    }
    if (r.target) rows.push({ label: "answer", items: [{ start: r.target.start, end: r.target.end, cls: "target", color: "#333", text: r.target.describe }] });
    const cites = r.answer?.citations || [];
    rows.push({ label: "cited", items: [], markers: cites.map((c) => ({ time: c.time, color: "#d33", text: c.text || c.why || c.channel, cls: "cite" })) });
  }
  const g = state.grounding;
  if (g) rows.push({ label: "spans", items: g.spans.map((s, k) => ({ start: s.start, end: s.end, color: eventColor(`e${k + 1}`), cls: "prop", text: `#${k + 1} score ${s.score}` })) });
  return rows;
}

function redraw() {
  const v = state.video;
  state.setters = [];
  if (!v) return;
  const duration = v.duration || 0;
  if (v.indexed) state.setters.push(drawTimeline($("timeline"), duration, timelineRows()));
  else clear($("timeline")).append(h("p", { class: "muted" }, "Not indexed yet. ", h("button", { type: "button", id: "index-btn", onclick: () => indexVideo(v.id) }, "Index now")));
  const curves = $("curves");
  if (state.curves) {
    const evs = state.curves.sub_events.map((e) => ({ ...e, proposals: state.run?.proposals?.[e.id] || e.spans, chosen: state.run?.chosen?.[e.id] || null }));
    state.setters.push(drawCurves(curves, duration, evs));
  } else if (state.grounding) {
    const g = state.grounding;
    state.setters.push(drawCurves(curves, duration, [{ id: "e1", description: g.query, curve_times: g.curve_times, curves: g.curves, proposals: g.spans, chosen: g.spans[0] ? [g.spans[0].start, g.spans[0].end] : null }]));
  } else if (state.run) clear(curves).append(h("p", { class: "muted" }, "computing similarity curves…"));
  else clear(curves);
  $("curves-panel").hidden = !(state.run || state.grounding);
  onTime();
}

// --------------------------------------------------------------------------------------------------- views
async function loadVideo(id) {
  // reloaded until indexed (an ask or ground builds a missing index)
  if (state.video?.id !== id || !state.video.indexed) state.video = await getJSON(`/api/videos/${id}`);
  const v = state.video;
  setPlayer(v);
  renderTranscript($("transcript"), v.transcript);
  renderTree($("tree"), v.nodes);
  $("video-meta").textContent = v.indexed
    ? `${v.name} · ${fmtTime(v.duration)} · ${v.width}×${v.height} · ${v.index.frames} frames at ${v.index.fps} fps` +
      (Object.keys(v.index.degraded || {}).length ? ` · degraded: ${Object.keys(v.index.degraded).join(", ")}` : "")
    : `${v.name} · not indexed`;
  $("ask-video").value = id;
}

async function showVideo(id) {
  Object.assign(state, { run: null, curves: null, grounding: null });
  show("video");
  $("run-title").textContent = "";
  await loadVideo(id);
  $("run-title").textContent = state.video.name;
  renderUsage($("run-meta"), null);
  redraw();
}

async function showRun(traceId) {
  Object.assign(state, { run: null, curves: null, grounding: null });
  const r = await getJSON(`/api/runs/${encodeURIComponent(traceId)}`);
  state.run = r;
  show("run");
  $("run-title").textContent = r.trace.question || "(no question)";
  renderUsage($("run-meta"), r.usage);
  $("run-meta").append(" · ", h("a", { href: `/api/runs/${encodeURIComponent(traceId)}/export`, download: "" }, "export JSON"),
    " · ", h("span", { class: "muted" }, `trace ${traceId}`));
  renderAnswer($("answer"), r);
  renderPlan($("plan"), r.trace.plan);
  renderVerdict($("verdict"), r);
  renderSteps($("steps"), r.trace.steps);
  if (r.video_id) {
    await loadVideo(r.video_id);
    redraw();
    getJSON(`/api/runs/${encodeURIComponent(traceId)}/curves`).then((c) => {
      if (state.run?.trace.trace_id !== traceId) return;
      state.curves = c;
      redraw();
    }).catch((e) => clear($("curves")).append(h("p", { class: "bad" }, `curves unavailable: ${e.message}`)));
  } else status(`the video of this run (${r.trace.video}) is not registered or no longer exists`, "bad");
  document.body.dataset.run = traceId;
}

async function route() {
  const [, kind, id] = (location.hash || "#/").split("/");
  status("");
  try {
    if (kind === "run" && id) await showRun(decodeURIComponent(id));
    else if (kind === "video" && id) await showVideo(id);
    else show("empty");
  } catch (e) {
    status(e.message, "bad");
  }
}

// -------------------------------------------------------------------------------------------- ask / ground
async function ask(videoId, question) {
  state.live?.abort();
  const ctl = new AbortController();
  state.live = ctl;
  Object.assign(state, { run: null, curves: null, grounding: null });
  show("run");
  document.body.dataset.liveSteps = "0";
  $("run-title").textContent = question;
  clear($("run-meta")).append(h("span", { class: "spinner" }), " running…");
  for (const id of ["answer", "plan", "verdict", "steps"]) clear($(id));
  $("answer").append(h("p", { class: "muted" }, "waiting for the answer…"));
  await loadVideo(videoId);
  redraw();
  let traceId = null;
  await postStream("/api/ask", { video_id: videoId, question }, (name, data) => {
    if (name === "status") status(data.message);
    else if (name === "step") {
      $("steps").append(stepItem(data, { live: true }));
      document.body.dataset.liveSteps = String(Number(document.body.dataset.liveSteps) + 1);
      if (data.node === "plan" && data.outputs?.plan) renderPlan($("plan"), data.outputs.plan);
    } else if (name === "answer") traceId = data.trace_id;
    else if (name === "error") status(data.error, "bad");
  }, ctl.signal);
  if (state.live === ctl) state.live = null;
  await refreshLists();
  if (traceId) {
    status("");
    location.hash = `#/run/${traceId}`;
  } else clear($("run-meta")).append("stopped");
}

async function ground(videoId, query) {
  Object.assign(state, { run: null, curves: null, grounding: null });
  show("ground");
  $("run-title").textContent = `ground: ${query}`;
  clear($("run-meta")).append(h("span", { class: "spinner" }), " grounding…");
  for (const id of ["answer", "verdict", "steps", "plan"]) clear($(id));
  await loadVideo(videoId);
  const g = await postJSON("/api/ground", { video_id: videoId, query });
  state.grounding = g;
  clear($("run-meta")).append(`${g.spans.length} spans · channels: ${Object.keys(g.curves).join(", ") || "none"}`);
  renderPlan($("plan"), g.plan);
  $("answer").append(h("ol", { class: "spans" }, g.spans.map((s) => h("li", {}, seekButton(s.start, fmtSpan(s.start, s.end)), ` score ${s.score}`))));
  if (g.degraded.length) $("answer").append(h("ul", { class: "muted small" }, g.degraded.map((d) => h("li", {}, d))));
  $("verdict").append(h("p", { class: "muted" }, "Grounding runs no ordering check."));
  redraw();
}

async function indexVideo(id) {
  status("indexing… (first time only)");
  try {
    await postJSON(`/api/videos/${id}/index`, {});
    state.video = null;
    status("");
    await refreshLists();
    await showVideo(id);
  } catch (e) { status(e.message, "bad"); }
}

// -------------------------------------------------------------------------------------------------- sidebar
async function refreshLists() {
  const [{ videos }, { runs }] = await Promise.all([getJSON("/api/videos"), getJSON("/api/runs?limit=100")]);
  const sel = $("ask-video");
  const keep = sel.value;
  clear(sel);
  for (const v of videos) sel.append(h("option", { value: v.id }, `${v.name}${v.indexed ? "" : " (not indexed)"}`));
  if (keep) sel.value = keep;
  const vl = clear($("video-list"));
  if (!videos.length) vl.append(h("li", { class: "muted" }, "No videos yet: add one below."));
  for (const v of videos) {
    vl.append(h("li", {}, h("a", { href: `#/video/${v.id}`, title: v.path }, v.name),
      h("span", { class: "muted small" }, v.indexed ? ` ${fmtTime(v.duration)}` : " not indexed")));
  }
  const rl = clear($("run-list"));
  if (!runs.length) rl.append(h("li", { class: "muted" }, "No runs yet: ask a question."));
  for (const r of runs) {
    rl.append(h("li", { class: "run-item" }, h("a", { href: `#/run/${r.trace_id}` }, r.question || r.trace_id),
      h("div", { class: "muted small" }, `${r.video_name || "?"} · ${r.updated_at ? new Date(r.updated_at).toLocaleString() : ""}${r.complete ? "" : " · unfinished"}`)));
  }
}

function wire() {
  $("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("ask-question").value.trim();
    if (!q || !$("ask-video").value) return status("pick a video and type a question", "bad");
    ask($("ask-video").value, q).catch((err) => status(err.message, "bad"));
  });
  $("ground-btn").addEventListener("click", () => {
    const q = $("ask-question").value.trim();
    if (!q || !$("ask-video").value) return status("pick a video and type a query", "bad");
    ground($("ask-video").value, q).catch((err) => status(err.message, "bad"));
  });
  $("register-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const v = await postJSON("/api/videos", { path: $("register-path").value });
      $("register-path").value = "";
      await refreshLists();
      location.hash = `#/video/${v.id}`;
    } catch (err) { status(err.message, "bad"); }
  });
  const player = $("player");
  player.addEventListener("timeupdate", onTime);
  player.addEventListener("seeked", onTime);
  player.addEventListener("error", () => {
    $("player-msg").textContent = "This browser cannot play the video file (its codec?). Timestamps still work.";
  });
  window.addEventListener("hashchange", route);
  let resizeTimer = 0;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(redraw, 150); });
}

async function start() {
  wire();
  try {
    const health = await getJSON("/api/health");
    $("health").textContent = `${health.llm ? `LLM ${health.llm}` : "offline (no LLM: rule-based plans, template answers)"} · ${health.profile} profile`;
    await refreshLists();
  } catch (e) { status(e.message, "bad"); }
  await route();
  document.body.dataset.ready = "1";
}

start();
