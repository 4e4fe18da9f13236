"""``constrain``: pick one span per sub-event so the plan's relations hold (combination search over the top
candidates, ``tools.grounding.best_assignment``), then derive the target span and the ranked answer spans.

When no combination satisfies the relations: with an LLM and re-plans left, loop back to ``plan`` with the
violation as feedback; otherwise keep the best relaxed combination (fewest violations) and say so."""

from __future__ import annotations

from typing import Any

from vidreason.graphs.nodes.base import StepRecorder, plan_of, traced
from vidreason.graphs.runtime import Resources
from vidreason.graphs.state import ReasonState
from vidreason.tools.core.plan import Plan
from vidreason.tools.core.results import ScoredSpan
from vidreason.tools.grounding import Constraint, best_assignment

#: candidates per sub-event in the combination search (TFVTG keeps 3)
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


def target_span(plan: Plan, chosen: dict[str, tuple[float, float]], duration: float) -> tuple[float, float]:
    """The span the answer is about, from the plan's target and the chosen sub-event spans."""
    t = plan.target
    refs = [chosen[r] for r in t.refs if r in chosen]
    if t.kind == "video" or not refs:
        return 0.0, duration
    first = refs[0]
    if t.kind == "event" or t.kind == "during":
        return first
    if t.kind == "union":
        return min(s for s, _ in refs), max(e for _, e in refs)
    if t.kind == "between" and len(refs) == 2:
        a, b = sorted(refs)
        return (a[1], b[0]) if a[1] < b[0] else (min(a[0], b[0]), max(a[1], b[1]))
    length = max(first[1] - first[0], 1.0)
    others = sorted(s for k, (s, _) in chosen.items() if k not in t.refs and s >= first[1])
    if t.kind == "after":
        return first[1], min(duration, others[0] if others else first[1] + length)
    ends = sorted(e for k, (_, e) in chosen.items() if k not in t.refs and e <= first[0])
    return max(0.0, ends[-1] if ends else first[0] - length), first[0]  # before


def _constrain(state: ReasonState, ctx: Resources, rec: StepRecorder) -> dict[str, Any]:
    """Choose one span per sub-event under the relations; derive the target span."""
    plan = plan_of(state)
    duration = float(ctx.index.duration)
    groundings = {k: [ScoredSpan.model_validate(s) for s in v] for k, v in (state.get("groundings") or {}).items()}
    ids = [e.id for e in plan.sub_events if groundings.get(e.id)]
    constraints = plan_constraints(plan, ids)
    rec.inputs = {"sub_events": ids, "constraints": [c.describe() for c in constraints]}
    update: dict[str, Any] = {}
    chosen: dict[str, tuple[float, float]] = {}
    info: dict[str, Any] = {"satisfied": True, "violated": [], "relaxed": False, "score": 1.0}
    if ids:
        cands = [[(s.start, s.end, s.score) for s in groundings[i][:CANDIDATES]] for i in ids]
        a = best_assignment(cands, constraints)
        chosen = {i: span for i, span in zip(ids, a.spans, strict=True)}
        info = {
            "satisfied": a.satisfied,
            "violated": [c.describe() for c in a.violated],
            "relaxed": False,
            "score": round(a.score, 4),
            "method": a.method,
            "choice": {i: int(c) for i, c in zip(ids, a.choice, strict=True)},
        }
        if not a.satisfied:
            names = {f"#{k}": i for k, i in enumerate(ids)}
            violated = "; ".join(
                c.describe().replace(f"#{c.a}", names[f"#{c.a}"]).replace(f"#{c.b}", names[f"#{c.b}"])
                for c in a.violated
            )
            found = ", ".join(f"{i} at {s:.1f}-{e:.1f}s" for i, (s, e) in chosen.items())
            problem = f"ordering violated ({violated}); best spans found: {found}"
            replans = int(state.get("replans") or 0)
            if ctx.llm is not None and replans < ctx.max_replans:
                rec.note(f"{problem}; re-planning once")
                return {"assignment": {**info, "chosen": chosen}, "feedback": problem, "replans": replans + 1}
            info["relaxed"] = True
            rec.degrade(f"{problem}; no candidate combination satisfies the plan, so the best relaxed one is used")
    start, end = target_span(plan, chosen, duration)
    target = {"start": round(start, 3), "end": round(max(end, start), 3), "describe": plan.target.describe()}
    spans: list[ScoredSpan] = []
    if chosen and plan.target.kind != "video":
        spans.append(
            ScoredSpan(
                start=target["start"],
                end=target["end"],
                score=float(info["score"]),
                source="target",
                sub_event="+".join(plan.target.refs) or None,
            )
        )
    picks = [groundings[i][int(info["choice"][i])] for i in ids] if ids else []
    for s in [*picks, *(s for i in ids for s in groundings[i])]:  # chosen spans first, then the others
        if all(abs(s.start - o.start) > 1e-3 or abs(s.end - o.end) > 1e-3 or s.sub_event != o.sub_event for o in spans):
            spans.append(s)
    update.update(
        {
            "assignment": {**info, "chosen": {k: [round(s, 3), round(e, 3)] for k, (s, e) in chosen.items()}},
            "target": target,
            "spans": [s.model_dump(mode="json") for s in spans],
            "feedback": "",
        }
    )
    return update


constrain = traced("constrain", _constrain)


def route_after_constrain(state: ReasonState) -> str:
    """Back to ``plan`` when a re-plan was requested, else on to ``inspect``."""
    return "plan" if state.get("feedback") else "inspect"


__all__ = ["constrain", "plan_constraints", "route_after_constrain", "target_span"]
