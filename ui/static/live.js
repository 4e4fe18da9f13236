// Jobs (runs in progress): the sidebar's queue, polled while something runs; submitting questions and index
// builds; cancelling; and following one job's events (replayed from its start, so a page opened late, or
// reloaded, sees the whole run).

import { clear, fmtDur, getJSON, getStream, h, postJSON } from "./dom.js";

const FINISHED = new Set(["done", "failed", "cancelled"]);
export const jobs = { list: [], maxRunning: 2, listeners: new Set(), timer: 0, skew: 0 };

export function isFinished(job) {
  return FINISHED.has(job.status);
}

export async function submitJob(body) {
  const job = await postJSON("/api/jobs", body);
  pollSoon();
  return job;
}

export async function cancelJob(id) {
  const job = await postJSON(`/api/jobs/${encodeURIComponent(id)}/cancel`, {});
  pollSoon();
  return job;
}

export function followJob(id, onEvent, signal) {
  return getStream(`/api/jobs/${encodeURIComponent(id)}/events`, onEvent, signal);
}

export function describeJob(j, now = Date.now() / 1000 + jobs.skew) {
  if (j.status === "queued") return `queued${j.queue_position ? ` #${j.queue_position}` : ""}`;
  if (j.status === "indexing") {
    const p = j.index;
    if (!p) return "opening the index";
    return p.current === "decode" ? `indexing: decode ${Math.round(p.decode * 100)}%` : `indexing: ${p.current || "finishing"} (${p.done}/${p.total})`;
  }
  if (j.status === "running") return j.node ? `${j.node} · ${fmtDur(Math.max(0, now - j.node_started))}` : `step ${j.steps}`;
  if (j.status === "failed") return `failed: ${j.error || "error"}`;
  return j.status;
}

function jobItem(j) {
  const href = j.status === "done" && j.trace_id ? `#/run/${j.trace_id}` : `#/job/${j.id}`;
  const what = j.kind === "index" ? `index ${j.video_name}` : j.question;
  return h("li", { class: `job st-${j.status}`, dataset: { job: j.id, status: j.status } },
    h("div", { class: "job-head" },
      h("span", { class: "job-seq" }, `#${j.seq}`),
      h("a", { href, title: what }, what),
      isFinished(j) ? null : h("button", { type: "button", class: "cancel", title: "cancel this run", "aria-label": `cancel run ${j.seq}`,
        onclick: (e) => { e.preventDefault(); cancelJob(j.id).catch(() => {}); } }, "×")),
    h("div", { class: "muted small job-state" }, `${j.video_name} · `, h("span", { class: `job-status ${j.status}` }, describeJob(j))));
}

export function renderJobs() {
  const el = document.getElementById("job-list");
  const recent = jobs.list.filter((j) => !isFinished(j) || Date.now() / 1000 - (j.ended_at || 0) < 120).slice(0, 12);
  document.getElementById("queue-section").hidden = !recent.length;
  clear(el).append(...recent.map((j) => jobItem(j)));
}

async function poll() {
  clearTimeout(jobs.timer);
  const before = new Map(jobs.list.map((j) => [j.id, j.status]));
  try {
    const r = await getJSON("/api/jobs");
    jobs.list = r.jobs;
    jobs.maxRunning = r.max_running;
  } catch {
    jobs.timer = setTimeout(poll, 3000);
    return;
  }
  renderJobs();
  const finished = jobs.list.filter((j) => isFinished(j) && before.has(j.id) && !FINISHED.has(before.get(j.id)));
  jobs.listeners.forEach((f) => f(jobs.list, finished));
  if (jobs.list.some((j) => !isFinished(j))) jobs.timer = setTimeout(poll, 700);
}

export function pollSoon() {
  clearTimeout(jobs.timer);
  jobs.timer = setTimeout(poll, 50);
}

// The build progress of a job indexing ``videoId`` now, if any.
export function buildingOf(videoId) {
  const j = jobs.list.find((x) => x.video_id === videoId && x.status === "indexing" && x.index);
  return j ? { ...j.index, job_id: j.id } : null;
}
