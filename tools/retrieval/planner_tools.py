"""The typed tools the planner calls, usable outside the graph too. All of them only read the index.

    moments = search_moments(index, "the speaker mentions the telescope")     # coarse candidate spans
    g = ground(index, sub_event)                                              # TFVTG spans of one sub-event
    lines = transcript(index, Span(start=10, end=20))                         # what is said in a span
    caps, texts = captions(index, span), ocr(index, span)                     # captions / on-screen text
    info, kids = summary(index, "event:0001"), zoom(index, "event:0001")       # the hierarchy
    refs = frames(index, span, n=4)                                           # keyframes to cite

Artefacts that were skipped or degraded at indexing time give empty results (the caller records the degraded
channel from ``index.degraded``); nothing here writes to the index.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.media import Span
from vidreason.tools.core.plan import SubEvent
from vidreason.tools.core.results import Grounding
from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.index.views import NodeInfo, TextItem, hierarchy_nodes, node_children, text_items
from vidreason.tools.retrieval.grounder import get_grounder, text_matcher

log = logging.getLogger(__name__)

TextChannel = Literal["speech", "ocr", "caption", "summary"]


class Moment(BaseModel):
    """A coarse candidate span found by :func:`search_moments`."""

    start: float = Field(ge=0)
    end: float = Field(ge=0)
    score: float
    source: str = Field(description="channel or hierarchy level that matched (speech, caption, summary, ...)")
    node_id: str | None = None
    text: str | None = None


class FrameRef(BaseModel):
    """A frame of the index's frame table, citable as evidence."""

    frame_index: int = Field(ge=0)
    time: float = Field(ge=0)
    node_id: str | None = None
    thumbnail: str | None = Field(None, description="path of the JPEG thumbnail, when one exists")


def _check_span(index: VideoIndex, span: Span | tuple[float, float] | None) -> Span:
    if span is None:
        return Span(start=0.0, end=max(index.duration, 0.0))
    if isinstance(span, tuple):
        if len(span) != 2 or span[1] < span[0]:
            raise ConfigError(f"span must be (start, end) seconds with start <= end; got {span!r}")
        span = Span(start=max(0.0, float(span[0])), end=float(span[1]))
    return span


def _in_span(items: list[TextItem], span: Span) -> list[TextItem]:
    return [
        it
        for it in items
        if min(it.end, span.end) > max(it.start, span.start) or (it.start == it.end and span.contains(it.start))
    ]


def transcript(index: VideoIndex, span: Span | tuple[float, float] | None = None) -> list[TextItem]:
    """Transcript segments overlapping ``span`` (the whole video when None), in time order."""
    return _in_span(text_items(index, "speech"), _check_span(index, span))


def captions(index: VideoIndex, span: Span | tuple[float, float] | None = None) -> list[TextItem]:
    """Shot captions overlapping ``span`` (empty when captioning was skipped)."""
    return _in_span(text_items(index, "caption"), _check_span(index, span))


def ocr(index: VideoIndex, span: Span | tuple[float, float] | None = None) -> list[TextItem]:
    """On-screen text seen during ``span`` (empty when OCR was off)."""
    return _in_span(text_items(index, "ocr"), _check_span(index, span))


def summary(index: VideoIndex, node_id: str = "video") -> NodeInfo:
    """The hierarchy node ``node_id`` with its span, summary/caption text and children ids."""
    for node in hierarchy_nodes(index):
        if node.node_id == node_id:
            return node
    known = [n.node_id for n in hierarchy_nodes(index)][:12]
    raise ConfigError(f"no hierarchy node {node_id!r} in this index; known ids start with {known}")


def zoom(index: VideoIndex, node_id: str = "video") -> list[NodeInfo]:
    """The children of ``node_id`` (video -> events -> scenes -> shots), in time order."""
    summary(index, node_id)  # validates the id
    return node_children(index, node_id)


def node_at(index: VideoIndex, t: float, level: str = "shot") -> str | None:
    """Id of the ``level`` node (shot by default) containing time ``t``, if the index has one."""
    best: str | None = None
    for node in hierarchy_nodes(index):
        if node.level == level and node.start <= t <= node.end:
            best = node.node_id
            if t < node.end:
                break
    return best


def frames(index: VideoIndex, span: Span | tuple[float, float] | None = None, n: int = 4) -> list[FrameRef]:
    """``n`` table frames spread evenly over ``span`` (at least the frame nearest its middle)."""
    if n < 1:
        raise ConfigError(f"n must be >= 1; got {n}")
    sp = _check_span(index, span)
    times = index.frame_times
    inside = np.flatnonzero((times >= sp.start) & (times <= sp.end))
    if inside.size == 0:
        picks = [index.frame_at((sp.start + sp.end) / 2)]
    elif inside.size <= n:
        picks = [int(i) for i in inside]
    else:
        pos = np.linspace(0, inside.size - 1, n + 2)[1:-1] if n > 1 else np.array([(inside.size - 1) / 2])
        picks = sorted({int(inside[round(p)]) for p in pos})
    out = []
    for i in picks:
        thumb = index.thumbnail(i)
        out.append(
            FrameRef(
                frame_index=i,
                time=float(times[i]),
                node_id=node_at(index, float(times[i])),
                thumbnail=str(thumb) if thumb else None,
            )
        )
    return out


def search_moments(
    index: VideoIndex,
    text: str,
    *,
    k: int = 5,
    channels: tuple[str, ...] = ("speech", "caption", "ocr", "summary", "visual"),
    min_score: float = 0.0,
) -> list[Moment]:
    """Coarse search: the ``k`` best spans for ``text`` among transcript lines, captions, OCR, node summaries
    (text matching) and hierarchy nodes (mean CLIP similarity of their frames), best first."""
    if not text.strip():
        raise ConfigError("search_moments needs a non-empty text")
    found: list[Moment] = []
    matcher = None
    for ch in ("speech", "caption", "ocr", "summary"):
        if ch not in channels:
            continue
        items = text_items(index, ch)
        if not items:
            continue
        matcher = matcher or text_matcher(index)
        scores = matcher.score(text, [it.text for it in items])
        found += [
            Moment(start=it.start, end=it.end, score=float(s), source=ch, node_id=it.node_id, text=it.text)
            for it, s in zip(items, scores, strict=True)
            if s > min_score
        ]
    if "visual" in channels:
        curve = get_grounder(index).channel_curve("visual", text)
        if curve is not None:
            times = index.frame_times
            for node in hierarchy_nodes(index):
                if node.level in ("video", "shot"):
                    continue
                sel = (times >= node.start) & (times <= node.end)
                if sel.any():
                    found.append(
                        Moment(
                            start=node.start,
                            end=node.end,
                            score=float(curve[sel].mean()),
                            source=f"visual:{node.level}",
                            node_id=node.node_id,
                        )
                    )
    found.sort(key=lambda m: (-m.score, m.start))
    return found[:k]


def ground(
    index: VideoIndex,
    sub_event: SubEvent | str,
    *,
    within: Span | tuple[float, float] | None = None,
    decomposition: dict[str, Any] | None = None,
) -> Grounding:
    """TFVTG grounding of one sub-event (its description and paraphrases) over the channels it names,
    optionally only ``within`` a span. Spans are ranked best first."""
    if isinstance(sub_event, str):
        query, paraphrases, chans = sub_event, [], None
    else:
        query, paraphrases, chans = sub_event.description, sub_event.paraphrases, list(sub_event.channels)
    if decomposition is None and paraphrases:
        decomposition = {
            "relationship": "single-query",
            "query_json": [{"sub_query_id": 0, "descriptions": paraphrases}],
        }
    window = None if within is None else _check_span(index, within)
    return get_grounder(index).ground(
        query, decomposition, channels=chans, window=None if window is None else (window.start, window.end)
    )


__all__ = [
    "FrameRef",
    "Moment",
    "NodeInfo",
    "TextItem",
    "captions",
    "frames",
    "ground",
    "node_at",
    "ocr",
    "search_moments",
    "summary",
    "transcript",
    "zoom",
]
