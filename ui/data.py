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

from vidreason.tools.core.errors import VidreasonError
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

    def get(self, entry: VideoEntry, *, fresh: bool = False) -> VideoIndex | None:
        """The index of ``entry`` (the viewer's settings first, else the newest manifest), or None. ``fresh``
        rescans the cache now (a build in progress commits stages one by one)."""
        manifests = [data for e, data in self.registry.scan(**({"max_age": 0} if fresh else {})) if e.id == entry.id]
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


def _frame_count(index: VideoIndex) -> int:
    try:
        return len(index.frame_times)
    except VidreasonError:  # a build in progress has not committed its frame table yet
        return 0


def speakers_of(items: list[dict[str, Any]]) -> list[str]:
    """The speaker labels of transcript lines, in order of first appearance (empty without diarization)."""
    return list(dict.fromkeys(str(it["speaker"]) for it in items if it.get("speaker")))


def video_detail(entry: VideoEntry, index: VideoIndex | None, building: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the player's timeline, the transcript and the hierarchy tree need. ``building`` is the
    progress of a build in progress: the index is then what has been committed so far (``partial``)."""
    out: dict[str, Any] = {
        "id": entry.id,
        "name": entry.path.name,
        "path": str(entry.path),
        "indexed": False,
        "partial": False,
        "building": building,
    }
    if index is None:
        return out
    info = index.info
    thumbs = index.get("thumbnails") or {}
    transcript = _items(index, "speech")
    out.update(
        indexed=building is None,
        partial=building is not None,
        duration=index.duration,
        width=info.width,
        height=info.height,
        video_fps=info.fps,
        has_audio=info.has_audio,
        index={
            "root": str(index.root),
            "fps": index.manifest.fps,
            "frames": _frame_count(index),
            "stages": {
                n: {"status": s.status, "reason": s.reason, "wall_s": s.wall_s}
                for n, s in index.manifest.stages.items()
            },
            "degraded": index.degraded,
        },
        thumbnails_every=int(thumbs.get("every", 1)) if isinstance(thumbs, dict) else 1,
        nodes=tree_nodes(index),
        transcript=transcript,
        speakers=speakers_of(transcript),
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


__all__ = [
    "IndexCache",
    "ManifestIndex",
    "speakers_of",
    "thumbnail_path",
    "tree_nodes",
    "video_detail",
    "video_summary",
]
