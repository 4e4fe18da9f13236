"""Read-only views of an index's artefacts in the two shapes the planner tools use: time-stamped text items
(transcript lines, captions, OCR, summaries) and hierarchy nodes (video -> event -> scene -> shot).

Views are computed once per ``VideoIndex`` object and kept in its ``memo``. Missing or skipped stages
give empty views; a shots-only index still gets a ``video`` node with one child per shot.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from vidreason.tools.index.video_index import VideoIndex

log = logging.getLogger(__name__)

ItemChannel = Literal["speech", "ocr", "caption", "summary"]
_LEVELS = ("video", "event", "scene", "shot")


class TextItem(BaseModel):
    """A piece of text from the video with the time it covers (seconds)."""

    id: str = Field(description="stable id, e.g. speech:3, caption:shot:0004, ocr:12, summary:event:0001")
    channel: ItemChannel
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: str
    node_id: str | None = None
    frame_index: int | None = Field(None, description="the frame it was read from (OCR) or a keyframe")
    speaker: str | None = Field(None, description="who says it (speech lines of a diarized transcript)")


class NodeInfo(BaseModel):
    """A node of the hierarchy as the tools show it."""

    node_id: str
    level: str
    start: float
    end: float
    summary: str | None = None
    caption: str | None = None
    children: list[str] = Field(default_factory=list)


def _cache(index: VideoIndex) -> dict[str, Any]:
    memo = getattr(index, "memo", None)
    if memo is None:  # a test double without a memo: no caching
        return {}
    views: dict[str, Any] = memo.setdefault("views", {})
    return views


def _attr(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if not isinstance(obj, dict) and hasattr(obj, name):
            return getattr(obj, name)
    return default


def artefact(index: VideoIndex, stage: str) -> Any:
    """``index.get(stage)``, or None when that stage is not registered in this build."""
    from vidreason.tools.index.stages import registered

    if not registered(stage):
        return None
    return index.get(stage)


def _graph(index: VideoIndex) -> Any:
    """The most annotated hierarchy the index has: with captions and summaries when they were built."""
    summarised = artefact(index, "summaries")
    return summarised if summarised is not None else artefact(index, "graph")


def hierarchy_nodes(index: VideoIndex) -> list[NodeInfo]:
    """Every node, parents before children, each level in time order (a ``tools.hierarchy.VideoGraph`` when
    the index has one, else the video and its shots)."""
    cache = _cache(index)
    if "nodes" in cache:
        return cache["nodes"]
    graph = _graph(index)
    out: list[NodeInfo] = []
    if graph is not None and hasattr(graph, "iter_nodes"):
        for n in graph.iter_nodes():
            out.append(
                NodeInfo(
                    node_id=n.id,
                    level=n.level,
                    start=float(n.start),
                    end=float(n.end),
                    summary=n.summary,
                    caption=n.caption,
                    children=list(graph.children(n.id)),
                )
            )
    if not out:
        out = _nodes_from_shots(index)
    rank = {lv: i for i, lv in enumerate(_LEVELS)}
    out.sort(key=lambda n: (rank.get(n.level, len(rank)), n.start, n.node_id))
    cache["nodes"] = out
    return out


def _nodes_from_shots(index: VideoIndex) -> list[NodeInfo]:
    shots = artefact(index, "shots")
    duration = float(index.duration)
    root = NodeInfo(node_id="video", level="video", start=0.0, end=duration)
    out = [root]
    for shot in _attr(shots, "shots", default=[]) or []:
        i = int(_attr(shot, "index"))
        node = NodeInfo(
            node_id=f"shot:{i:04d}",
            level="shot",
            start=float(_attr(shot, "start")),
            end=float(_attr(shot, "end")),
        )
        root.children.append(node.node_id)
        out.append(node)
    return out


def node_children(index: VideoIndex, node_id: str) -> list[NodeInfo]:
    nodes = {n.node_id: n for n in hierarchy_nodes(index)}
    parent = nodes.get(node_id)
    if parent is None:
        return []
    return sorted((nodes[c] for c in parent.children if c in nodes), key=lambda n: n.start)


def _shot_of(index: VideoIndex, t: float) -> str | None:
    for n in hierarchy_nodes(index):
        if n.level == "shot" and n.start <= t <= n.end:
            return n.node_id
    return None


def text_items(index: VideoIndex, channel: ItemChannel) -> list[TextItem]:
    """All text of one channel, in time order (empty when that stage was skipped or found nothing)."""
    cache = _cache(index)
    key = f"items:{channel}"
    if key not in cache:
        builders = {"speech": _speech, "caption": _captions, "ocr": _ocr, "summary": _summaries}
        items = [it for it in builders[channel](index) if it.text.strip()]
        items.sort(key=lambda it: (it.start, it.end, it.id))
        cache[key] = items
    return cache[key]


#: a transcript line longer than this is split into phrases (at , ; : . ? ! and at pauses between word times)
PHRASE_SPLIT_S = 3.0
#: a pause between two words at least this long ends a phrase
PHRASE_PAUSE_S = 0.3
#: a phrase has at least this many words (a shorter one joins the phrase before it, or the next when first)
PHRASE_MIN_WORDS = 2
_PHRASE_END = (",", ";", ":", ".", "!", "?", "。", "！", "？", "，", "；", "…")


def phrases(words: Sequence[Any]) -> list[list[Any]]:
    """Runs of ``words`` (objects with ``text``, ``start``, ``end``) that end at clause punctuation or at a
    pause of ``PHRASE_PAUSE_S``, each of at least ``PHRASE_MIN_WORDS`` words."""
    runs: list[list[Any]] = [[]]
    for k, w in enumerate(words):
        runs[-1].append(w)
        pause = k + 1 < len(words) and float(words[k + 1].start) - float(w.end) >= PHRASE_PAUSE_S
        if pause or str(w.text).strip().endswith(_PHRASE_END):
            runs.append([])
    merged: list[list[Any]] = []
    for r in (r for r in runs if r):
        if merged and (len(r) < PHRASE_MIN_WORDS or len(merged[-1]) < PHRASE_MIN_WORDS):
            merged[-1] = merged[-1] + r
        else:
            merged.append(r)
    return merged


def line_of(item: TextItem) -> str | None:
    """The transcript line a phrase item belongs to (``speech:<line>`` of ``speech:<line>.<k>``); None for a
    whole line or another channel's item."""
    return item.id.rsplit(".", 1)[0] if item.channel == "speech" and "." in item.id else None


def same_line(a: TextItem, b: TextItem) -> bool:
    """Whether two speech items are phrases of one transcript line."""
    line = line_of(a)
    return line is not None and line == line_of(b)


def _speech(index: VideoIndex) -> list[TextItem]:
    """Transcript lines; with a speakers stage, its speaker-labelled transcript (lines split at speaker
    changes, ``speaker`` set). A line longer than ``PHRASE_SPLIT_S`` whose words carry times becomes one item
    per phrase (``speech:<line>.<k>``), so a moment inside a long line ("ask not" in JFK's one-line sentence)
    has its own time and neighbours."""
    speakers = artefact(index, "speakers")
    tr = _attr(speakers, "transcript") if speakers is not None else None
    if tr is None:
        tr = artefact(index, "transcript")
    out = []
    for seg in _attr(tr, "segments", default=[]) or []:
        start, end = float(seg.start), float(seg.end)
        words = list(getattr(seg, "words", None) or [])
        parts = phrases(words) if end - start > PHRASE_SPLIT_S and words else []
        if len(parts) < 2:
            parts = []
        pieces = [
            (
                f"speech:{seg.id}.{k}",
                float(p[0].start) if k else start,
                float(p[-1].end) if k < len(parts) - 1 else end,
                " ".join(str(w.text).strip() for w in p),
            )
            for k, p in enumerate(parts)
        ] or [(f"speech:{seg.id}", start, end, seg.text)]
        for item_id, a, b, text in pieces:
            out.append(
                TextItem(
                    id=item_id,
                    channel="speech",
                    start=a,
                    end=max(a, b),
                    text=" ".join(text.split()),
                    node_id=_shot_of(index, (a + b) / 2),
                    speaker=getattr(seg, "speaker", None),
                )
            )
    return out


def _captions(index: VideoIndex) -> list[TextItem]:
    art = artefact(index, "captions")
    if art is None:
        return []
    entries: list[Any] = list(_attr(art, "captions", default=[]) or []) if not isinstance(art, dict) else []
    if isinstance(art, dict):
        entries = [
            {"node_id": k, "text": v} if isinstance(v, str) else {"node_id": k, **dict(v)}
            for k, v in (art.get("captions", art) if isinstance(art.get("captions"), dict) else art).items()
        ]
    nodes = {n.node_id: n for n in hierarchy_nodes(index)}
    out = []
    for e in entries:
        node_id = str(_attr(e, "node_id"))
        text = _attr(e, "text", "caption", default="") or ""
        start, end = _attr(e, "start"), _attr(e, "end")
        if start is None and node_id in nodes:
            start, end = nodes[node_id].start, nodes[node_id].end
        if start is None:
            continue
        frames = _attr(e, "frame_indices", default=[]) or []
        out.append(
            TextItem(
                id=f"caption:{node_id}",
                channel="caption",
                start=float(start),
                end=float(end),
                text=str(text).strip(),
                node_id=node_id,
                frame_index=int(frames[0]) if frames else None,
            )
        )
    return out


def _ocr(index: VideoIndex) -> list[TextItem]:
    items = artefact(index, "ocr") or []
    if not isinstance(items, list):
        items = list(_attr(items, "items", default=[]) or [])
    out = []
    for i, it in enumerate(items):
        start, end = float(_attr(it, "start")), float(_attr(it, "end"))
        out.append(
            TextItem(
                id=f"ocr:{i}",
                channel="ocr",
                start=start,
                end=max(start, end),
                text=str(_attr(it, "text", default="")).strip(),
                frame_index=_attr(it, "frame_index"),
                node_id=_shot_of(index, start),
            )
        )
    return out


def summary_item(n: NodeInfo) -> TextItem:
    """A node's summary as a time-stamped text item (id ``summary:<node id>``)."""
    return TextItem(
        id=f"summary:{n.node_id}", channel="summary", start=n.start, end=n.end, text=n.summary or "", node_id=n.node_id
    )


def _summaries(index: VideoIndex) -> list[TextItem]:
    return [summary_item(n) for n in hierarchy_nodes(index) if n.summary and n.level != "shot"]


__all__ = [
    "ItemChannel",
    "NodeInfo",
    "TextItem",
    "artefact",
    "hierarchy_nodes",
    "line_of",
    "node_children",
    "phrases",
    "same_line",
    "text_items",
]
