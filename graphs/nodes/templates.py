"""Template answers, used when no LLM is configured (or the LLM's answer cannot be used): a natural sentence per
question type that quotes or names the target, states the anchor's time, and cites the evidence; an honest
"not found in this video" (with what was searched) when a searched sub-event has no support."""

from __future__ import annotations

from typing import Any

from vidreason.graphs.nodes.evidence import Evidence
from vidreason.graphs.nodes.phrases import (
    CHANNEL_NAMES,
    event_clause,
    event_name,
    fmt_span,
    fmt_time,
    join_times,
    ordinal,
    quote,
    sentence,
    voice,
)
from vidreason.tools.core.plan import AnswerForm, Plan, QuestionType
from vidreason.tools.core.results import Citation

MAX_QUOTES = 3
_LEADS = {
    ("after", True): "Right after",
    ("after", False): "After",
    ("before", True): "Just before",
    ("before", False): "Before",
    ("during", False): "While",
    ("during", True): "While",
}


def cite(ev: Evidence, why: str) -> Citation:
    return Citation(
        frame_index=ev.frame_index,
        time=ev.time,
        node_id=ev.node_id,
        channel=ev.channel,
        why=why,
        text=ev.text if ev.channel != "visual" else None,
    )


class _Answer:
    """Text parts, citations and confidence being assembled."""

    def __init__(self, evidence: list[Evidence]) -> None:
        self.evidence = evidence
        self.parts: list[str] = []
        self.citations: list[Citation] = []
        self.confidence = 0.5

    def of(self, role: str, *channels: str, event: str | None = None) -> list[Evidence]:
        return [
            e
            for e in self.evidence
            if e.role == role and e.channel in channels and (event is None or e.event == event) and e.text
        ]

    def add_cite(self, ev: Evidence, why: str) -> None:
        if all(c.frame_index != ev.frame_index or c.channel != ev.channel or c.text != ev.text for c in self.citations):
            self.citations.append(cite(ev, why))

    def frames(self, n: int = 2) -> None:
        for f in [e for e in self.evidence if e.channel == "visual" and e.role == "target"][:n]:
            self.add_cite(f, f"frame at {fmt_time(f.time)}")


def _quotes(items: list[Evidence], limit: int = MAX_QUOTES) -> str:
    texts = list(dict.fromkeys(e.text or "" for e in sorted(items, key=lambda e: e.start)))[:limit]
    return " ".join(quote(t) for t in texts if t)


def _span_of(items: list[Evidence]) -> str:
    return fmt_span(min(e.start for e in items), max(e.end for e in items))


def _not_found(plan: Plan, missing: list[str], searches: dict[str, Any]) -> dict[str, Any]:
    names = [event_name(plan.sub_event(m)) for m in missing]
    searched = sorted({c for m in missing for c in (searches.get(m) or {}).get("searched", [])})
    where = ", ".join(CHANNEL_NAMES.get(c, c) for c in searched) or "no channel could be searched"
    skipped = [s for m in missing for s in (searches.get(m) or {}).get("skipped", [])]
    text = f"Not found in this video: {' and '.join(names)} (searched {where})."
    if skipped:
        text += " Not searchable: " + "; ".join(dict.fromkeys(skipped)) + "."
    if plan.question_type is QuestionType.ORDER:
        text += " So the order cannot be told."
    return {"text": text, "citations": [], "confidence": 0.05, "source": "template", "found": False}


def _read(a: _Answer, plan: Plan, target: dict[str, Any]) -> str:
    """What is read at the target, as a clause (speech quoted, screen text quoted, shots described)."""
    read = plan.target.read
    bits: list[str] = []
    if "speaker" in read:
        lines = a.of("target", "speech") or a.of("anchor", "speech")
        speakers = list(dict.fromkeys(e.speaker for e in lines if e.speaker))
        if lines and speakers:
            names = " and ".join(voice(sp) for sp in speakers)
            bits.append(f"{names} {'says' if len(speakers) == 1 else 'say'} it: {_quotes(lines)}")
        elif lines:
            bits.append(f"the line is {_quotes(lines)}, but the transcript has no speaker labels (no diarization)")
        for e in lines[:MAX_QUOTES]:
            a.add_cite(e, f"said at {fmt_span(e.start, e.end)}")
    if "speech" in read:
        lines = a.of("target", "speech")
        if plan.target.kind == "before":  # the end of the sentence before, nearest the anchor
            lines = sorted(lines, key=lambda e: e.start)[-MAX_QUOTES:]
        who = list(dict.fromkeys(e.speaker for e in lines if e.speaker))
        if plan.target.speaker and not who:
            bits.append(
                "the transcript has no speaker labels (speaker diarization is off), so who says what is unknown"
            )
            a.confidence *= 0.3
        if lines:
            subject = " and ".join(voice(w) for w in who) if plan.target.speaker and who else "the speaker"
            bits.append(f"{subject} says: {_quotes(lines)} ({_span_of(lines)})")
            for e in lines[:MAX_QUOTES]:
                a.add_cite(e, f"said at {fmt_span(e.start, e.end)}")
        else:
            bits.append("nothing is said there")
            a.confidence *= 0.5
    if "ocr" in read:
        shown = a.of("target", "ocr")
        if shown:
            bits.append(f"the screen shows: {_quotes(shown)}")
            for e in shown[:MAX_QUOTES]:
                a.add_cite(e, f"on screen at {fmt_time(e.time)}")
        else:
            how = next((n for n in target.get("notes") or [] if "OCR" in n or "on-screen" in n), "")
            bits.append("no legible on-screen text was found" + (f" ({how})" if how else ""))
            # asked only what is on screen: nothing legible answers the question with "not there"
            a.confidence *= 0.25 if read == ["ocr"] else 0.6
    if "visual" in read:
        shots = target.get("shots") or []
        captions = a.of("target", "caption")
        if shots:
            span = fmt_span(shots[0]["start"], shots[-1]["end"])
            cut = plan.target.kind in ("after", "before") and len(shots) == 1
            count = "one shot" if len(shots) == 1 else f"{len(shots)} shots"
            what = f"the video {'cuts to a new shot' if cut else f'shows {count}'} ({span})"
            what += f": {_quotes(captions, 2)}" if captions else " (no captions are indexed: see the cited frames)"
            bits.append(what)
        elif captions:
            bits.append(f"the video shows: {_quotes(captions, 2)}")
        for e in captions[:2]:
            a.add_cite(e, "caption of the shot")
        a.frames()
    return "; ".join(bits)


def _anchor_clause(a: _Answer, plan: Plan, event_id: str, chosen: dict[str, Any]) -> str:
    event = plan.sub_event(event_id)
    span = chosen.get(event_id)
    clause = event_clause(event, occurrence=ordinal(event))
    for e in a.of("anchor", "speech", "ocr", "caption", event=event_id)[:1]:
        a.add_cite(e, f"{event_name(event)} at {fmt_span(e.start, e.end)}")
    return f"{clause} ({fmt_span(*span)})" if span else clause


def _relative(a: _Answer, plan: Plan, target: dict[str, Any], chosen: dict[str, Any]) -> str:
    t = plan.target
    body = _read(a, plan, target)
    if t.kind == "between":
        first, second = sorted(t.refs, key=lambda r: (chosen.get(r) or [0.0])[0])
        lead = f"Between {_anchor_clause(a, plan, first, chosen)} and {_anchor_clause(a, plan, second, chosen)}"
        return sentence(f"{lead}, {body}")
    if t.kind in ("after", "before", "during"):
        lead = _LEADS[(t.kind, t.adjacent)]
        return sentence(f"{lead} {_anchor_clause(a, plan, t.refs[0], chosen)}, {body}")
    anchor = _anchor_clause(a, plan, t.refs[0], chosen)
    return sentence(f"When {anchor}, {body}")


def _when(a: _Answer, plan: Plan, chosen: dict[str, Any]) -> str:
    parts = []
    for r in plan.target.refs or list(chosen):
        event = plan.sub_event(r)
        span = chosen.get(r)
        if not span:
            continue
        clause = event_clause(event, occurrence=ordinal(event))
        lines = a.of("anchor", "speech", "ocr", "caption", event=r)
        said = f": {_quotes(lines, 1)}" if lines else ""
        parts.append(f"{clause} at {fmt_time(span[0])}{said} ({fmt_span(*span)})")
        for e in lines[:1]:
            a.add_cite(e, f"{event_name(event)} at {fmt_span(e.start, e.end)}")
    a.frames(1)
    return sentence("; then ".join(parts))


def _order(a: _Answer, plan: Plan, info: dict[str, Any], chosen: dict[str, Any]) -> str:
    e1, e2 = plan.sub_events[:2]
    first = info.get("first")
    for e in a.of("anchor", "speech", "ocr", "caption"):
        a.add_cite(e, f"{event_name(plan.sub_event(e.event or e1.id))} at {fmt_span(e.start, e.end)}")
    at = {e.id: fmt_time(chosen[e.id][0]) for e in (e1, e2) if e.id in chosen}
    a_first = plan.sub_event(first) if first else e1
    b_second = e2 if a_first.id == e1.id else e1
    order = f"{event_name(a_first)} ({at.get(a_first.id)}) comes before {event_name(b_second)} ({at.get(b_second.id)})"
    if info.get("overlap"):
        a.confidence *= 0.7
    if plan.answer_form is AnswerForm.CHOICE:
        wants_first = "last" not in (plan.reasoning or "")
        pick = a_first if wants_first else b_second
        return sentence(f"{event_name(pick)} comes {'first' if wants_first else 'last'}: {order}")
    holds = info.get("holds")
    return sentence(f"{'Yes' if holds else 'No'}: {order}")


def _count(a: _Answer, plan: Plan, searches: dict[str, Any], target: dict[str, Any]) -> str:
    if plan.target.read == ["speaker"]:
        lines = a.of("target", "speech")
        speakers = sorted({e.speaker for e in lines if e.speaker})
        if not speakers:
            return (
                "The transcript has no speaker labels (speaker diarization did not run), so the speakers cannot be "
                "counted."
            )
        for sp in speakers:
            e = next(x for x in lines if x.speaker == sp)
            a.add_cite(e, f"{sp} speaking")
        n = len(speakers)
        return sentence(f"{n} {'person speaks' if n == 1 else 'people speak'} ({', '.join(speakers)})")
    event = plan.sub_events[0]
    occ = (searches.get(event.id) or {}).get("occurrences") or []
    hits = sum(int(o.get("hits", 1)) for o in occ)
    times = [float(o["start"]) for o in occ]
    for e in a.of("target", "speech", "ocr", "caption"):
        a.add_cite(e, f"occurrence at {fmt_time(e.start)}")
    verb = "is mentioned" if event.channels == ["speech"] else "appears" if event.channels == ["ocr"] else "happens"
    return sentence(f"{event_name(event)} {verb} {hits} time{'s' if hits != 1 else ''}: at {join_times(times)}")


def _summary(a: _Answer, plan: Plan, target: dict[str, Any]) -> str:
    summaries = a.of("target", "summary")
    if plan.target.kind == "video":
        if summaries:
            a.add_cite(summaries[0], "summary of the video")
            return f"Summary of the whole video: {summaries[0].text}" if summaries[0].text else ""
        lines = a.of("target", "speech")[:MAX_QUOTES]
        for e in lines:
            a.add_cite(e, f"said at {fmt_span(e.start, e.end)}")
        a.frames()
        return (
            "The video has no summaries; the speaker says: " + _quotes(lines)
            if lines
            else "No captions, summaries or transcript are available to summarise this video."
        )
    where = f"At the {plan.target.kind} of the video ({fmt_span(float(target['start']), float(target['end']))})"
    body = _read(a, plan, target)
    text = sentence(f"{where}, {body}")
    own = [s for s in summaries if target.get("node_id") and s.node_id == target.get("node_id")]
    if own and (own[0].text or "").strip() not in text:  # an extractive summary often repeats the quoted line
        a.add_cite(own[0], f"summary of the {plan.target.kind} of the video")
        text += f" Summary: {own[0].text}"
    return text


def template_answer(
    plan: Plan,
    evidence: list[Evidence],
    target: dict[str, Any],
    assignment: dict[str, Any],
    searches: dict[str, Any],
) -> dict[str, Any]:
    """``{"text", "citations", "confidence", "source": "template"}`` for the plan's question type."""
    missing = list(assignment.get("missing") or [])
    if missing and plan.question_type is not QuestionType.SUMMARY:
        return _not_found(plan, missing, searches)
    a = _Answer(evidence)
    chosen = dict(assignment.get("chosen") or {})
    score = float(assignment.get("score", 0.5)) if assignment else 0.5
    a.confidence = min(0.95, 0.3 + 0.65 * score) if plan.sub_events else 0.6
    qtype, form = plan.question_type, plan.answer_form
    if qtype is QuestionType.SUMMARY:
        text = _summary(a, plan, target)
    elif qtype is QuestionType.ORDER:
        text = _order(a, plan, assignment, chosen)
    elif qtype is QuestionType.COUNTING or form is AnswerForm.COUNT:
        text = _count(a, plan, searches, target)
    elif form is AnswerForm.SPEAKER or (plan.target.read and plan.target.kind == "video"):
        text = sentence(_read(a, plan, target))
    elif plan.target.read and plan.target.kind != "event":
        text = _relative(a, plan, target, chosen)
    elif plan.target.read:  # "what does the speaker say about X": the matching lines themselves
        lines = a.of("anchor", "speech", "ocr") or a.of("target", "speech", "ocr")
        for e in lines[:MAX_QUOTES]:
            a.add_cite(e, f"said at {fmt_span(e.start, e.end)}")
        event = plan.sub_event(plan.target.refs[0])
        text = sentence(f"At {_span_of(lines)}, {event_clause(event)}: {_quotes(lines)}") if lines else ""
    else:
        text = _when(a, plan, chosen)
    if assignment.get("relaxed"):
        text += " (The sub-events were not found in the order the question implies; this is the closest match.)"
        a.confidence = min(a.confidence, 0.3)
    if not a.citations:
        a.frames()
    return {
        "text": text,
        "citations": [c.model_dump(mode="json") for c in a.citations],
        "confidence": round(float(min(max(a.confidence, 0.05), 0.95)), 4),
        "source": "template",
        "found": True,
    }


__all__ = ["cite", "fmt_span", "fmt_time", "template_answer"]
