// What the timeline shows: the index (events, scenes, shots, speech with one lane per speaker when the transcript
// has speakers, captions, on-screen text incl. text read on demand by a run) and a run (every occurrence of each
// sub-event with the chosen one, the target span, the cited spans), and a live run's state from its steps.

import { eventColor, speakerColor } from "./dom.js";

export function indexRows(v, runs = []) {
  if (!v || !v.duration) return [];
  const rows = [];
  for (const level of ["event", "scene", "shot"]) {
    const items = (v.nodes || []).filter((n) => n.level === level)
      .map((n, i) => ({ start: n.start, end: n.end, text: n.id, cls: `lvl-${level} alt${i % 2}` }));
    if (items.length) rows.push({ label: `${level}s`, items });
  }
  const lines = v.transcript || [];
  const speakers = v.speakers || [];
  const speechItem = (it) => ({ start: it.start, end: it.end, text: it.speaker ? `${it.speaker}: ${it.text}` : it.text, cls: "speech" });
  if (speakers.length) {
    for (const who of speakers) {
      const color = speakerColor(speakers, who);
      rows.push({ label: who, title: `speaker ${who}`, labelCls: "speaker-lane", labelColor: color,
        items: lines.filter((it) => it.speaker === who).map((it) => ({ ...speechItem(it), color, cls: "speech lane" })) });
    }
    const unknown = lines.filter((it) => !it.speaker);
    if (unknown.length) rows.push({ label: "speech (?)", items: unknown.map(speechItem) });
  } else {
    rows.push({ label: "speech", items: lines.map(speechItem) });
  }
  if (v.captions?.length) rows.push({ label: "captions", items: v.captions.map((it) => ({ start: it.start, end: it.end, text: it.text, cls: "caption" })) });
  const ocr = (v.ocr || []).map((it) => ({ start: it.start, end: it.end, text: it.text, cls: "ocr" }));
  for (const r of runs) {
    for (const it of r?.target?.items || []) {
      if (it?.channel === "ocr" && !(v.ocr || []).some((o) => o.id === it.id)) ocr.push({ start: it.start, end: it.end, text: `${it.text} (read on demand)`, cls: "ocr demand" });
    }
  }
  if (ocr.length) rows.push({ label: "on screen", title: "on-screen text (OCR)", items: ocr });
  return rows;
}

export function runRows(r, prefix = "") {
  if (!r) return [];
  const rows = [];
  const ids = [...new Set([...Object.keys(r.searches || {}), ...Object.keys(r.proposals || {})])];
  for (const id of ids) {
    const color = eventColor(id);
    const occ = (r.searches?.[id]?.occurrences || []).filter((o) => typeof o === "object");
    const items = (occ.length ? occ : (r.proposals?.[id] || [])).map((o) => ({
      start: o.start, end: o.end, color, cls: "prop", text: `${id} ${o.channel || o.source || ""} ${Number(o.score).toFixed(2)}${o.text ? `: ${o.text}` : ""}`,
    }));
    const c = r.chosen?.[id];
    if (c) items.push({ start: c[0], end: c[1], color, cls: "chosen-span", text: `${id} chosen` });
    rows.push({ label: `${prefix}${id}`, labelColor: color, title: r.trace?.plan?.sub_events?.find((e) => e.id === id)?.description || id, items });
  }
  const t = r.target;
  if (t && t.found !== false) rows.push({ label: `${prefix}answer`, title: "the span the answer is about", items: [{ start: t.start, end: Math.max(t.end, t.start), cls: "target", color: "#333", text: "the span the answer is about" }] });
  const cites = r.answer?.citations || [];
  if (cites.length) {
    rows.push({
      label: `${prefix}cited`,
      items: cites.filter((c) => c.span && c.span[1] > c.span[0]).map((c) => ({ start: c.span[0], end: c.span[1], cls: "cited", color: "#e0342b", text: c.text || c.why || c.channel })),
      markers: cites.map((c, i) => ({ time: c.time, seek: c.seek ?? c.time, color: "#d33", text: `[${i + 1}] ${c.text || c.why || c.channel}`, cls: "cite" })),
    });
  }
  return rows;
}

// A run as far as its streamed steps tell (the stored run replaces it when the answer arrives).
export function runFromSteps(steps, question) {
  const last = (node, key) => [...steps].reverse().find((s) => s.node === node && (!key || s.outputs?.[key]));
  const con = last("constrain", "assignment");
  const assignment = con?.outputs?.assignment || null;
  const draft = last("verify", "answer") || last("answer", "answer");
  return {
    live: true,
    trace: { question, steps, plan: last("plan", "plan")?.outputs?.plan || null, degraded: [], complete: false },
    answer: null,
    draft: draft?.outputs?.answer || null,
    searches: last("ground", "searches")?.outputs?.searches || {},
    proposals: last("ground", "groundings")?.outputs?.groundings || {},
    chosen: assignment?.chosen || {},
    target: last("constrain", "target")?.outputs?.target || null,
    evidence: last("inspect", "evidence")?.outputs?.evidence || [],
    verdict: assignment ? {
      ...assignment, constraints: con.inputs?.constraints || [],
      replans: Math.max(0, steps.filter((s) => s.node === "plan").length - 1),
      reanswers: Math.max(0, steps.filter((s) => s.node === "answer").length - 1),
    } : null,
  };
}
