"""The video hierarchy: ``video`` -> ``event:NNNN`` -> ``scene:NNNN`` -> ``shot:NNNN``.

A :class:`VideoGraph` wraps a networkx ``DiGraph`` whose edges have ``kind="contains"`` (parent -> child) or
``kind="next"`` (a node -> the following node of the same level). Children tile their parent exactly and
ids are numbered in time order per level (0-based, 4 digits), so rebuilding from the same inputs gives the
same ids.
Every node carries its span (seconds), frame-table index range, keyframes and text slots (caption, transcript
excerpt, summary with cited child ids, OCR text). Build one with :func:`build_graph`
(:mod:`vidreason.tools.index.hierarchy_build`).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator
from typing import Any, Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.media import Span

Level = Literal["video", "event", "scene", "shot"]
LEVELS: tuple[Level, ...] = ("video", "event", "scene", "shot")
FORMAT_VERSION = 1


class Node(BaseModel):
    """One node of the hierarchy (mutable text slots; the structure is fixed by the builder)."""

    model_config = ConfigDict(validate_assignment=True)

    id: str
    level: Level
    index: int = Field(ge=0, description="position among the nodes of its level, in time order")
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    start_frame: int = Field(-1, description="first frame-table index in the node (-1: none)")
    end_frame: int = Field(-1, description="last frame-table index in the node, inclusive (-1: none)")
    keyframes: list[int] = Field(default_factory=list, description="frame-table indices")
    caption: str | None = None
    transcript: str | None = Field(None, description="speech inside the node (possibly shortened)")
    summary: str | None = None
    citations: list[str] = Field(default_factory=list, description="child ids the summary cites")
    ocr_text: str | None = None
    speakers: dict[str, float] = Field(
        default_factory=dict, description="seconds each speaker talks inside the node (diarized videos only)"
    )

    @property
    def span(self) -> Span:
        return Span(start=self.start, end=self.end)

    @property
    def duration(self) -> float:
        return self.end - self.start


def node_id(level: Level, index: int) -> str:
    """``video`` or ``<level>:NNNN``."""
    return "video" if level == "video" else f"{level}:{index:04d}"


def _fmt(t: float) -> str:
    m, s = divmod(max(0.0, t), 60.0)
    return f"{int(m)}:{s:04.1f}" if m < 60 else f"{int(m // 60)}:{int(m % 60):02d}:{s:04.1f}"


def _short(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: max(0, width - 1)].rstrip() + "…"


class VideoGraph:
    """Queryable, serialisable hierarchy over one video (see the module docstring)."""

    def __init__(self, duration: float, meta: dict[str, Any] | None = None) -> None:
        self.duration = float(duration)
        self.meta: dict[str, Any] = dict(meta or {})
        self.graph = nx.DiGraph()
        self._order: dict[Level, list[str]] = {lv: [] for lv in LEVELS}
        self._starts: dict[Level, list[float]] = {lv: [] for lv in LEVELS}

    # -- construction ----------------------------------------------------------------------------------------
    def add(self, node: Node, parent: str | None = None) -> Node:
        """Append ``node`` after the last node of its level (nodes must be added in time order)."""
        if node.id in self.graph:
            raise ConfigError(f"duplicate node id {node.id!r}")
        order = self._order[node.level]
        if order and node.start < self._starts[node.level][-1]:
            raise ConfigError(f"{node.id} starts at {node.start} before the previous {node.level}")
        self.graph.add_node(node.id, node=node)
        if order:
            self.graph.add_edge(order[-1], node.id, kind="next")
        order.append(node.id)
        self._starts[node.level].append(node.start)
        if parent is not None:
            if parent not in self.graph:
                raise ConfigError(f"unknown parent {parent!r} for {node.id}")
            self.graph.add_edge(parent, node.id, kind="contains")
        return node

    # -- lookup ----------------------------------------------------------------------------------------------
    def __contains__(self, nid: object) -> bool:
        return nid in self.graph

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def __getitem__(self, nid: str) -> Node:
        return self.node(nid)

    def node(self, nid: str) -> Node:
        if nid not in self.graph:
            raise KeyError(f"no node {nid!r} in the video graph")
        n: Node = self.graph.nodes[nid]["node"]
        return n

    def level(self, nid: str) -> Level:
        return self.node(nid).level

    def span(self, nid: str) -> Span:
        return self.node(nid).span

    def nodes(self, level: Level | None = None) -> list[str]:
        """Ids of one level in time order (all levels, top-down, when ``level`` is None)."""
        if level is None:
            return [i for lv in LEVELS for i in self._order[lv]]
        self._check_level(level)
        return list(self._order[level])

    def iter_nodes(self, level: Level | None = None) -> Iterator[Node]:
        for nid in self.nodes(level):
            yield self.node(nid)

    @property
    def events(self) -> list[str]:
        return self.nodes("event")

    @property
    def scenes(self) -> list[str]:
        return self.nodes("scene")

    @property
    def shots(self) -> list[str]:
        return self.nodes("shot")

    def _kind_edges(self, nid: str, kind: str, out: bool) -> list[str]:
        self.node(nid)
        edges = self.graph.out_edges(nid, data="kind") if out else self.graph.in_edges(nid, data="kind")
        return [v if out else u for u, v, k in edges if k == kind]

    def children(self, nid: str) -> list[str]:
        """Direct children in time order."""
        kids = self._kind_edges(nid, "contains", out=True)
        return sorted(kids, key=lambda k: self.node(k).index)

    def parent(self, nid: str) -> str | None:
        parents = self._kind_edges(nid, "contains", out=False)
        return parents[0] if parents else None

    def ancestors(self, nid: str) -> list[str]:
        """Parent, grandparent, ... up to ``video`` (nearest first)."""
        out, cur = [], self.parent(nid)
        while cur is not None:
            out.append(cur)
            cur = self.parent(cur)
        return out

    def descendants(self, nid: str, level: Level | None = None) -> list[str]:
        """All nodes below ``nid`` (only those of ``level`` when given), in time order."""
        out: list[str] = []
        for kid in self.children(nid):
            if level is None or self.level(kid) == level:
                out.append(kid)
            out.extend(self.descendants(kid, level))
        if level is None:
            rank = {lv: i for i, lv in enumerate(LEVELS)}
            out.sort(key=lambda k: (rank[self.level(k)], self.node(k).index))
        return out

    def next(self, nid: str) -> str | None:
        nxt = self._kind_edges(nid, "next", out=True)
        return nxt[0] if nxt else None

    def prev(self, nid: str) -> str | None:
        prv = self._kind_edges(nid, "next", out=False)
        return prv[0] if prv else None

    def node_at(self, t: float, level: Level = "shot") -> str:
        """The node of ``level`` whose ``[start, end)`` holds ``t`` (the last one holds ``duration``)."""
        self._check_level(level)
        if not 0 <= t <= self.duration + 1e-6:
            raise ConfigError(f"time {t} is outside the video [0, {self.duration}]")
        order = self._order[level]
        if not order:
            raise KeyError(f"the graph has no {level} nodes")
        i = max(0, bisect.bisect_right(self._starts[level], t) - 1)
        return order[i]

    def nodes_overlapping(self, span: Span, level: Level | None = None) -> list[str]:
        """Nodes whose span overlaps ``span`` (positive overlap; a zero-length span selects the node at it),
        top-down and in time order."""
        levels = [level] if level is not None else list(LEVELS)
        out: list[str] = []
        for lv in levels:
            self._check_level(lv)
            if span.duration == 0:
                if self._order[lv] and 0 <= span.start <= self.duration:
                    out.append(self.node_at(span.start, lv))
                continue
            order, starts = self._order[lv], self._starts[lv]
            i = max(0, bisect.bisect_right(starts, span.start) - 1)
            while i < len(order) and starts[i] < span.end:
                if self.node(order[i]).span.overlaps(span):
                    out.append(order[i])
                i += 1
        return out

    def annotate(self, nid: str, **fields: Any) -> Node:
        """Set text slots: ``caption``, ``transcript``, ``summary``, ``citations``, ``ocr_text``,
        ``keyframes``."""
        allowed = {"caption", "transcript", "summary", "citations", "ocr_text", "keyframes"}
        bad = set(fields) - allowed
        if bad:
            raise ConfigError(f"cannot annotate {sorted(bad)}; allowed: {sorted(allowed)}")
        node = self.node(nid)
        for key, value in fields.items():
            setattr(node, key, value)
        return node

    @staticmethod
    def _check_level(level: str) -> None:
        if level not in LEVELS:
            raise ConfigError(f"unknown level {level!r}; allowed: {list(LEVELS)}")

    # -- serialisation ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: every node (top-down, time order) with its ``parent`` and ``children`` ids."""
        nodes = []
        for nid in self.nodes():
            d = self.node(nid).model_dump()
            d["parent"] = self.parent(nid)
            d["children"] = self.children(nid)
            nodes.append(d)
        return {"version": FORMAT_VERSION, "duration": self.duration, "meta": self.meta, "nodes": nodes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoGraph:
        if data.get("version") != FORMAT_VERSION:
            raise ConfigError(f"video graph format {data.get('version')!r}; this version reads {FORMAT_VERSION}")
        g = cls(data["duration"], data.get("meta"))
        rank = {lv: i for i, lv in enumerate(LEVELS)}
        rows = sorted(data["nodes"], key=lambda d: (rank[d["level"]], d["index"]))
        for row in rows:
            fields = {k: v for k, v in row.items() if k not in ("parent", "children")}
            g.add(Node(**fields), parent=row.get("parent"))
        return g

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> VideoGraph:
        return cls.from_dict(json.loads(text))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VideoGraph) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        counts = ", ".join(f"{len(self._order[lv])} {lv}s" for lv in LEVELS[1:])
        return f"VideoGraph({self.duration:.1f}s: {counts})"

    # -- display ---------------------------------------------------------------------------------------------
    def render_tree(self, max_depth: int = 3, *, width: int = 72, max_lines: int | None = None) -> str:
        """Indented text tree (depth 0 = video only, 3 = down to shots), each line with the node's times and a
        short caption / summary / transcript excerpt."""
        lines: list[str] = []

        def walk(nid: str, depth: int) -> None:
            n = self.node(nid)
            kids = self.children(nid)
            head = f"{'  ' * depth}{nid} [{_fmt(n.start)}-{_fmt(n.end)}]"
            if kids and depth >= max_depth:
                head += f" ({len(kids)} {self.level(kids[0])}s)"
            text = n.caption or n.summary or (f'"{n.transcript}"' if n.transcript else "")
            room = width - len(head) - 1
            lines.append(f"{head} {_short(text, room)}".rstrip() if text and room > 8 else head)
            if depth < max_depth:
                for kid in kids:
                    walk(kid, depth + 1)

        if "video" in self.graph:
            walk("video", 0)
        if max_lines is not None and len(lines) > max_lines:
            hidden = len(lines) - max_lines
            lines = [*lines[:max_lines], f"… {hidden} more line{'s' if hidden > 1 else ''}"]
        return "\n".join(lines)


__all__ = ["LEVELS", "Level", "Node", "VideoGraph", "node_id"]
