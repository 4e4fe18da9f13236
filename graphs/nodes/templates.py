"""Template answers, used when no LLM is configured (or the LLM's answer cannot be used): deterministic text
built from the plan, the chosen spans and the evidence, with the evidence cited."""

from __future__ import annotations

from typing import Any

from vidreason.graphs.nodes.evidence import Evidence
from vidreason.tools.core.plan import AnswerForm, Plan, QuestionType
from vidreason.tools.core.results import Citation, ScoredSpan

#: a transcript line counts as matching when it scores at least this fraction of the best line (and MIN_MATCH)
LINE_FRACTION, MIN_MATCH = 0.6, 0.15
MAX_QUOTES = 3


def fmt_time(t: float) -> str:
    """Seconds as ``12.3s`` (or ``1:02.3`` past a minute)."""
    if t < 60:
        return f"{t:.1f}s"
    m, s = divmod(t, 60)
    return f"{int(m)}:{s:04.1f}"


def fmt_span(s: float, e: float) -> str:
    return f"{fmt_time(s)}-{fmt_time(e)}"


def cite(ev: Evidence, why: str) -> Citation:
    return Citation(
        frame_index=ev.frame_index,
        time=ev.time,
        node_id=ev.node_id,
        channel=ev.channel,
        why=why,
        text=ev.text if ev.channel != "visual" else None,
    )


def _matching(evidence: list[Evidence], channel: str) -> list[Evidence]:
    items = [e for e in evidence if e.channel == channel and e.text]
    if not items:
        return []
    best = max(e.score for e in items)
    keep = [e for e in items if e.score >= max(MIN_MATCH, LINE_FRACTION * best)]
    keep = sorted(keep, key=lambda e: -e.score)[:MAX_QUOTES]
    return sorted(keep, key=lambda e: e.start)


def _quote(lines: list[Evidence], verb: str) -> tuple[str, list[Citation]]:
    parts = [f'at {fmt_span(e.start, e.end)} {verb}: "{e.text}"' for e in lines]
    cites = [cite(e, f"{verb} at {fmt_span(e.start, e.end)}") for e in lines]
    return "; ".join(parts), cites


def _sentence(text: str) -> str:
    text = text[0].upper() + text[1:]
    return text if text.endswith(('."', '!"', '?"', ".", "!", "?")) else text + "."


def template_answer(
    plan: Plan,
    evidence: list[Evidence],
    target: dict[str, Any],
    spans: list[ScoredSpan],
    assignment: dict[str, Any],
) -> dict[str, Any]:
    """``{"text", "citations", "confidence", "source": "template"}`` for the plan's question type."""
    frames = [e for e in evidence if e.channel == "visual"]
    speech = _matching(evidence, "speech")
    shown = _matching(evidence, "ocr")
    captions = _matching(evidence, "caption") or [e for e in evidence if e.channel == "caption"][:MAX_QUOTES]
    summaries = [e for e in evidence if e.channel == "summary"]
    t0, t1 = float(target.get("start", 0.0)), float(target.get("end", 0.0))
    score = float(assignment.get("score", 0.0)) if assignment else 0.0
    qtype, form = plan.question_type, plan.answer_form
    citations: list[Citation] = []
    if qtype is QuestionType.SPEECH or form is AnswerForm.QUOTE:
        if speech:
            text, citations = _quote(speech, "the speaker says")
            text = _sentence(text)
            confidence = max(e.score for e in speech)
        elif shown:
            text, citations = _quote(shown, "the screen shows")
            text = _sentence(text)
            confidence = max(e.score for e in shown)
        else:
            text = f"No speech matching the question was found around {fmt_span(t0, t1)}."
            confidence = 0.05
    elif qtype is QuestionType.SUMMARY:
        if summaries:
            text = summaries[0].text or ""
            citations = [cite(summaries[0], "summary of the video")]
        elif captions:
            text = " ".join(f"{fmt_span(e.start, e.end)}: {e.text}" for e in captions)
            citations = [cite(e, "caption of this shot") for e in captions]
        elif speech or any(e.channel == "speech" for e in evidence):
            lines = [e for e in evidence if e.channel == "speech"][:MAX_QUOTES]
            text, citations = _quote(lines, "the speaker says")
            text = "The video has no captions or summaries; " + text + "."
        else:
            text = "No captions, summaries or transcript are available to summarise this video."
        confidence = 0.5 if citations else 0.05
    elif qtype is QuestionType.COUNTING:
        strong = [s for s in spans if s.source != "target" and s.score >= 0.5]
        merged: list[ScoredSpan] = []
        for s in sorted(strong, key=lambda s: s.start):
            if not merged or s.start >= merged[-1].end:
                merged.append(s)
        n = len(merged)
        where = ", ".join(fmt_span(s.start, s.end) for s in merged)
        text = f"About {n} time{'s' if n != 1 else ''}" + (f" (at {where})." if where else ".")
        citations = [cite(f, "frame inside a counted occurrence") for f in frames[:2]]
        confidence = 0.3 if n else 0.05
    else:
        lead = f"{target.get('describe', 'the relevant span').capitalize()} is {fmt_span(t0, t1)}"
        details = []
        if assignment and assignment.get("chosen") and len(plan.sub_events) > 1:
            details.append(
                "; ".join(f"{plan.sub_event(k).description}: {fmt_span(*v)}" for k, v in assignment["chosen"].items())
            )
        extra: list[Evidence] = captions[:2] + speech[:2] + shown[:1]
        if extra:
            details.append(" ".join(f'{e.channel} at {fmt_time(e.time)}: "{e.text}"' for e in extra))
        text = lead + (". " + ". ".join(details) if details else "") + "."
        if qtype is not QuestionType.GROUNDING and not extra:
            text += " (No captions or transcript describe this span; see the cited frames.)"
        citations = [cite(e, f"{e.channel} in the span") for e in extra]
        citations += [cite(f, f"frame at {fmt_time(f.time)} inside {fmt_span(t0, t1)}") for f in frames[:2]]
        confidence = score if qtype is QuestionType.GROUNDING else min(score, 0.4 if not extra else 0.7)
    if assignment and assignment.get("relaxed"):
        text += " (The sub-events were not found in the order the question implies; this is the closest match.)"
        confidence = min(confidence, 0.3)
    return {
        "text": text,
        "citations": [c.model_dump(mode="json") for c in citations],
        "confidence": round(float(min(max(confidence, 0.0), 1.0)), 4),
        "source": "template",
    }


__all__ = ["fmt_span", "fmt_time", "template_answer"]
