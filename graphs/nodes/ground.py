"""``ground``: find every occurrence of each sub-event on the channels that can observe it
(``tools.retrieval.events.find_event``: matching transcript lines, on-screen text and captions with absolute
scores; TFVTG over the frames when the visual channel has real weights), and say when a sub-event was not found
and why."""

from __future__ import annotations

from typing import Any

from vidreason.graphs.nodes.base import StepRecorder, plan_of, traced
from vidreason.graphs.runtime import Resources
from vidreason.graphs.state import ReasonState
from vidreason.tools.core.results import ScoredSpan
from vidreason.tools.retrieval.events import EventSearch, find_event

#: spans kept per sub-event for the trace and the answer's ranked spans
KEEP = 8


def _ground(state: ReasonState, ctx: Resources, rec: StepRecorder) -> dict[str, Any]:
    """Occurrences per sub-event."""
    plan = plan_of(state)
    rec.inputs = {"sub_events": {e.id: {"text": e.description, "channels": list(e.channels)} for e in plan.sub_events}}
    searches: dict[str, dict[str, Any]] = {}
    groundings: dict[str, list[dict[str, Any]]] = {}
    duration = float(ctx.index.duration)
    candidates = state.get("candidates") or {}
    for event in plan.sub_events:
        windows = [(w["start"], w["end"]) for w in candidates.get(event.id) or []]
        whole = not windows or (windows[0][0] <= 0 and windows[0][1] >= duration - 1e-6 and len(windows) == 1)
        search: EventSearch = rec.tool("find_event", find_event, event, windows=None if whole else windows)
        for note in search.notes:
            rec.note(note, public=False)
        if not search.found:
            where = ", ".join(search.searched) or "no channel"
            rec.note(f"{event.id} ({event.description!r}) not found (searched: {where})")
            for why in search.skipped:
                rec.degrade(why)
        searches[event.id] = search.model_dump(mode="json")
        groundings[event.id] = [
            ScoredSpan(start=o.start, end=o.end, score=o.score, sub_event=event.id, source=o.channel).model_dump(
                mode="json"
            )
            for o in search.ranked()[:KEEP]
        ]
    return {"searches": searches, "groundings": groundings}


ground = traced("ground", _ground)

__all__ = ["ground"]
