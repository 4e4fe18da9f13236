// The trace viewer: sidebar (ask / ground, runs in progress, videos, stored runs), the video column (player,
// timeline, transcript: always in view) and the trace column (index progress, answer, path through the graph,
// step waterfall, what was searched, curves, plan, step cards, hierarchy). Routes: #/, #/video/<id>,
// #/job/<job id> (a run in progress), #/run/<trace id>, #/compare/<trace a>/<trace b>.

import { clear, fmtTime, getJSON, h, postJSON, spanButton } from "./dom.js";
import { drawCurves, drawTimeline } from "./charts.js";
import { drawPath, drawWaterfall } from "./flow.js";
import { renderAnswer, renderPlan, renderProgress, renderSearch, renderTranscript, renderTree, renderUsage } from "./panels.js";
import { renderSteps, stepItem } from "./steps.js";
import { buildingOf, cancelJob, followJob, jobs, pollSoon, submitJob } from "./live.js";
import { indexRows, runFromSteps, runRows } from "./rows.js";
import { renderCompare } from "./compare.js";
import { highlight, onTime } from "./player.js";
import { refreshLists, renderVideoList } from "./sidebar.js";
import { $, log, state, status } from "./state.js";

const PANELS = {
  video: ["tree-panel"],
  run: ["answer-panel", "flow-panel", "search-panel", "curves-panel", "plan-panel", "steps-panel", "tree-panel"],
  live: ["answer-panel", "flow-panel", "search-panel", "plan-panel", "steps-panel", "tree-panel"],
  compare: ["compare-panel"],
  ground: ["answer-panel", "curves-panel", "plan-panel"],
};
const ALL_PANELS = ["answer-panel", "compare-panel", "flow-panel", "search-panel", "curves-panel", "plan-panel", "steps-panel", "tree-panel"];

function show(view) {
  state.view = view;
  $("empty").hidden = view !== "empty";
  $("view").hidden = view === "empty";
  document.body.dataset.view = view;
  for (const id of ALL_PANELS) $(id).hidden = !(PANELS[view] || []).includes(id);
  $("live-bar").hidden = view !== "live";
  $("answer-panel").querySelector("h3").textContent = view === "ground" ? "Ranked spans" : "Answer";
}

function reset() {
  state.live?.ctl.abort();
  Object.assign(state, { run: null, compare: null, curves: null, grounding: null, live: null, cite: -1, highlight: null, progressDone: -1 });
  delete document.body.dataset.run;
  $("progress-panel").hidden = true;
  for (const id of ["answer", "plan", "search", "steps", "compare", "graph-path", "waterfall", "curves"]) clear($(id));
  return ++state.route;
}

// ------------------------------------------------------------------------------------------------- drawing
// The build progress of video ``v`` if something builds its index now (a run on screen that has not finished
// opening its index counts: the page never says "not indexed" while a run indexes).
function buildingNow(v) {
  const lv = state.live;
  if (lv?.indexed && lv.job.video_id === v.id) return null; // this run's build is over (a late reply says otherwise)
  const mine = lv && !lv.indexed && !lv.ended && lv.job.video_id === v.id;
  return v.building || buildingOf(v.id) || (mine ? { message: "opening the index", stages: [], done: 0, total: 0, decode: 0, elapsed_s: 0 } : null);
}

function drawFlow() {
  const r = state.run;
  if (!r || $("flow-panel").hidden) return;
  const lv = state.live;
  const running = lv?.node ? { node: lv.node, started_at: lv.nodeStarted } : null;
  drawPath($("graph-path"), state.outline, r.trace.steps || [], { complete: !!r.trace.complete, running: running?.node });
  drawWaterfall($("waterfall"), r.trace.steps || [], { running, now: Date.now() / 1000 + jobs.skew });
}

function redraw() {
  const v = state.video;
  state.setters = [];
  if (!v) return;
  const runs = state.compare || (state.run ? [state.run] : []);
  if (v.duration) {
    let rows = indexRows(v, runs);
    if (state.compare) rows = [...rows, ...runRows(state.compare[0], "A "), ...runRows(state.compare[1], "B ")];
    else rows = [...rows, ...runRows(state.run)];
    const g = state.grounding;
    if (g) rows.push({ label: "spans", items: g.spans.map((s, k) => ({ start: s.start, end: s.end, cls: "prop", color: "#2f6fdf", text: `#${k + 1} score ${s.score}` })) });
    state.setters.push(drawTimeline($("timeline"), v.duration, rows));
    if (buildingNow(v)) $("timeline").prepend(h("p", { class: "muted small building" }, "Index in progress: rows fill in as its stages finish."));
  } else if (buildingNow(v)) {
    clear($("timeline")).append(h("p", { class: "muted building" }, "Indexing: the timeline appears when the frame table is committed."));
  } else {
    clear($("timeline")).append(h("p", { class: "muted" }, "Not indexed yet. ", h("button", { type: "button", id: "index-btn", onclick: () => indexVideo(v.id) }, "Index now")));
  }
  const curves = $("curves");
  if (state.curves) {
    const evs = state.curves.sub_events.map((e) => ({ ...e, proposals: state.run?.proposals?.[e.id] || e.spans, chosen: state.run?.chosen?.[e.id] || null }));
    state.setters.push(drawCurves(curves, v.duration || 0, evs));
  } else if (state.grounding) {
    const g = state.grounding;
    state.setters.push(drawCurves(curves, v.duration || 0, [{ id: "e1", description: g.query, curve_times: g.curve_times, curves: g.curves, proposals: g.spans, chosen: g.spans[0] ? [g.spans[0].start, g.spans[0].end] : null }]));
  }
  drawFlow();
  if (state.highlight) highlight(state.highlight);
  onTime();
}

// --------------------------------------------------------------------------------------------------- videos
async function loadVideo(id, fresh = false) {
  if (fresh || state.video?.id !== id || !state.video.indexed) state.video = await getJSON(`/api/videos/${id}`);
  const v = state.video;
  const player = $("player");
  if (player.getAttribute("src") !== `/api/videos/${v.id}/media`) {
    $("player-msg").textContent = "";
    player.setAttribute("src", `/api/videos/${v.id}/media`);
    player.load();
  }
  const building = buildingNow(v);
  renderTranscript($("transcript"), v.transcript, v.speakers || [], building ? "No speech yet: the transcript appears when its stage finishes." : "No speech in the index.");
  $("transcript-meta").textContent = v.speakers?.length ? `${v.speakers.length} speakers` : "";
  renderTree($("tree"), v.nodes);
  const deg = Object.keys(v.index?.degraded || {});
  $("video-meta").textContent = v.duration
    ? `${v.name} · ${fmtTime(v.duration)} · ${v.width}×${v.height} · ${v.index.frames} frames at ${v.index.fps} fps` +
      (building ? " · index in progress" : "") + (deg.length ? ` · degraded: ${deg.join(", ")}` : "")
    : `${v.name} · ${building ? "indexing…" : "not indexed"}`;
  $("ask-video").value = id;
  const built = state.view === "video" && v.index && !building
    ? { final: true, stages: Object.entries(v.index.stages).map(([name, st]) => ({ name, status: st.status, wall_s: st.wall_s, reason: st.reason })) }
    : null;
  // a finished run's page shows what was built, not a build (the job list may still say "indexing" for a moment)
  const finishedRun = state.view === "run" && !state.live;
  showProgress(finishedRun ? null : building?.stages?.length ? building : built);
  log({ ev: "video", indexed: !!v.indexed, partial: !!v.partial, transcript: (v.transcript || []).length, nodes: (v.nodes || []).length });
}

function showProgress(p) {
  $("progress-panel").hidden = !p;
  renderProgress($("progress"), p);
}

// A build's progress for the video on screen: shown, and the video reloaded whenever another stage finishes.
async function onProgress(videoId, p) {
  if (state.video?.id !== videoId) return;
  const lv = state.live;
  if (lv?.indexed && lv.job.video_id === videoId) return; // a progress event that arrived after "indexed"
  showProgress(p);
  if (p && p.done > state.progressDone) {
    state.progressDone = p.done;
    await loadVideo(videoId, true);
    redraw();
  }
  log({ ev: "index", done: p?.done, current: p?.current, transcript: (state.video?.transcript || []).length, notIndexed: $("view").innerText.includes("Not indexed") });
}

async function showVideo(id) {
  reset();
  show("video");
  $("run-title").textContent = "";
  await loadVideo(id, true);
  $("run-title").textContent = state.video.name;
  renderUsage($("run-meta"), null);
  redraw();
  if (state.video.building) pollSoon();
}

async function indexVideo(id) {
  try {
    const job = await submitJob({ kind: "index", video_id: id });
    status(`indexing ${job.video_name}…`);
    state.video = { ...state.video, building: { message: "queued", stages: [], done: 0, total: 0, decode: 0, elapsed_s: 0 } };
    redraw();
  } catch (e) { status(e.message, "bad"); }
}

// ----------------------------------------------------------------------------------------------------- runs
function runMeta(r) {
  const meta = $("run-meta");
  renderUsage(meta, r.usage);
  const tid = r.trace.trace_id;
  meta.append(" · ", h("a", { href: `/api/runs/${encodeURIComponent(tid)}/export`, download: "" }, "export JSON"), " · ", h("span", { class: "muted" }, `trace ${tid}`));
  const norm = (q) => (q || "").trim().toLowerCase();
  const others = state.runs.filter((x) => x.trace_id !== tid && norm(x.question) === norm(r.trace.question));
  if (others.length) {
    const sel = h("select", { id: "compare-select", "aria-label": "compare with another run", onchange: (e) => { if (e.target.value) location.hash = `#/compare/${tid}/${e.target.value}`; } },
      h("option", { value: "" }, `compare with… (${others.length})`),
      others.map((x) => h("option", { value: x.trace_id }, `${x.updated_at ? new Date(x.updated_at).toLocaleString() : x.trace_id.slice(0, 8)} · ${x.planner || "?"}`)));
    meta.append(" · ", sel);
  }
}

async function showRun(traceId) {
  const token = reset();
  const r = await getJSON(`/api/runs/${encodeURIComponent(traceId)}`);
  if (token !== state.route) return;
  state.run = r;
  show("run");
  $("run-title").textContent = r.trace.question || "(no question)";
  runMeta(r);
  renderAnswer($("answer"), r);
  renderPlan($("plan"), r.trace.plan);
  renderSearch($("search"), r);
  renderSteps($("steps"), r.trace.steps);
  if (r.video_id) {
    await loadVideo(r.video_id);
    redraw();
    getJSON(`/api/runs/${encodeURIComponent(traceId)}/curves`).then((c) => {
      if (token !== state.route) return;
      state.curves = c;
      redraw();
    }).catch((e) => clear($("curves")).append(h("p", { class: "bad" }, `curves unavailable: ${e.message}`)));
  } else status(`the video of this run (${r.trace.video}) is not registered or no longer exists`, "bad");
  document.body.dataset.run = traceId;
}

async function showCompare(a, b) {
  const token = reset();
  const [ra, rb] = await Promise.all([a, b].map((t) => getJSON(`/api/runs/${encodeURIComponent(t)}`)));
  if (token !== state.route) return;
  state.compare = [ra, rb];
  show("compare");
  $("run-title").textContent = `Compare: ${ra.trace.question || ""}`;
  clear($("run-meta")).append("A ", h("a", { href: `#/run/${a}` }, a.slice(0, 8)), " · B ", h("a", { href: `#/run/${b}` }, b.slice(0, 8)));
  renderCompare($("compare"), ra, rb, state.outline);
  if (ra.video_id || rb.video_id) await loadVideo(ra.video_id || rb.video_id);
  redraw();
  document.body.dataset.compare = `${a}/${b}`;
}

// ------------------------------------------------------------------------------------------ a run as it goes
function renderLive() {
  const lv = state.live;
  state.run = runFromSteps(lv.steps, lv.job.question);
  renderPlan($("plan"), state.run.trace.plan);
  renderSearch($("search"), state.run);
  const a = clear($("answer"));
  if (state.run.draft) a.append(h("p", { class: "answer-text draft" }, state.run.draft.text), h("p", { class: "muted small" }, "draft: being verified…"));
  else a.append(h("p", { class: "muted" }, lv.ended ? "No answer." : "Waiting for the answer…"));
}

async function onJobEvent(token, name, data) {
  const lv = state.live;
  if (!lv || token !== state.route) return;
  if (name === "status") $("live-status").textContent = data.message;
  else if (name === "index") {
    $("live-status").textContent = data.message;
    await onProgress(lv.job.video_id, data);
  }
  else if (name === "indexed") {
    lv.indexed = true; // the build is over: no progress panel from here on, whatever arrives late
    showProgress(null);
    await loadVideo(lv.job.video_id, true);
    redraw();
  } else if (name === "node") {
    Object.assign(lv, { node: data.node, nodeStarted: data.started_at });
    if (data.node) $("live-status").textContent = `running ${data.node}…`;
    drawFlow();
  } else if (name === "step") {
    lv.steps.push(data);
    $("steps").append(stepItem(data, { live: true }));
    document.body.dataset.liveSteps = String(lv.steps.length);
    renderLive();
    redraw();
  } else if (name === "answer") lv.traceId = data.trace_id;
  else if (name === "error") { status(data.error, "bad"); $("live-status").textContent = `failed: ${data.error}`; }
  else if (name === "cancelled") $("live-status").textContent = "cancelled";
  else if (name === "end") lv.ended = true;
  log({ ev: name, transcript: (state.video?.transcript || []).length });
}

async function showJob(id) {
  const token = reset();
  const job = await getJSON(`/api/jobs/${encodeURIComponent(id)}`);
  if (token !== state.route) return;
  if (job.status === "done" && job.trace_id) { location.replace(`#/run/${job.trace_id}`); return; }
  state.live = { job, steps: [], node: null, nodeStarted: null, traceId: null, ended: false, ctl: new AbortController() };
  const lv = state.live;
  show(job.kind === "index" ? "video" : "live");
  $("live-bar").hidden = false;
  $("live-status").textContent = job.status;
  $("run-title").textContent = job.question || `index ${job.video_name}`;
  clear($("run-meta")).append(`run #${job.seq} · ${job.video_name}`);
  document.body.dataset.liveSteps = "0";
  document.body.dataset.job = id;
  await loadVideo(job.video_id, true);
  state.run = job.kind === "ask" ? runFromSteps([], job.question) : null;
  if (state.run) renderLive();
  redraw();
  const tick = setInterval(() => { if (lv.node) drawFlow(); }, 500);
  try {
    await followJob(id, (name, data) => onJobEvent(token, name, data), lv.ctl.signal);
  } catch (e) {
    if (e.name !== "AbortError") status(e.message, "bad");
  } finally {
    clearInterval(tick);
  }
  if (token !== state.route) return;
  $("live-bar").hidden = true;
  await refreshLists();
  if (lv.traceId) location.replace(`#/run/${lv.traceId}`);
  else if (job.kind === "index") await showVideo(job.video_id);
  else renderLive();
}

async function route() {
  const [, kind, a, b] = (location.hash || "#/").split("/");
  status("");
  try {
    if (kind === "run" && a) await showRun(decodeURIComponent(a));
    else if (kind === "job" && a) await showJob(a);
    else if (kind === "compare" && a && b) await showCompare(decodeURIComponent(a), decodeURIComponent(b));
    else if (kind === "video" && a) await showVideo(a);
    else { reset(); show("empty"); }
  } catch (e) {
    status(e.message, "bad");
  }
}

// --------------------------------------------------------------------------------------- ask / ground / list
async function ask(videoId, question) {
  const job = await submitJob({ kind: "ask", video_id: videoId, question });
  location.hash = `#/job/${job.id}`;
}

async function ground(videoId, query) {
  const token = reset();
  show("ground");
  $("run-title").textContent = `ground: ${query}`;
  clear($("run-meta")).append(h("span", { class: "spinner" }), " grounding…");
  await loadVideo(videoId);
  const g = await postJSON("/api/ground", { video_id: videoId, query });
  if (token !== state.route) return;
  state.grounding = g;
  clear($("run-meta")).append(`${g.spans.length} spans · channels: ${Object.keys(g.curves).join(", ") || "none"}`);
  renderPlan($("plan"), g.plan);
  $("answer").append(h("ol", { class: "spans" }, g.spans.map((s) => h("li", {}, spanButton(s.start, s.end), ` score ${s.score}`))));
  if (g.degraded.length) $("answer").append(h("ul", { class: "muted small" }, g.degraded.map((d) => h("li", {}, d))));
  redraw();
}

function wire() {
  const question = () => $("ask-question").value.trim();
  $("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!question() || !$("ask-video").value) return status("pick a video and type a question", "bad");
    ask($("ask-video").value, question()).catch((err) => status(err.message, "bad"));
  });
  $("ground-btn").addEventListener("click", () => {
    if (!question() || !$("ask-video").value) return status("pick a video and type a query", "bad");
    ground($("ask-video").value, question()).catch((err) => status(err.message, "bad"));
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
  $("cancel-btn").addEventListener("click", () => { if (state.live) cancelJob(state.live.job.id).catch((err) => status(err.message, "bad")); });
  const player = $("player");
  player.addEventListener("timeupdate", onTime);
  player.addEventListener("seeked", onTime);
  player.addEventListener("error", () => { $("player-msg").textContent = "This browser cannot play the video file (its codec?). Timestamps still work."; });
  $("transcript").addEventListener("scroll", (e) => {
    if (e.target.dataset.following === "1") e.target.dataset.following = "";
    else state.scrolledAt = Date.now(); // the user scrolled: stop following for a few seconds
  });
  jobs.listeners.add(async (list, finished) => {
    if (finished.length) refreshLists().catch(() => {});
    else renderVideoList();
    if (state.view === "video" && state.video && !state.live) {
      const p = buildingOf(state.video.id);
      if (p) await onProgress(state.video.id, p);
      else if (state.progressDone >= 0 || finished.some((j) => j.video_id === state.video.id)) { status(""); await showVideo(state.video.id); }
    }
  });
  window.addEventListener("hashchange", route);
  let resizeTimer = 0;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(redraw, 150); });
}

async function start() {
  wire();
  try {
    const [health, outline] = await Promise.all([getJSON("/api/health"), getJSON("/api/graph")]);
    state.outline = outline;
    jobs.skew = (health.time || Date.now() / 1000) - Date.now() / 1000;
    $("health").textContent = `${health.llm ? `LLM ${health.llm}` : "offline (no LLM: rule-based plans, template answers)"} · ${health.profile} profile`;
    $("queue-limits").textContent = `${health.max_runs} at once, ${health.max_queued} waiting`;
    await refreshLists();
    pollSoon();
  } catch (e) { status(e.message, "bad"); }
  await route();
  document.body.dataset.ready = "1";
}

start();
