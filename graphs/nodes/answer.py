"""``answer``: the answer text with citations. With an LLM: the answer prompt, the evidence passed as quoted
data (never as instructions), citations by evidence id; without one (or when the LLM fails): a template
answer."""

from __future__ import annotations

from typing import Any

from vidreason.graphs.drafts import AnswerDraft, AnswerVars
from vidreason.graphs.nodes.base import StepRecorder, plan_of, traced
from vidreason.graphs.nodes.evidence import Evidence
from vidreason.graphs.nodes.templates import cite, template_answer
from vidreason.graphs.runtime import Resources
from vidreason.graphs.state import ReasonState
from vidreason.tools.core.errors import LLMError
from vidreason.tools.core.prompting import quote_data, render_prompt
from vidreason.tools.llm.decoding import decoding_schema

_PLAN_KEYS = ("question_type", "sub_events", "relations", "target", "answer_form")


def evidence_of(state: ReasonState) -> list[Evidence]:
    return [Evidence.model_validate(e) for e in state.get("evidence") or []]


def offline_answer(state: ReasonState) -> dict[str, Any]:
    """The template answer for the current state."""
    return template_answer(
        plan_of(state),
        evidence_of(state),
        state.get("target") or {},
        state.get("assignment") or {},
        state.get("searches") or {},
    )


def findings(state: ReasonState) -> dict[str, Any]:
    """What the search found, for the answer prompt: each sub-event's chosen moment or "not found" (with the
    channels searched), and the target span."""
    plan = plan_of(state)
    assignment = state.get("assignment") or {}
    chosen = assignment.get("chosen") or {}
    searches = state.get("searches") or {}
    events = {}
    for e in plan.sub_events:
        if e.id in chosen:
            events[e.id] = {"found_at": chosen[e.id]}
        else:
            events[e.id] = {"not_found": True, "searched": (searches.get(e.id) or {}).get("searched", [])}
    target = state.get("target") or {}
    out: dict[str, Any] = {"sub_events": events, "target_span": [target.get("start"), target.get("end")]}
    if plan.question_type.value == "order" and "holds" in assignment:
        out["order"] = {"first": assignment.get("first"), "asked_relation_holds": assignment.get("holds")}
    return out


def evidence_prompt_items(evidence: list[Evidence]) -> list[dict[str, Any]]:
    """What the LLM sees of each item (text from the video stays inside the quoted data block)."""
    return [
        {
            "id": e.id,
            "role": e.role,
            "channel": e.channel,
            **({"span": [round(e.start, 2), round(e.end, 2)]} if e.end > e.start else {"time": round(e.time, 2)}),
            "content": e.text if e.text else f"video frame {e.frame_index}",
            **({"speaker": e.speaker} if e.speaker else {}),
        }
        for e in evidence
    ]


def llm_answer(state: ReasonState, ctx: Resources, rec: StepRecorder) -> dict[str, Any]:
    """Ask the LLM; citations are evidence ids mapped back to frames (unknown ids go to ``rejected``)."""
    assert ctx.llm is not None
    plan = plan_of(state)
    evidence = evidence_of(state)
    by_id = {e.id: e for e in evidence}
    messages = render_prompt(
        "answer",
        AnswerVars,
        question=plan.question,
        plan=plan.model_dump(mode="json", include=set(_PLAN_KEYS)),
        answer_form=plan.answer_form.value,
        findings=findings(state),
        evidence=evidence_prompt_items(evidence),
    )
    feedback = state.get("feedback")
    if feedback:
        messages.append(
            {
                "role": "user",
                "content": "Your previous answer could not be verified. Answer again, "
                "citing only evidence ids that support each claim.\n"
                + quote_data({"problem": feedback}, "verification feedback"),
            }
        )
    ids = {"evidence_id": list(by_id)}  # a local server decodes only evidence ids that exist
    draft, _ = ctx.llm.complete_structured(
        messages, AnswerDraft, purpose="answer", decoding_schema=decoding_schema(AnswerDraft, ids=ids)
    )
    citations, rejected = [], []
    for c in draft.citations:
        ev = by_id.get(c.evidence_id)
        if ev is None:
            rejected.append(
                {
                    "evidence_id": c.evidence_id,
                    "why": c.why,
                    "reason": f"unknown evidence id {c.evidence_id!r} (known: ev1..ev{len(evidence)})",
                }
            )
            continue
        citations.append(cite(ev, c.why or f"{ev.channel} evidence").model_dump(mode="json"))
    return {
        "answer": {
            "text": draft.text,
            "citations": citations,
            "confidence": draft.confidence,
            "source": "llm",
        },
        "rejected": rejected,
    }


def _answer(state: ReasonState, ctx: Resources, rec: StepRecorder) -> dict[str, Any]:
    """Write the answer (LLM or template)."""
    attempts = int(state.get("answer_attempts") or 0) + 1
    rec.inputs = {
        "evidence": len(state.get("evidence") or []),
        "attempt": attempts,
        "feedback": state.get("feedback") or None,
        "llm": ctx.llm.model if ctx.llm else None,
    }
    if ctx.llm is not None:
        try:
            update = llm_answer(state, ctx, rec)
            update.update({"answer_attempts": attempts, "feedback": ""})
            return update
        except LLMError as e:
            rec.degrade(f"answer: LLM failed ({type(e).__name__}: {e}); template answer used")
    return {"answer": offline_answer(state), "rejected": [], "answer_attempts": attempts, "feedback": ""}


answer = traced("answer", _answer)

__all__ = ["answer", "evidence_of", "evidence_prompt_items", "offline_answer"]
