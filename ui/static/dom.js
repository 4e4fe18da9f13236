// Small helpers shared by the viewer: DOM building (text only, never HTML strings), time formatting,
// JSON fetches and a server-sent-events reader for POST requests.

export const SVG_NS = "http://www.w3.org/2000/svg";

// h("div", {class: "x", dataset: {seek: 3}, onclick: fn}, "text", child, [more, children])
export function h(tag, attrs = {}, ...children) {
  const el = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "dataset") Object.entries(v).forEach(([dk, dv]) => { el.dataset[dk] = String(dv); });
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = String(v);
    else if (k === "style") Object.assign(el.style, v); // CSSOM, allowed by the page's CSP (attributes are not)
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function fmtTime(t) {
  if (t === null || t === undefined || Number.isNaN(t)) return "–";
  const m = Math.floor(t / 60);
  const s = t - 60 * m;
  return `${m}:${s.toFixed(1).padStart(4, "0")}`;
}

export function fmtSpan(a, b) {
  return `${fmtTime(a)}–${fmtTime(b)}`;
}

// 0.0123 -> "12 ms", 3.456 -> "3.46 s", 75 -> "1:15"
export function fmtDur(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return "–";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  return `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")} min`;
}

export function fmtNum(x, digits = 3) {
  return typeof x === "number" ? String(Number(x.toFixed(digits))) : String(x ?? "–");
}

// A link/button that seeks the player to t seconds when clicked (see app.js); with ``end``, the span
// [t, end] is highlighted on the timeline too.
export function seekButton(t, label, cls = "seek", end = null) {
  const dataset = end === null || end === undefined ? { seek: t } : { seek: t, spanStart: t, spanEnd: end };
  return h("button", { type: "button", class: cls, dataset, title: `play from ${fmtTime(t)}` }, label ?? fmtTime(t));
}

export function spanButton(s, e) {
  return seekButton(s, e - s < 1e-6 ? fmtTime(s) : fmtSpan(s, e), "seek", e);
}

// A chip: h("span", {class: "chip ..."}, text)
export function chip(text, cls = "") {
  return h("span", { class: `chip ${cls}` }, text);
}

// Indented JSON with arrays of plain values kept on one line.
export function compactJSON(value) {
  const text = JSON.stringify(value, null, 1) ?? "null";
  return text.replace(/\[\n\s*([^\[\]{}]*?)\n\s*\]/g, (_, inner) => `[${inner.replace(/,\n\s*/g, ", ")}]`);
}

export function json(value) {
  return h("pre", { class: "json" }, compactJSON(value));
}

function errorText(body, res) {
  if (body && typeof body.error === "string") return body.error;
  if (body && body.detail) return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  return `${res.status} ${res.statusText}`;
}

export async function getJSON(url) {
  const res = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(errorText(body, res));
  return body;
}

export async function postJSON(url, payload) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(errorText(body, res));
  return body;
}

// Read a server-sent-events response, awaiting onEvent(name, data) for each event in order (a handler that
// returns a promise delays the next event: the page applies them one at a time).
async function readEvents(res, onEvent) {
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new Error(errorText(body, res));
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      await onEvent(name, data ? JSON.parse(data) : null);
    }
  }
}

// POST ``payload`` and call onEvent(name, data) for each server-sent event of the response.
export async function postStream(url, payload, onEvent, signal) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(payload),
    signal,
  });
  await readEvents(res, onEvent);
}

// GET a server-sent-events stream (a job's events) and call onEvent(name, data) for each.
export async function getStream(url, onEvent, signal) {
  const res = await fetch(url, { headers: { Accept: "text/event-stream" }, signal });
  await readEvents(res, onEvent);
}

// Colours of sub-events (e1, e2, ...) and curve channels, shared by every panel.
const PALETTE = ["#2f6fdf", "#d9622b", "#2a9d6f", "#9b4dca", "#c9a227", "#d6457a", "#3a9fb5", "#7a7f2e"];
export function eventColor(id) {
  const n = parseInt(String(id).replace(/\D/g, ""), 10);
  return PALETTE[(Number.isNaN(n) ? 0 : n - 1) % PALETTE.length];
}
export const CHANNEL_COLORS = { visual: "#2f6fdf", speech: "#2a9d6f", ocr: "#9b4dca", caption: "#c9a227", mixed: "#222" };
// Colours of speaker lanes (speaker labels in order of first appearance).
const SPEAKER_PALETTE = ["#3f9e78", "#c76b2a", "#5b7fd1", "#b0508f", "#8a8f2c", "#2f95a8"];
export function speakerColor(speakers, name) {
  const i = Math.max(0, speakers.indexOf(name));
  return SPEAKER_PALETTE[i % SPEAKER_PALETTE.length];
}
