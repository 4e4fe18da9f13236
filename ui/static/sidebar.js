// The sidebar's lists: videos (with their index state) and stored runs; the ask form's video choice.

import { clear, fmtTime, getJSON, h } from "./dom.js";
import { buildingOf } from "./live.js";
import { $, state } from "./state.js";

export function renderVideoList() {
  const vl = clear($("video-list"));
  if (!state.videos.length) vl.append(h("li", { class: "muted" }, "No videos yet: add one below."));
  for (const v of state.videos) {
    const where = v.indexed ? ` ${fmtTime(v.duration)}` : buildingOf(v.id) ? " indexing…" : " not indexed";
    vl.append(h("li", {}, h("a", { href: `#/video/${v.id}`, title: v.path }, v.name), h("span", { class: "muted small" }, where)));
  }
}

export async function refreshLists() {
  const [{ videos }, { runs }] = await Promise.all([getJSON("/api/videos"), getJSON("/api/runs?limit=100")]);
  state.runs = runs;
  const sel = $("ask-video");
  const keep = sel.value;
  clear(sel);
  for (const v of videos) sel.append(h("option", { value: v.id }, `${v.name}${v.indexed ? "" : " (not indexed)"}`));
  if (keep) sel.value = keep;
  state.videos = videos;
  renderVideoList();
  const rl = clear($("run-list"));
  if (!runs.length) rl.append(h("li", { class: "muted" }, "No runs yet: ask a question."));
  for (const r of runs) {
    rl.append(h("li", { class: "run-item" }, h("a", { href: `#/run/${r.trace_id}`, title: r.answer || "" }, r.question || r.trace_id),
      h("div", { class: "muted small" }, `${r.video_name || "?"} · ${r.updated_at ? new Date(r.updated_at).toLocaleString() : ""}`,
        r.found === false ? " · not found" : "", r.complete ? "" : " · unfinished")));
  }
}

