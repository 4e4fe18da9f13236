"""Conversion between ``Plan`` and TFVTG's LLM decomposition format.

TFVTG's format (docs/tfvtg-algorithm.md section 3)::

    {"reasoning": "...", "sub-queries": "...", "relationship": "sequentially",
     "query_json": [{"sub_query_id": 0, "descriptions": [whole-query rewrites]},
                    {"sub_query_id": 1, "descriptions": [paraphrases of sub-query 1]}, ...]}

``relationship`` is ``single-query``, ``sequentially`` or ``simultaneously``; sub-queries are listed in the
order they likely happen. A response that cannot be read is treated as single-query, as the reference does.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from vidreason.tools.core.plan import (
    CO_OCCURRENCE_KINDS,
    TEMPORAL_ORDER_KINDS,
    AnswerForm,
    Plan,
    QuestionType,
    Relation,
    SubEvent,
    Target,
)

log = logging.getLogger(__name__)

TfvtgRelationship = Literal["single-query", "sequentially", "simultaneously"]
RELATIONSHIPS: tuple[str, ...] = ("single-query", "sequentially", "simultaneously")


def tfvtg_relationship(plan: Plan) -> TfvtgRelationship:
    """``single-query`` for one sub-event, ``sequentially`` when any relation orders sub-events in time,
    ``simultaneously`` when all relations are co-occurrences."""
    if len(plan.sub_events) <= 1:
        return "single-query"
    kinds = {r.kind for r in plan.relations}
    if kinds & TEMPORAL_ORDER_KINDS:
        return "sequentially"
    if kinds and kinds <= CO_OCCURRENCE_KINDS:
        return "simultaneously"
    return "single-query"  # several sub-events without relations: no order constraint


def _dedupe(texts: list[str], n: int = 3) -> list[str]:
    return [t for t in dict.fromkeys(t.strip() for t in texts if t and t.strip())][:n]


def plan_to_tfvtg(plan: Plan) -> dict[str, Any]:
    """The plan as a TFVTG decomposition (the input of ``tools.grounding.ground_query``)."""
    events = [plan.sub_event(i) for i in plan.temporal_order()]
    relationship = tfvtg_relationship(plan) if len(events) > 1 else "single-query"
    if len(events) == 1:
        whole = _dedupe([*plan.rewrites, *events[0].texts])
    else:
        whole = _dedupe([*plan.rewrites, plan.question])
    query_json: list[dict[str, Any]] = [{"sub_query_id": 0, "descriptions": whole or [plan.question]}]
    if len(events) > 1:
        for k, e in enumerate(events, start=1):
            query_json.append({"sub_query_id": k, "descriptions": _dedupe(e.texts)})
    return {
        "reasoning": plan.reasoning or f"{plan.planner} plan",
        "sub-queries": " ".join(f"{k}. {e.description}." for k, e in enumerate(events, start=1)),
        "relationship": relationship,
        "query_json": query_json,
    }


def _read_response(response: Any) -> dict[str, Any] | None:
    if isinstance(response, str):
        try:
            response = json.loads(response)
        except json.JSONDecodeError:
            return None
    return response if isinstance(response, dict) else None


def plan_from_tfvtg(response: Any, question: str) -> Plan:
    """A grounding ``Plan`` from a TFVTG decomposition (dict or JSON string). Unreadable parts fall back to a
    single-query plan of ``question``, as TFVTG does."""
    data = _read_response(response)
    relationship = data.get("relationship") if data else None
    if relationship not in RELATIONSHIPS:
        if data is not None:
            log.info("TFVTG response has relationship %r; treated as single-query", relationship)
        relationship = "single-query"
    entries: list[tuple[int, list[str]]] = []
    for item in (data or {}).get("query_json") or []:
        try:
            sid = int(item["sub_query_id"])
            texts = [str(t) for t in item.get("descriptions") or [] if str(t).strip()]
        except (KeyError, TypeError, ValueError):
            continue
        if texts:
            entries.append((sid, texts))
    entries.sort(key=lambda x: x[0])
    whole = next((t for sid, t in entries if sid == 0), [question])
    subs = [t for sid, t in entries if sid >= 1][:8]
    if relationship == "single-query" or len(subs) < 2:
        events = [SubEvent(id="e1", description=whole[0], paraphrases=whole[1:4])]
        relations: list[Relation] = []
        relationship = "single-query"
    else:
        events = [SubEvent(id=f"e{i}", description=t[0], paraphrases=t[1:4]) for i, t in enumerate(subs, 1)]
        kind = "sequence" if relationship == "sequentially" else "simultaneous"
        relations = [Relation(kind=kind, a=f"e{i}", b=f"e{i + 1}") for i in range(1, len(events))]
    ids = [e.id for e in events]
    return Plan(
        question=question,
        question_type=QuestionType.GROUNDING,
        sub_events=events,
        relations=relations,
        target=Target(kind="union", refs=ids) if len(ids) > 1 else Target(kind="event", refs=ids),
        answer_form=AnswerForm.SPAN,
        rewrites=whole[:3],
        reasoning=str((data or {}).get("reasoning", ""))[:2000],
        planner="tfvtg",
        planner_note=f"TFVTG decomposition ({relationship})",
    )


__all__ = ["RELATIONSHIPS", "plan_from_tfvtg", "plan_to_tfvtg", "tfvtg_relationship"]
