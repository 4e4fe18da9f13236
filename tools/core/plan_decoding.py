"""The JSON schema a plan is decoded under when the LLM server constrains decoding to a schema.

``PlanDraft``'s own schema cannot say that relations and the target name sub-events that exist, that a target
kind takes a given number of them, or that a relation joins two different ones; a small model decoding under that
schema writes plans that parse but fail those checks (and fills every list to its bound). This schema spells the
rules out as alternatives, one per number of sub-events (ids ``e1..eN`` fixed in order, refs drawn from them,
relations over ordered pairs of distinct ids, the target's refs counted by its kind), and bounds lists and strings
so that a reply fits in a few hundred tokens. Every reply it admits validates as a ``PlanDraft``. The enums come
from ``PlanDraft``'s own JSON schema (``PlanDraft.decoding_json_schema()`` passes it in).
"""

from __future__ import annotations

from itertools import permutations
from typing import Any

#: sub-events a decoded plan may have (the offline parser's limit is 4; a plan of a small model rarely needs 3)
MAX_SUB_EVENTS = 3
MAX_CHARS = 160
MAX_PARAPHRASES = 2
MAX_REWRITES = 2
ONE_REF_KINDS = ("event", "after", "before", "during")
NO_REF_KINDS = ("video", "start", "end")


def _text(max_chars: int = MAX_CHARS) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_chars}


def _strings(max_items: int) -> dict[str, Any]:
    return {"type": "array", "items": _text(), "maxItems": max_items}


def _enum_list(values: tuple[str, ...], *, min_items: int = 0) -> dict[str, Any]:
    return {"type": "array", "items": {"enum": list(values)}, "minItems": min_items, "maxItems": len(values)}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


class _Enums:
    """The enum values of ``PlanDraft``'s JSON schema."""

    def __init__(self, schema: dict[str, Any]) -> None:
        defs = schema["$defs"]
        sub, target, relation = defs["SubEvent"]["properties"], defs["Target"]["properties"], defs["Relation"]
        self.question_types = tuple(defs["QuestionType"]["enum"])
        self.answer_forms = tuple(defs["AnswerForm"]["enum"])
        self.channels = tuple(sub["channels"]["items"]["enum"])
        self.occurrences = tuple(sub["occurrence"]["enum"])
        self.relation_kinds = tuple(relation["properties"]["kind"]["enum"])
        self.read = tuple(target["read"]["items"]["enum"])


def _sub_event(e: _Enums, event_id: str) -> dict[str, Any]:
    props = {
        "id": {"const": event_id},
        "description": _text(),
        "paraphrases": _strings(MAX_PARAPHRASES),
        "channels": _enum_list(e.channels, min_items=1),
        "occurrence": {"enum": list(e.occurrences)},
        "nth": {"type": "integer", "minimum": 1, "maximum": 20},
    }
    return _object(props, required=["id", "description", "channels", "occurrence"])


def _refs(ids: list[str], count: int | tuple[int, int]) -> dict[str, Any]:
    low, high = (count, count) if isinstance(count, int) else count
    return {"type": "array", "items": {"enum": ids}, "minItems": low, "maxItems": high}


def _target(e: _Enums, kinds: tuple[str, ...], refs: dict[str, Any]) -> dict[str, Any]:
    props = {
        "kind": {"enum": list(kinds)},
        "refs": refs,
        "read": _enum_list(e.read),
        "adjacent": {"type": "boolean"},
    }
    return _object(props, required=["kind", "refs", "read"])


def _targets(e: _Enums, ids: list[str]) -> dict[str, Any]:
    options = [_target(e, NO_REF_KINDS, {"type": "array", "maxItems": 0})]
    if ids:
        options.append(_target(e, ONE_REF_KINDS, _refs(ids, 1)))
        options.append(_target(e, ("union",), _refs(ids, (1, len(ids)))))
    if len(ids) >= 2:
        options.append(_target(e, ("between",), _refs(ids, 2)))
    return {"anyOf": options}


def _relations(e: _Enums, ids: list[str]) -> dict[str, Any]:
    if len(ids) < 2:
        return {"type": "array", "maxItems": 0}
    pairs = [
        _object({"kind": {"enum": list(e.relation_kinds)}, "a": {"const": a}, "b": {"const": b}})
        for a, b in permutations(ids, 2)
    ]
    return {"type": "array", "items": {"anyOf": pairs}, "maxItems": len(ids) * (len(ids) - 1) // 2}


def _plan_with(e: _Enums, n: int) -> dict[str, Any]:
    ids = [f"e{i}" for i in range(1, n + 1)]
    events: dict[str, Any] = (
        {"type": "array", "prefixItems": [_sub_event(e, i) for i in ids], "minItems": n, "maxItems": n}
        if n
        else {"type": "array", "maxItems": 0}
    )
    props = {
        "question_type": {"enum": list(e.question_types)},
        "sub_events": events,
        "relations": _relations(e, ids),
        "target": _targets(e, ids),
        "answer_form": {"enum": list(e.answer_forms)},
        "rewrites": _strings(MAX_REWRITES),
    }
    return _object(props, required=["question_type", "sub_events", "relations", "target", "answer_form"])


def plan_decoding_schema(draft_schema: dict[str, Any], max_sub_events: int = MAX_SUB_EVENTS) -> dict[str, Any]:
    """One alternative per number of sub-events, 0 to ``max_sub_events``; enums from ``draft_schema``
    (``PlanDraft.model_json_schema()``)."""
    enums = _Enums(draft_schema)
    return {"title": "PlanDraft", "anyOf": [_plan_with(enums, n) for n in range(max_sub_events + 1)]}


__all__ = ["MAX_SUB_EVENTS", "plan_decoding_schema"]
