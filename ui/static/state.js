// What the page modules share: the page state, element lookup, the status line and a log of what the page did
// (read by the browser tests).

export const $ = (id) => document.getElementById(id);
export const state = { outline: null, video: null, run: null, compare: null, curves: null, grounding: null, live: null,
  setters: [], cite: -1, highlight: null, runs: [], videos: [], view: "empty", route: 0, progressDone: -1, lineAt: null, scrolledAt: 0 };
window.vrLog = []; // what the page did, in order (read by the browser tests)
export const log = (entry) => window.vrLog.push({ t: Math.round(performance.now()), ...entry });

export function status(text, kind = "") {
  const el = $("status");
  el.textContent = text || "";
  el.className = `status ${kind}`;
  el.hidden = !text;
}

