"""``ground``: TFVTG grounding of every sub-event inside its candidate windows (``tools.planner_tools.ground``
over the channels the sub-event names), giving ranked spans per sub-event."""

from __future__ import annotations

from typing import Any

from vidreason.graphs.nodes.base import StepRecorder, plan_of, traced
from vidreason.graphs.runtime import Resources
from vidreason.graphs.state import ReasonState
from vidreason.tools.core.plan import SubEvent
from vidreason.tools.core.results import ScoredSpan
from vidreason.tools.retrieval import planner_tools

#: spans kept per sub-event (the ordering search uses the first CANDIDATES of them)
KEEP = 6
#: spans scoring at least this fraction of the best count as real occurrences (first/last/all)
OCCURRENCE_FRACTION = 0.5


def order_occurrences(spans: list[ScoredSpan], event: SubEvent) -> list[ScoredSpan]:
    """Honour ``first``/``last``/``nth``: among the strong spans, put the wanted occurrence first."""
    if not spans or (event.occurrence in ("any", "all") and event.nth is None):
        return spans
    best = max(s.score for s in spans)
    strong = sorted((s for s in spans if s.score >= OCCURRENCE_FRACTION * best), key=lambda s: s.start)
    if event.nth is not None and event.nth <= len(strong):
        pick = strong[event.nth - 1]
    elif event.occurrence == "last":
        pick = strong[-1]
    else:
        pick = strong[0]
    return [pick, *[s for s in spans if s is not pick]]


def _ground(state: ReasonState, ctx: Resources, rec: StepRecorder) -> dict[str, Any]:
    """Ranked spans per sub-event."""
    plan = plan_of(state)
    duration = float(ctx.index.duration)
    candidates = state.get("candidates") or {}
    rec.inputs = {"windows": {k: [(w["start"], w["end"]) for w in v] for k, v in candidates.items()}}
    groundings: dict[str, list[dict[str, Any]]] = {}
    for event in plan.sub_events:
        spans: list[ScoredSpan] = []
        for w in candidates.get(event.id) or [{"start": 0.0, "end": duration}]:
            whole = w["start"] <= 0 and w["end"] >= duration - 1e-6
            g = rec.tool("ground", planner_tools.ground, event, within=None if whole else (w["start"], w["end"]))
            for why in g.degraded:
                rec.degrade(why)
            spans += [s.model_copy(update={"sub_event": event.id}) for s in g.spans]
        spans.sort(key=lambda s: (-s.score, s.start))
        unique: list[ScoredSpan] = []
        for s in spans:
            if all(abs(s.start - u.start) > 1e-3 or abs(s.end - u.end) > 1e-3 for u in unique):
                unique.append(s)
        unique = order_occurrences(unique[: KEEP * 2], event)[:KEEP]
        if not unique:
            rec.degrade(f"{event.id} ({event.description!r}) could not be grounded: no channel has data")
        groundings[event.id] = [s.model_dump(mode="json") for s in unique]
    return {"groundings": groundings}


ground = traced("ground", _ground)

__all__ = ["ground", "order_occurrences"]
