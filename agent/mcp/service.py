"""What the MCP server keeps between calls, and the synchronous work behind each tool and resource.

One ``VideoReasoner`` lives as long as the server: it holds the ``ModelRegistry`` (models load once) and the
indexes it opened, so a second question about an indexed video costs only the reasoning. Every path a client
sends goes through ``AllowedRoots``; videos found in the cache but outside the roots are never shown.
Everything here is blocking: the server calls it from worker threads.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidreason.agent.access import PathNotAllowed, VideoEntry, VideoRegistry, video_id
from vidreason.agent.mcp.roots import AllowedRoots
from vidreason.agent.mcp.schemas import (
    AskOut,
    FrameOut,
    FramesOut,
    GroundOut,
    IndexOut,
    InfoOut,
    LineOut,
    NodeOut,
    SpanOut,
    SummaryOut,
    TranscriptOut,
    stage_states,
)
from vidreason.graphs.traces import Trace, TraceStore
from vidreason.tools.core.errors import ConfigError, IndexNotFound, TraceNotFound
from vidreason.tools.core.results import Answer, ScoredSpan
from vidreason.tools.core.settings import Settings

if TYPE_CHECKING:
    from vidreason.agent.reasoner import VideoReasoner
    from vidreason.tools.index.video_index import VideoIndex
    from vidreason.tools.llm.client import LLMClient

Progress = Callable[[str, float], None]

VIDEO_ID = re.compile(r"[0-9a-f]{16}")
TRACE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
MAX_LINES = 400
MAX_FRAMES = 16
JPEG_QUALITY = 80
CHANNELS = ("visual", "speech", "ocr", "caption")


def _spans(spans: list[ScoredSpan], top_k: int) -> list[SpanOut]:
    """The first ``top_k`` distinct spans (an answer lists a span once per sub-event that chose it)."""
    seen: dict[tuple[float, float], ScoredSpan] = {}
    for s in spans:
        seen.setdefault((round(s.start, 3), round(s.end, 3)), s)
    return [
        SpanOut(rank=i, start=start, end=end, score=round(s.score, 4))
        for i, ((start, end), s) in enumerate(list(seen.items())[:top_k], start=1)
    ]


def _node(n: Any) -> NodeOut:
    return NodeOut(
        node_id=n.node_id,
        level=n.level,
        start=round(n.start, 3),
        end=round(n.end, 3),
        summary=n.summary,
        caption=n.caption,
        children=list(n.children),
    )


class VidreasonService:
    """Settings, allowed roots, one ``VideoReasoner`` (created on first use, so the server answers the handshake
    without loading anything) and the videos clients named."""

    def __init__(self, settings: Settings, roots: AllowedRoots, *, llm_client: LLMClient | None = None) -> None:
        self.settings = settings
        self.roots = roots
        self.registry = VideoRegistry(settings.cache_dir)
        self.traces = TraceStore.from_settings(settings)
        self._llm_client = llm_client
        self._reasoner: VideoReasoner | None = None
        self._known: dict[str, VideoEntry] = {}  # text a client sent -> checked entry (this server's life)
        self._opened: dict[str, VideoIndex] = {}  # video id -> the index this server built or opened
        self._lock = threading.Lock()

    @property
    def reasoner(self) -> VideoReasoner:
        with self._lock:
            if self._reasoner is None:
                from vidreason.agent.reasoner import VideoReasoner

                self._reasoner = VideoReasoner(self.settings, llm_client=self._llm_client)
                import vidreason.graphs.reason  # noqa: F401  (imported here, in a worker, not on the event loop)
            return self._reasoner

    # ---- videos ---------------------------------------------------------------------------------
    def video(self, text: str) -> VideoEntry:
        """The video a client named: a path under the roots (absolute, relative to a root, or a file:// URI) or
        the ``video_id`` an earlier call returned. ``PathNotAllowed`` / ``VideoOpenError`` otherwise."""
        key = text.strip()
        with self._lock:
            known = self._known.get(key)
        if known is not None and known.path.is_file():
            return known
        entry: VideoEntry | None = None
        if VIDEO_ID.fullmatch(key):
            found = self.registry.get(key)
            if found is not None and self.roots.allows(found.path):
                entry = self.registry.register(found.path, source="mcp")
        if entry is None:
            entry = self.registry.register(self.roots.resolve(key), source="mcp")
        if not self.roots.contains(entry.path):  # a registry entry found by id must still be inside the roots
            raise PathNotAllowed(f"{key!r}: outside the folders this server may read (--allow)")
        with self._lock:
            self._known[key] = entry
        return entry

    def index(self, entry: VideoEntry, progress: Progress | None = None, *, force: bool = False) -> VideoIndex:
        """The video's index, built (or completed) first when the cache lacks it."""
        index = self.reasoner.index(entry.path, progress=progress, force=force)
        with self._lock:
            self._opened[entry.id] = index
        return index

    def build_steps(self) -> int:
        """Progress steps of a full build: the decode pass, then each stage that does not read frames."""
        from vidreason.tools.index.stages import enabled_stages

        return 1 + sum(1 for s in enabled_stages(self.settings) if s.frame_input is None)

    def index_out(self, entry: VideoEntry, index: VideoIndex, seconds: float) -> IndexOut:
        return IndexOut(
            video_id=entry.id,
            path=str(entry.path),
            duration=round(index.duration, 3),
            fps=index.manifest.fps,
            frames=len(index.frame_times),
            stages=stage_states(dict(index.manifest.stages)),
            degraded=dict(index.degraded),
            seconds=round(seconds, 3),
        )

    def existing_index(self, entry: VideoEntry) -> VideoIndex | None:
        """The complete index of these settings if the cache has one (never builds)."""
        from vidreason.tools.index.video_index import VideoIndex

        with self._lock:
            opened = self._opened.get(entry.id)
        if opened is not None:
            return opened
        try:
            models = self._reasoner.models if self._reasoner is not None else None  # None: the process-wide one
            return VideoIndex.load(entry.path, self.settings, models=models)
        except IndexNotFound:
            return None

    def info(self, entry: VideoEntry) -> InfoOut:
        from vidreason.tools.index.views import hierarchy_nodes
        from vidreason.tools.media.video import probe

        index = self.existing_index(entry)
        v = index.info if index is not None else probe(entry.path)
        out = InfoOut(
            video_id=entry.id,
            path=str(entry.path),
            duration=round(v.duration, 3),
            width=v.width,
            height=v.height,
            fps=round(v.fps, 3),
            has_audio=v.has_audio,
            indexed=index is not None,
        )
        if index is not None:
            nodes = hierarchy_nodes(index)
            levels: dict[str, int] = {}
            for n in nodes:
                levels[n.level] = levels.get(n.level, 0) + 1
            out.stages = stage_states(dict(index.manifest.stages))
            out.degraded = dict(index.degraded)
            out.levels = levels
            out.top = [_node(n) for n in nodes if n.level in ("video", "event")][:41]
        return out

    # ---- grounding and questions ----------------------------------------------------------------
    def ground(self, entry: VideoEntry, query: str, top_k: int, channels: list[str] | None) -> GroundOut:
        bad = [c for c in channels or [] if c not in CHANNELS]
        if bad:
            raise ConfigError(f"unknown channel(s) {', '.join(map(repr, bad))}; use {', '.join(CHANNELS)}")
        g = self.reasoner.ground(entry.path, query, channels=channels or None)
        return GroundOut(
            video_id=entry.id,
            path=str(entry.path),
            query=g.query,
            spans=_spans(g.spans, top_k),
            degraded=g.degraded,
            sub_events=[e.description for e in g.plan.sub_events] if g.plan else [],
        )

    def ask_out(self, entry: VideoEntry, answer: Answer, seconds: float) -> AskOut:
        return AskOut(
            video_id=entry.id,
            path=str(entry.path),
            question=answer.question,
            answer=answer.text,
            confidence=round(answer.confidence, 3),
            citations=answer.citations,
            spans=_spans(answer.spans, 5),
            trace_id=answer.trace_id,
            degraded=answer.degraded,
            seconds=round(seconds, 3),
        )

    # ---- reading the index --------------------------------------------------------------------
    def transcript(self, entry: VideoEntry, index: VideoIndex, start: float, end: float | None) -> TranscriptOut:
        from vidreason.tools.index.views import text_items

        stop = index.duration if end is None else end
        if stop < start:
            raise ConfigError(f"end {stop:g}s is before start {start:g}s")
        items = [it for it in text_items(index, "speech") if it.end >= start and it.start <= stop]
        lines = [
            LineOut(start=round(it.start, 3), end=round(it.end, 3), text=it.text, speaker=it.speaker)
            for it in items[:MAX_LINES]
        ]
        speakers = sorted({ln.speaker for ln in lines if ln.speaker})
        return TranscriptOut(
            video_id=entry.id,
            path=str(entry.path),
            start=start,
            end=round(stop, 3),
            lines=lines,
            speakers=speakers or None,
            truncated=len(items) > MAX_LINES,
            degraded=index.degraded.get("transcript"),
        )

    def frames(
        self, entry: VideoEntry, start: float, end: float | None, n: int, size: int
    ) -> tuple[FramesOut, list[bytes]]:
        """``n`` frames at the centres of ``n`` equal parts of [start, end], as small JPEGs (short side
        ``size``)."""
        from PIL import Image

        from vidreason.tools.media.video import frames_at, probe

        if not 1 <= n <= MAX_FRAMES:
            raise ConfigError(f"n must be within 1..{MAX_FRAMES}, got {n}")
        duration = probe(entry.path).duration
        stop = duration if end is None else min(end, duration)
        if start >= duration:
            raise ConfigError(f"start {start:g}s is past the end of the video ({duration:.2f}s)")
        if stop < start:
            raise ConfigError(f"end {stop:g}s is before start {start:g}s")
        step = (stop - start) / n
        times = [start + (i + 0.5) * step for i in range(n)]
        out, images = [], []
        for _, t, rgb in frames_at(entry.path, times, short_side=size):
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, format="JPEG", quality=JPEG_QUALITY)
            images.append(buf.getvalue())
            out.append(FrameOut(time=round(t, 3), width=int(rgb.shape[1]), height=int(rgb.shape[0])))
        frames = FramesOut(video_id=entry.id, path=str(entry.path), start=start, end=round(stop, 3), frames=out)
        return frames, images

    def summary(self, entry: VideoEntry, index: VideoIndex, node_id: str) -> SummaryOut:
        from vidreason.tools.index.views import hierarchy_nodes

        nodes = {n.node_id: n for n in hierarchy_nodes(index)}
        node = nodes.get(node_id)
        if node is None:
            known = ", ".join(list(nodes)[:8])
            raise IndexNotFound(f"no node {node_id[:40]!r} in the hierarchy of {entry.path.name} (e.g. {known})")
        parent = next((p.node_id for p in nodes.values() if node_id in p.children), None)
        children = sorted((nodes[c] for c in node.children if c in nodes), key=lambda n: n.start)
        return SummaryOut(
            video_id=entry.id,
            path=str(entry.path),
            node=_node(node),
            children=[_node(c) for c in children],
            parent=parent,
        )

    # ---- traces -------------------------------------------------------------------------------
    def trace(self, trace_id: str, *, redact: bool = False) -> Trace:
        """A stored run, if it is about a video under the roots (others are reported as unknown)."""
        tid = trace_id.strip()
        if not TRACE_ID.fullmatch(tid):
            raise TraceNotFound(f"malformed trace id {tid[:40]!r}")
        trace = self.traces.get(tid, redact=redact)
        if not trace.video or not self.roots.allows(trace.video):
            raise TraceNotFound(f"no trace {tid!r} about a video under the allowed folders")
        return trace

    def recent_traces(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest runs about videos under the roots, most recent first."""
        rows = []
        for tid, snap in self.traces.latest(limit=limit):
            video = snap.values.get("video")
            if not video or not self.roots.allows(video):
                continue
            answer = snap.values.get("answer") or {}
            rows.append(
                {
                    "trace_id": tid,
                    "uri": f"vidreason://trace/{tid}",
                    "question": snap.values.get("question"),
                    "video_id": video_id(Path(video)),
                    "updated_at": snap.created_at,
                    "complete": not snap.next,
                    "answer": (answer.get("text") or "")[:200] or None,
                }
            )
        return rows

    # ---- resources ----------------------------------------------------------------------------
    def videos(self) -> list[dict[str, Any]]:
        """Videos indexed in the cache or named by a client, under the roots (newest index first)."""
        rows: dict[str, dict[str, Any]] = {}
        for entry, manifest in self.registry.scan(max_age=0):
            if entry.id in rows or not self.roots.contains(entry.path):
                continue
            video = manifest.get("video") or {}
            rows[entry.id] = {
                "video_id": entry.id,
                "uri": f"vidreason://video/{entry.id}",
                "path": str(entry.path),
                "duration": video.get("duration"),
                "fps": manifest.get("fps"),
                "stages": {n: s.get("status") for n, s in (manifest.get("stages") or {}).items()},
            }
        for entry in self.registry.entries():
            if entry.id not in rows and self.roots.contains(entry.path):
                rows[entry.id] = {"video_id": entry.id, "uri": f"vidreason://video/{entry.id}", "path": str(entry.path)}
        return list(rows.values())

    def video_resource(self, vid: str) -> dict[str, Any]:
        """A video's info and its whole hierarchy (every node, with summaries and captions)."""
        from vidreason.tools.index.views import hierarchy_nodes

        found = self.registry.get(vid) if VIDEO_ID.fullmatch(vid) else None
        if found is None or not self.roots.allows(found.path):
            raise PathNotAllowed(f"unknown video id {vid[:40]!r}; list the videos at vidreason://videos")
        entry = self.video(str(found.path))
        info = self.info(entry).model_dump(mode="json", exclude={"top"})
        index = self.existing_index(entry)
        info["hierarchy"] = [] if index is None else [_node(n).model_dump() for n in hierarchy_nodes(index)]
        return info


__all__ = ["CHANNELS", "MAX_FRAMES", "MAX_LINES", "VidreasonService"]
