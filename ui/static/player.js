// The player and what moves it: seeking, the highlighted span (timeline band, transcript lines), the transcript
// following playback, and the citations (click, or ] / [ and the arrow keys to step through them). Anything with
// data-seek moves the player; with data-span-start/-end it also highlights that span.

import { highlightSpan } from "./charts.js";
import { openStep } from "./steps.js";
import { $, state } from "./state.js";

export function seek(t) {
  if (!Number.isFinite(t)) return;
  $("player").currentTime = t;
  onTime();
}

export function highlight(span) {
  state.highlight = span;
  highlightSpan($("timeline"), span);
  for (const li of $("transcript").querySelectorAll("li.line")) {
    li.classList.toggle("cited", !!span && Number(li.dataset.start) < span[1] + 1e-3 && Number(li.dataset.end) > span[0] - 1e-3);
  }
}

export function onTime() {
  const t = $("player").currentTime;
  state.setters.forEach((f) => f(t));
  let current = null;
  for (const li of $("transcript").querySelectorAll("li.line")) {
    const on = t >= Number(li.dataset.start) - 1e-3 && t < Number(li.dataset.end);
    li.classList.toggle("current", on);
    if (on && !current) current = li;
  }
  if (current && current !== state.lineAt && Date.now() - state.scrolledAt > 4000) {
    const box = $("transcript"); // follow playback inside the transcript box only, never the page
    box.dataset.following = "1";
    box.scrollTop = Math.max(0, current.offsetTop - box.clientHeight / 3);
  }
  state.lineAt = current;
}

export function selectCitation(i) {
  const list = [...document.querySelectorAll("#answer .citation")];
  if (!list.length) return;
  state.cite = Math.min(Math.max(i, 0), list.length - 1);
  list.forEach((b, k) => b.classList.toggle("selected", k === state.cite));
  const b = list[state.cite];
  b.focus({ preventScroll: true });
  b.scrollIntoView({ block: "nearest" });
  seek(Number(b.dataset.seek));
  highlight([Number(b.dataset.spanStart), Number(b.dataset.spanEnd)]);
  document.body.dataset.citation = String(state.cite);
}

document.addEventListener("click", (e) => {
  const node = e.target.closest("[data-step]");
  if (node && node.closest("#graph-path, #waterfall") && node.dataset.step !== "") { openStep(node.dataset.step); return; }
  const gnode = e.target.closest(".gnode");
  if (gnode) {
    const last = [...(state.run?.trace?.steps || [])].reverse().find((s) => s.node === gnode.dataset.node);
    if (last) openStep(last.step);
    return;
  }
  const el = e.target.closest("[data-seek]");
  if (!el) return;
  e.preventDefault();
  if (el.classList.contains("citation")) { selectCitation(Number(el.dataset.citation)); return; }
  seek(Number(el.dataset.seek));
  if (el.dataset.spanStart !== undefined) highlight([Number(el.dataset.spanStart), Number(el.dataset.spanEnd)]);
});
document.addEventListener("seek", (e) => seek(e.detail));
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || ["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName)) return;
  const onCite = !!e.target.closest?.(".citation");
  if (e.key === "]" || e.key === "j" || (onCite && ["ArrowDown", "ArrowRight"].includes(e.key))) { e.preventDefault(); selectCitation(state.cite + 1); }
  else if (e.key === "[" || e.key === "k" || (onCite && ["ArrowUp", "ArrowLeft"].includes(e.key))) { e.preventDefault(); selectCitation(state.cite - 1); }
});

