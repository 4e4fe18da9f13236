"""``constrain``: pick one moment per sub-event so the plan's relations hold (combination search over the top
occurrences, ``tools.grounding.best_assignment``), honouring "the first / last / n-th time"; for order
questions, compare the sub-events' first occurrences instead of imposing the order; then resolve the target
span and what is read there (``tools.retrieval.targets``).

When no combination satisfies the relations: with an LLM and re-plans left, loop back to ``plan`` with the
violation as feedback; otherwise keep the best relaxed combination (fewest violations) and say so."""

from __future__ import annotations

from typing import Any

from vidreason.graphs.nodes.base import StepRecorder, plan_of, traced
from vidreason.graphs.runtime import Resources
from vidreason.graphs.state import ReasonState
from vidreason.tools.core.plan import Plan, QuestionType
from vidreason.tools.core.results import ScoredSpan
from vidreason.tools.grounding import Constraint, best_assignment
from vidreason.tools.retrieval.events import EventSearch
from vidreason.tools.retrieval.occurrences import Occurrence
from vidreason.tools.retrieval.targets import Moment, resolve_target

#: occurrences per sub-event in the combination search (TFVTG keeps 3)
CANDIDATES = 3
_KIND = {
    "sequence": "before",
    "before": "before",
    "after": "after",
    "during": "during",
    "overlaps": "overlaps",
    "simultaneous": "simultaneous",
}


def plan_constraints(plan: Plan, ids: list[str]) -> list[Constraint]:
    """The plan's relations as constraints over positions in ``ids``."""
    pos = {e: i for i, e in enumerate(ids)}
    return [Constraint(kind=_KIND[r.kind], a=pos[r.a], b=pos[r.b]) for r in plan.relations if r.a in pos and r.b in pos]


def searches_of(state: ReasonState) -> dict[str, EventSearch]:
    return {k: EventSearch.model_validate(v) for k, v in (state.get("searches") or {}).items()}


def _candidates(plan: Plan, searches: dict[str, EventSearch], ids: list[str]) -> list[list[Occurrence]]:
    """Per sub-event: the occurrence its wording names (first/last/n-th), else its best few."""
    out = []
    for i in ids:
        event, search = plan.sub_event(i), searches[i]
        if event.nth is not None or event.occurrence in ("first", "last"):
            picked = search.pick(event.occurrence, event.nth)
            out.append([picked] if picked is not None else [])
        else:
            out.append(search.ranked()[:CANDIDATES])
    return out


def _order(plan: Plan, searches: dict[str, EventSearch], ids: list[str]) -> dict[str, Any]:
    """Order questions: each sub-event's first occurrence, and whether the asked relation holds."""
    firsts = {i: searches[i].pick("first", None) for i in ids}
    chosen = {i: o for i, o in firsts.items() if o is not None}
    info: dict[str, Any] = {"satisfied": True, "violated": [], "relaxed": False, "method": "order"}
    if len(chosen) == 2:
        (a, oa), (_, ob) = sorted(chosen.items(), key=lambda kv: (kv[1].start, kv[0]))
        info["first"] = a
        holds = []
        for r in plan.relations:
            x, y = chosen[r.a], chosen[r.b]
            holds.append(x.end <= y.start + 0.05 if r.kind in ("before", "sequence") else y.end <= x.start + 0.05)
        info["holds"] = all(holds) if holds else None
        info["overlap"] = oa.end > ob.start
    info["score"] = round(min((o.score for o in chosen.values()), default=0.0), 4)
    return {"info": info, "chosen": chosen}


def _constrain(state: ReasonState, ctx: Resources, rec: StepRecorder) -> dict[str, Any]:
    """Choose one moment per sub-event under the relations; resolve the target span."""
    plan = plan_of(state)
    searches = searches_of(state)
    found = [e.id for e in plan.sub_events if e.id in searches and searches[e.id].found]
    missing = [e.id for e in plan.sub_events if e.id not in found]
    constraints = [] if plan.question_type is QuestionType.ORDER else plan_constraints(plan, found)
    rec.inputs = {"found": found, "missing": missing, "constraints": [c.describe() for c in constraints]}
    chosen: dict[str, Occurrence] = {}
    info: dict[str, Any] = {"satisfied": True, "violated": [], "relaxed": False, "score": 1.0}
    if plan.question_type is QuestionType.ORDER:
        ordered = _order(plan, searches, found)
        chosen, info = ordered["chosen"], ordered["info"]
    elif found and any(cands := _candidates(plan, searches, found)):
        usable = [i for i, c in zip(found, cands, strict=True) if c]  # a pick (e.g. "third") may leave none
        cands = [c for c in cands if c]
        constraints = plan_constraints(plan, usable)
        a = best_assignment([[(o.start, o.end, o.score) for o in c] for c in cands], constraints)
        chosen = {i: c[k] for i, c, k in zip(usable, cands, a.choice, strict=True)}
        info = {
            "satisfied": a.satisfied,
            "violated": [c.describe() for c in a.violated],
            "relaxed": False,
            "score": round(min(o.score for o in chosen.values()), 4) if chosen else 0.0,
            "method": a.method,
        }
        if not a.satisfied:
            names = dict(enumerate(usable))
            violated = "; ".join(f"{names[c.a]} {c.kind} {names[c.b]}" for c in a.violated)
            where = ", ".join(f"{i} at {o.start:.1f}-{o.end:.1f}s" for i, o in chosen.items())
            problem = f"ordering violated ({violated}); best moments found: {where}"
            replans = int(state.get("replans") or 0)
            if ctx.llm is not None and replans < ctx.max_replans:
                rec.note(f"{problem}; re-planning once")
                return {"assignment": info, "feedback": problem, "replans": replans + 1}
            info["relaxed"] = True
            rec.degrade(f"{problem}; no combination satisfies the question's order, so the closest one is used")
    moments = {i: Moment(start=o.start, end=o.end, item_ids=o.item_ids) for i, o in chosen.items()}
    target = rec.tool("resolve_target", lambda index: resolve_target(index, plan, moments))
    for note in target.notes:
        rec.note(note)
    spans: list[ScoredSpan] = []
    if (chosen or not plan.sub_events) and plan.target.kind != "video":
        spans.append(
            ScoredSpan(
                start=target.start,
                end=max(target.end, target.start),
                score=float(info["score"]),
                source="target",
                sub_event="+".join(plan.target.refs) or None,
            )
        )
    for i, o in chosen.items():
        spans.append(ScoredSpan(start=o.start, end=o.end, score=o.score, sub_event=i, source=o.channel))
    return {
        "assignment": {
            **info,
            "missing": missing,
            "chosen": {i: [round(o.start, 3), round(o.end, 3)] for i, o in chosen.items()},
            "occurrences": {i: o.model_dump(mode="json") for i, o in chosen.items()},
        },
        "target": {"found": bool(chosen) or not plan.sub_events, **target.model_dump(mode="json")},
        "spans": [s.model_dump(mode="json") for s in spans],
        "feedback": "",
    }


constrain = traced("constrain", _constrain)


def route_after_constrain(state: ReasonState) -> str:
    """Back to ``plan`` when a re-plan was requested, else on to ``inspect``."""
    return "plan" if state.get("feedback") else "inspect"


__all__ = ["constrain", "plan_constraints", "route_after_constrain", "searches_of"]
