"""JSON views the trace viewer shows: videos with their index (timeline, hierarchy, transcript), stored runs,
one run's plan/steps/verdict/answer, and the similarity curves of a run's sub-events.

Indexes are opened from the cache by their manifest (``ManifestIndex``), so an index built with other
settings than the viewer's still shows; the viewer's own settings are tried first.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from vidreason.graphs.traces import Trace, TraceStore
from vidreason.tools.core.errors import TraceNotFound, VidreasonError
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.manifest import Manifest
from vidreason.tools.index.video_index import VideoIndex
from vidreason.ui.security import VideoEntry, VideoRegistry

log = logging.getLogger(__name__)


class ManifestIndex(VideoIndex):
    """An index opened from its manifest: stage folders are named by the keys recorded there, so it reads an
    index made with settings other than the viewer's."""

    def stage_key(self, name: str) -> str:
        st = self.manifest.stages.get(name)
        return st.key if st is not None and st.key else super().stage_key(name)


class IndexCache:
    """Opened indexes per video id (reopened when the manifest on disk changes)."""

    def __init__(self, settings: Settings, registry: VideoRegistry) -> None:
        self.settings = settings
        self.registry = registry
        self._open: dict[str, tuple[float, VideoIndex]] = {}
        self._lock = threading.Lock()

    def put(self, vid: str, index: VideoIndex) -> None:
        with self._lock:
            self._open[vid] = (index.manifest.updated, index)

    def get(self, entry: VideoEntry) -> VideoIndex | None:
        """The index of ``entry`` (the viewer's settings first, else the newest manifest), or None."""
        manifests = [data for e, data in self.registry.scan() if e.id == entry.id]
        with self._lock:
            known = self._open.get(entry.id)
        if known is not None:  # reuse it unless its own manifest changed (other indexes of the video don't count)
            root = known[1].root.resolve()
            mine = [float(d.get("updated") or 0) for d in manifests if Path(d["_root"]).resolve() == root]
            if not manifests or (mine and known[0] >= mine[0]):
                return known[1]
        index: VideoIndex | None = None
        try:
            index = VideoIndex.load(entry.path, self.settings)
        except VidreasonError:
            for data in manifests:  # newest first, already parsed by the scan
                root = Path(data["_root"])
                try:
                    manifest = Manifest.model_validate(data)
                except ValueError:
                    continue
                settings = self.settings.override(sample_fps=manifest.fps)
                index = ManifestIndex(entry.path, root, settings, manifest)
                break
        if index is not None:
            self.put(entry.id, index)
        return index


# ------------------------------------------------------------------------------------------------ videos


def video_summary(entry: VideoEntry, manifest: dict[str, Any] | None) -> dict[str, Any]:
    """One row of the video list."""
    video = (manifest or {}).get("video") or {}
    stages = (manifest or {}).get("stages") or {}
    return {
        "id": entry.id,
        "name": entry.path.name,
        "path": str(entry.path),
        "source": entry.source,
        "indexed": bool(manifest),
        "duration": video.get("duration"),
        "fps": (manifest or {}).get("fps"),
        "stages": {n: s.get("status") for n, s in stages.items()},
        "updated": (manifest or {}).get("updated"),
    }


def graph_of(index: VideoIndex) -> Any:
    """The index's ``VideoGraph`` (None when the hierarchy stage did not run)."""
    from vidreason.tools.index.views import artefact

    graph = getattr(index, "graph", None)
    return graph if graph is not None else artefact(index, "graph")


def _items(index: VideoIndex, channel: str) -> list[dict[str, Any]]:
    from vidreason.tools.index.views import text_items

    try:
        return [it.model_dump(mode="json") for it in text_items(index, channel)]  # type: ignore[arg-type]
    except VidreasonError as e:
        log.warning("no %s items: %s", channel, e)
        return []


def tree_nodes(index: VideoIndex) -> list[dict[str, Any]]:
    """Every hierarchy node (top-down, time order) with parent, children and text slots."""
    graph = graph_of(index)
    if graph is not None and hasattr(graph, "to_dict"):
        nodes: list[dict[str, Any]] = graph.to_dict()["nodes"]
        return nodes
    from vidreason.tools.index.views import hierarchy_nodes

    out = []
    for n in hierarchy_nodes(index):
        d = n.model_dump(mode="json")
        d["id"] = d.pop("node_id")
        d["parent"] = None if n.level == "video" else "video"
        out.append(d)
    return out


def video_detail(entry: VideoEntry, index: VideoIndex | None) -> dict[str, Any]:
    """Everything the player's timeline and the hierarchy tree need."""
    out: dict[str, Any] = {"id": entry.id, "name": entry.path.name, "path": str(entry.path), "indexed": False}
    if index is None:
        return out
    info = index.info
    thumbs = index.get("thumbnails") or {}
    out.update(
        indexed=True,
        duration=index.duration,
        width=info.width,
        height=info.height,
        video_fps=info.fps,
        has_audio=info.has_audio,
        index={
            "root": str(index.root),
            "fps": index.manifest.fps,
            "frames": len(index.frame_times),
            "stages": {
                n: {"status": s.status, "reason": s.reason, "wall_s": s.wall_s}
                for n, s in index.manifest.stages.items()
            },
            "degraded": index.degraded,
        },
        thumbnails_every=int(thumbs.get("every", 1)) if isinstance(thumbs, dict) else 1,
        nodes=tree_nodes(index),
        transcript=_items(index, "speech"),
        captions=_items(index, "caption"),
        ocr=_items(index, "ocr"),
    )
    return out


def thumbnail_path(index: VideoIndex, frame_index: int) -> Path | None:
    """The thumbnail of ``frame_index`` or of the nearest frame that has one."""
    exact = index.thumbnail(frame_index)
    if exact is not None:
        return exact
    thumbs = index.get("thumbnails")
    every = int(thumbs.get("every", 1)) if isinstance(thumbs, dict) else 1
    if every > 1:
        near = round(frame_index / every) * every
        return index.thumbnail(near)
    return None


# -------------------------------------------------------------------------------------------------- runs


def list_runs(store: TraceStore, limit: int = 100) -> list[dict[str, Any]]:
    """Stored runs, most recent first: id, question, video, when, whether finished, the answer's first line.

    Reads only each thread's latest checkpoint (one SQLite connection for all)."""
    rows = []
    for tid, snap in store.latest(limit=limit):
        values = snap.values
        answer = values.get("answer") or {}
        rows.append(
            {
                "trace_id": tid,
                "question": values.get("question"),
                "video": values.get("video"),
                "updated_at": snap.created_at,
                "complete": not snap.next,
                "steps": len(values.get("steps") or []),
                "answer": (answer.get("text") or "")[:200] or None,
            }
        )
    return rows


def _last_output(trace: Trace, node: str) -> dict[str, Any]:
    for step in reversed(trace.steps):
        if step.node == node:
            return step.outputs
    return {}


def run_detail(trace: Trace, entry: VideoEntry | None, index: VideoIndex | None) -> dict[str, Any]:
    """A stored run with what its page needs: the video id, the ordering verdict, proposals per sub-event,
    the chosen spans, usage totals and citations with thumbnail links."""
    from vidreason.agent.reasoner import usage_of

    constrain = _last_output(trace, "constrain")
    assignment = constrain.get("assignment") or {}
    groundings = _last_output(trace, "ground").get("groundings") or {}
    answer = dict(trace.answer or {})
    citations = []
    for c in answer.get("citations") or []:
        c = dict(c)
        if entry is not None and index is not None and isinstance(c.get("frame_index"), int):
            c["thumbnail"] = f"/api/videos/{entry.id}/frames/{c['frame_index']}.jpg"
        citations.append(c)
    answer["citations"] = citations
    video_name = Path(trace.video).name if trace.video else None
    return {
        "trace": trace.model_dump(mode="json", exclude={"answer"}),
        "answer": answer or None,
        "video_id": entry.id if entry is not None else None,
        "video_name": entry.path.name if entry is not None else video_name,
        "duration": index.duration if index is not None else None,
        "verdict": {
            "satisfied": assignment.get("satisfied"),
            "relaxed": assignment.get("relaxed"),
            "violated": assignment.get("violated") or [],
            "score": assignment.get("score"),
            "method": assignment.get("method"),
            "constraints": next(
                (s.inputs.get("constraints") for s in reversed(trace.steps) if s.node == "constrain"), []
            ),
            "replans": max(0, sum(1 for s in trace.steps if s.node == "plan") - 1),
        }
        if assignment
        else None,
        "target": constrain.get("target"),
        "chosen": assignment.get("chosen") or {},
        "proposals": groundings,
        "usage": usage_of(trace.steps).model_dump(mode="json"),
    }


def run_curves(trace: Trace, index: VideoIndex) -> dict[str, Any]:
    """Per sub-event of the run's plan: its similarity curves over the whole video (the channels it names,
    as the ``ground`` step scored them) and TFVTG's spans on them."""
    from vidreason.tools.core.plan import Plan
    from vidreason.tools.retrieval import planner_tools

    if not trace.plan:
        return {"sub_events": []}
    plan = Plan.model_validate(trace.plan)
    out = []
    for event in plan.sub_events:
        g = planner_tools.ground(index, event)
        out.append(
            {
                "id": event.id,
                "description": event.description,
                "channels": list(event.channels),
                "curve_times": g.curve_times,
                "curves": g.curves,
                "spans": [s.model_dump(mode="json") for s in g.spans[:6]],
                "degraded": g.degraded,
            }
        )
    return {"sub_events": out}


def get_trace(store: TraceStore, trace_id: str, *, redact: bool = False) -> Trace:
    """``store.get`` with a clear error for malformed ids."""
    if not trace_id or len(trace_id) > 128 or not all(ch.isalnum() or ch in "-_.:" for ch in trace_id):
        raise TraceNotFound(f"malformed trace id {trace_id[:40]!r}")
    return store.get(trace_id, redact=redact)


__all__ = [
    "IndexCache",
    "ManifestIndex",
    "get_trace",
    "list_runs",
    "run_curves",
    "run_detail",
    "thumbnail_path",
    "tree_nodes",
    "video_detail",
    "video_summary",
]
