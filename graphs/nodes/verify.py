"""``verify``: every citation must point at an indexed frame (the right timestamp) inside the evidence spans,
and a textual citation must quote an evidence item of its channel that covers that time. Unsupported citations
are dropped; with an LLM, the verify prompt also checks that each cited item supports the answer. When nothing
supported is left, the answer is redone once (LLM) or replaced by the template answer."""

from __future__ import annotations

import re
from typing import Any

from vidreason.graphs.drafts import VerifyReport, VerifyVars
from vidreason.graphs.nodes.answer import evidence_of, offline_answer
from vidreason.graphs.nodes.base import StepRecorder, traced
from vidreason.graphs.nodes.evidence import Evidence
from vidreason.graphs.runtime import Resources
from vidreason.graphs.state import ReasonState
from vidreason.tools.core.errors import LLMError
from vidreason.tools.core.prompting import render_prompt
from vidreason.tools.core.results import Citation
from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.llm.decoding import decoding_schema


def _norm(text: str | None) -> str:
    return re.sub(r"\W+", " ", (text or "").lower()).strip()


def check_citation(
    index: VideoIndex, c: Citation, evidence: list[Evidence], target: dict[str, Any] | None = None
) -> tuple[Citation | None, str | None]:
    """``(citation, None)`` when supported (text filled in from the evidence if missing), else
    ``(None, reason)``."""
    times = index.frame_times
    if not 0 <= c.frame_index < len(times):
        return None, f"frame {c.frame_index} is not in the index (frames 0..{len(times) - 1})"
    tol = 0.5 / index.settings.fps + 1e-3
    actual = float(times[c.frame_index])
    if abs(actual - c.time) > tol:
        return None, f"time {c.time:.3f}s does not match frame {c.frame_index} (at {actual:.3f}s)"
    spans = [(e.start, e.end) for e in evidence]
    if target:
        spans.append((float(target["start"]), float(target["end"])))
    if not any(s - tol <= c.time <= e + tol for s, e in spans):
        return None, f"frame {c.frame_index} at {c.time:.2f}s lies outside every evidence span"
    if c.channel == "visual":
        if any(e.channel == "visual" and e.frame_index == c.frame_index for e in evidence) or (
            target and float(target["start"]) - tol <= c.time <= float(target["end"]) + tol
        ):
            return c, None
        return None, f"frame {c.frame_index} is not one of the inspected frames of the target span"
    same = [e for e in evidence if e.channel == c.channel and e.start - tol <= c.time <= e.end + tol]
    if not same:
        return None, f"no {c.channel} evidence covers {c.time:.2f}s"
    if c.text is None:
        return c.model_copy(update={"text": same[0].text}), None
    quoted = _norm(c.text)
    for e in same:
        if quoted and quoted in _norm(e.text):
            return c, None
    return None, f"the quoted {c.channel} text {c.text[:60]!r} is not in the evidence at {c.time:.2f}s"


def verify_citations(
    index: VideoIndex,
    citations: list[Citation],
    evidence: list[Evidence],
    target: dict[str, Any] | None = None,
) -> tuple[list[Citation], list[dict[str, Any]]]:
    """Split citations into supported ones and rejected ones (each with the reason)."""
    kept, rejected = [], []
    for c in citations:
        ok, why = check_citation(index, c, evidence, target)
        if ok is not None:
            kept.append(ok)
        else:
            rejected.append({**c.model_dump(mode="json"), "reason": why})
    return kept, rejected


def _evidence_id(c: Citation, evidence: list[Evidence]) -> str | None:
    for e in evidence:
        if e.frame_index == c.frame_index and e.channel == c.channel and (c.text is None or c.text == e.text):
            return e.id
    return None


def _llm_check(
    ctx: Resources,
    question: str,
    answer: dict[str, Any],
    kept: list[Citation],
    evidence: list[Evidence],
    rec: StepRecorder,
) -> tuple[list[Citation], list[dict[str, Any]], str]:
    """The verify prompt: drop citations the LLM finds unsupported; take its revised text if it gives one."""
    assert ctx.llm is not None
    ids = [_evidence_id(c, evidence) for c in kept]
    cited = [
        {
            "id": i,
            "channel": c.channel,
            "time": c.time,
            "content": c.text or f"video frame {c.frame_index}",
            "why": c.why,
        }
        for i, c in zip(ids, kept, strict=True)
    ]
    messages = render_prompt("verify", VerifyVars, question=question, answer=answer["text"], cited=cited)
    only = decoding_schema(VerifyReport, ids={"evidence_id": [i for i in ids if i]})  # checks of cited items only
    report, _ = ctx.llm.complete_structured(messages, VerifyReport, purpose="verify", decoding_schema=only)
    unsupported = {ch.evidence_id: ch.reason for ch in report.checks if not ch.supported}
    out, rejected = [], []
    for i, c in zip(ids, kept, strict=True):
        if i is not None and i in unsupported:
            rejected.append({**c.model_dump(mode="json"), "reason": f"LLM verifier: {unsupported[i] or 'unsupported'}"})
        else:
            out.append(c)
    text = answer["text"]
    if not report.answer_supported and report.revised_text:
        if only_drops(text, report.revised_text):
            rec.note("the verifier revised the answer to drop unsupported claims")
            text = report.revised_text
        else:  # a revision that says something new is itself unverified: keep the answer, trust it less
            rec.note(f"the verifier's revision adds claims and was not used: {report.revised_text[:200]!r}")
            answer["confidence"] = min(float(answer.get("confidence", 0.5)), 0.3)
    elif not report.answer_supported:
        answer["confidence"] = min(float(answer.get("confidence", 0.5)), 0.3)
    return out, rejected, text


def only_drops(original: str, revised: str) -> bool:
    """Whether ``revised`` only leaves parts of ``original`` out: every one of its sentences is (after
    normalising case and punctuation) part of the original text."""
    whole = _norm(original)
    parts = [_norm(s) for s in re.split(r"(?<=[.!?])\s+", revised) if _norm(s)]
    return bool(parts) and all(p in whole for p in parts)


def _verify(state: ReasonState, ctx: Resources, rec: StepRecorder) -> dict[str, Any]:
    """Check citations; drop, retry the answer once, or fall back to the template answer."""
    answer = dict(state.get("answer") or {})
    evidence = evidence_of(state)
    target = state.get("target")
    citations = [Citation.model_validate(c) for c in answer.get("citations") or []]
    rejected = list(state.get("rejected") or [])
    rec.inputs = {"citations": len(citations), "evidence": len(evidence), "source": answer.get("source")}
    kept, bad = verify_citations(ctx.index, citations, evidence, target)
    rejected += bad
    if ctx.llm is not None and answer.get("source") == "llm" and kept:
        try:
            kept, bad, answer["text"] = _llm_check(ctx, state["question"], answer, kept, evidence, rec)
            rejected += bad
        except LLMError as e:
            rec.degrade(f"verify: LLM check failed ({type(e).__name__}: {e}); only structural checks applied")
    for r in rejected:
        rec.note(f"citation dropped: {r.get('reason')}")
    answer["citations"] = [c.model_dump(mode="json") for c in kept]
    answer["verified"] = True
    if not kept and (citations or rejected):
        attempts = int(state.get("answer_attempts") or 0)
        if answer.get("source") == "llm" and attempts <= ctx.max_answer_retries:
            reasons = "; ".join(str(r.get("reason")) for r in rejected[:5])
            rec.note("no citation of the answer is supported; asking for the answer again")
            return {"answer": answer, "rejected": rejected, "feedback": f"unsupported citations: {reasons}"}
        if answer.get("source") == "llm":
            rec.degrade("the LLM's answer has no supported citation after a retry; template answer used")
            fallback = offline_answer(state)
            kept, bad = verify_citations(
                ctx.index, [Citation.model_validate(c) for c in fallback["citations"]], evidence, target
            )
            fallback["citations"] = [c.model_dump(mode="json") for c in kept]
            fallback["verified"] = True
            return {"answer": fallback, "rejected": rejected + bad, "feedback": ""}
    return {"answer": answer, "rejected": rejected, "feedback": ""}


verify = traced("verify", _verify)


def route_after_verify(state: ReasonState) -> str:
    """Back to ``answer`` once when verification asked for a new answer, else the end."""
    return "answer" if state.get("feedback") else "__end__"


__all__ = ["check_citation", "route_after_verify", "verify", "verify_citations"]
