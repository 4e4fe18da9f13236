"""``locate``: coarse search for long videos. For each sub-event seen in the frames, find the events/scenes worth
a closer look from summaries, captions, transcript lines, OCR and CLIP similarity (``search_moments``), and turn
them into a few windows inside which ``ground`` scores the frames. Short videos (or indexes without a hierarchy
above shots) are searched whole: frame-level scoring of the whole video is then cheap; text channels are always
matched line by line over the whole video."""

from __future__ import annotations

from typing import Any

from vidreason.graphs.nodes.base import StepRecorder, plan_of, traced
from vidreason.graphs.runtime import Resources
from vidreason.graphs.state import ReasonState
from vidreason.tools.index.views import hierarchy_nodes
from vidreason.tools.retrieval import planner_tools

#: videos up to this long are grounded whole (seconds)
WHOLE_VIDEO_S = 600.0
#: windows per sub-event, and the padding added around each (fraction of its length, at least PAD_MIN_S)
MAX_WINDOWS, PAD_FRACTION, PAD_MIN_S = 3, 0.25, 5.0


def _merge(windows: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    """Merge overlapping (start, end, score) windows, keeping the best score."""
    out: list[list[float]] = []
    for s, e, sc in sorted(windows):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
            out[-1][2] = max(out[-1][2], sc)
        else:
            out.append([s, e, sc])
    return [(a, b, c) for a, b, c in out]


def _parent_span(node_id: str | None, start: float, end: float, nodes: dict[str, Any]) -> tuple[float, float]:
    """The span of the scene/event holding a matched item (the item's own span when there is none)."""
    for level in ("scene", "event"):
        for n in nodes.values():
            if n.level == level and n.start <= start and end <= n.end + 1e-6 and n.end - n.start > end - start:
                return n.start, n.end
    if node_id in nodes and nodes[node_id].level in ("scene", "event"):
        return nodes[node_id].start, nodes[node_id].end
    return start, end


def _locate(state: ReasonState, ctx: Resources, rec: StepRecorder) -> dict[str, Any]:
    """Pick candidate windows per sub-event."""
    plan = plan_of(state)
    index = ctx.index
    duration = float(index.duration)
    nodes = {n.node_id: n for n in hierarchy_nodes(index)}
    has_levels = any(n.level in ("event", "scene") for n in nodes.values())
    whole = duration <= WHOLE_VIDEO_S or not has_levels
    rec.inputs = {
        "duration": round(duration, 3),
        "sub_events": [e.id for e in plan.sub_events],
        "whole_video": whole,
    }
    candidates: dict[str, list[dict[str, Any]]] = {}
    for event in plan.sub_events:
        if whole or "visual" not in event.channels:
            # text channels are matched line by line over the whole video anyway; short videos are scored whole
            candidates[event.id] = [{"start": 0.0, "end": round(duration, 3), "score": 1.0, "matches": []}]
            continue
        found = []
        for text in event.texts[:3]:
            found += rec.tool("search_moments", planner_tools.search_moments, text, k=MAX_WINDOWS)
        found.sort(key=lambda m: -m.score)
        if not found:
            windows = [(0.0, duration, 1.0)]
            rec.note(f"{event.id}: nothing matched coarsely; searching the whole video", public=False)
        else:
            raw = []
            for m in found[:MAX_WINDOWS]:
                s, e = _parent_span(m.node_id, m.start, m.end, nodes)
                pad = max(PAD_MIN_S, PAD_FRACTION * (e - s))
                raw.append((max(0.0, s - pad), min(duration, e + pad), m.score))
            windows = _merge(raw)
        candidates[event.id] = [
            {
                "start": round(s, 3),
                "end": round(e, 3),
                "score": round(sc, 4),
                "matches": [m.model_dump(mode="json", exclude_none=True) for m in found[:MAX_WINDOWS]],
            }
            for s, e, sc in windows
        ]
    return {"candidates": candidates}


locate = traced("locate", _locate)

__all__ = ["locate"]
