"""The cached video index: one folder per (file content, frame table), with one sub-folder per stage.

Layout under ``<cache_dir>/index/<content-hash>-<fps>/``::

    manifest.json          provenance: what probe() found, settings, packages, every stage's status
                           (rewritten atomically after each committed stage)
    stages/<name>-<key>/   one folder per computed stage: artefact files + status.json

A stage folder is written under a temporary name and renamed into place when complete, so its presence is
the commit point: a build killed midway leaves only temporary folders (ignored and cleaned up) and an index
that does not load as complete. A file lock serialises builds of the same video; a second process waits and
then reuses what the first one built.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from vidreason.agent.errors import IndexCorrupt, IndexNotFound
from vidreason.agent.settings import Settings
from vidreason.tools import stage as stage_registry
from vidreason.tools import storage
from vidreason.tools.schemas import StageStatus, VideoInfo
from vidreason.tools.stage import Stage, StageOutput, get_stage
from vidreason.tools.video import probe

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
Progress = Callable[[str, float], None]  # (stage or "decode", fraction done)


class Manifest(BaseModel):
    """Provenance of an index: the video, the settings that shaped it, and every stage's status."""

    version: int = MANIFEST_VERSION
    content_hash: str
    video: VideoInfo
    fps: float
    updated: float = Field(default_factory=time.time)
    settings: dict[str, Any] = Field(default_factory=dict)
    packages: dict[str, str] = Field(default_factory=dict)
    stages: dict[str, StageStatus] = Field(default_factory=dict)
    decode_s: float = 0.0

    @property
    def degraded(self) -> dict[str, str]:
        """Stage name -> reason, for every stage that did not run fully."""
        return {n: s.reason or s.status for n, s in self.stages.items() if s.status != "ok"}


def index_root(settings: Settings, content_hash: str) -> Path:
    return settings.cache_dir / "index" / f"{content_hash[:20]}-fps{settings.fps:g}"


def locate(path: Path, settings: Settings) -> tuple[VideoInfo, str, Path]:
    """Probe ``path`` and find its index folder: ``(info, content hash, root)``."""
    info = probe(path)
    digest = storage.content_hash(path, settings.cache_dir)
    return info, digest, index_root(settings, digest)


def read_manifest(root: Path, video: Path) -> Manifest:
    """The manifest under ``root``: ``IndexNotFound`` when there is none, ``IndexCorrupt`` when unreadable."""
    manifest_file = root / "manifest.json"
    if not manifest_file.exists():
        raise IndexNotFound(f"{video}: not indexed yet with these settings (run `vidreason index {video}`)")
    try:
        return Manifest.model_validate_json(manifest_file.read_text())
    except ValueError as e:
        raise IndexCorrupt(f"{manifest_file}: unreadable manifest ({e}); rebuild with --force") from e


def enabled_stages(settings: Settings, only: Sequence[str] | None = None) -> list[Stage]:
    """Stages to build, in registry order; ``only`` restricts to those names plus what they require."""
    wanted: set[str] | None = None
    if only is not None:
        wanted = {"frames"}
        todo = list(only)
        while todo:
            name = todo.pop()
            if name not in wanted:
                wanted.add(name)
                todo.extend(get_stage(name).requires)
    stages = []
    for name in stage_registry.STAGES:
        if wanted is not None and name not in wanted:
            continue
        stage = get_stage(name)
        if name == "frames" or stage.enabled(settings) or (only is not None and name in only):
            stages.append(stage)
    return stages


class VideoIndex:
    """An indexed video: frame table, stage artefacts (loaded lazily) and the provenance manifest."""

    def __init__(self, path: Path, root: Path, settings: Settings, manifest: Manifest) -> None:
        self.path = path
        self.root = root
        self.settings = settings
        self.manifest = manifest
        self._keys: dict[str, str] = {}
        self._cache: dict[str, Any] = {}
        self._frame_times: np.ndarray | None = None

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        path: str | Path,
        settings: Settings | None = None,
        *,
        stages: Sequence[str] | None = None,
        progress: Progress | None = None,
        force: bool = False,
    ) -> VideoIndex:
        """Index ``path`` (or complete its index): computes only the stages missing for these settings."""
        from vidreason.tools.builder import build_index

        return build_index(cls, Path(path), settings or Settings(), stages=stages, progress=progress, force=force)

    @classmethod
    def load(
        cls,
        path: str | Path,
        settings: Settings | None = None,
        *,
        stages: Sequence[str] | None = None,
        complete: bool = True,
    ) -> VideoIndex:
        """Open an index; raises ``IndexNotFound`` when a stage is missing for these settings (unless
        ``complete=False``, which opens whatever exists, e.g. to show a partial index's provenance)."""
        settings = settings or Settings()
        p = Path(path)
        info, _, root = locate(p, settings)
        manifest = read_manifest(root, p)
        manifest.video = info
        index = cls(p, root, settings, manifest)
        wanted = enabled_stages(settings, stages)
        # the manifest describes the last build; these settings may select other stage folders
        manifest.stages = index.existing_statuses(wanted)
        missing = [s.name for s in wanted if not index.has(s.name)]
        if missing and complete:
            raise IndexNotFound(f"{p}: index incomplete for these settings; missing stages: {', '.join(missing)}")
        return index

    # ---- stage keys and folders ---------------------------------------------------------------
    def stage_key(self, name: str) -> str:
        if name not in self._keys:
            stage = get_stage(name)
            deps = {d: self.stage_key(d) for d in stage.requires}
            deps.update({d: self.stage_key(d) for d in stage.uses if get_stage(d).enabled(self.settings)})
            self._keys[name] = stage.key(self.settings, deps)
        return self._keys[name]

    def stage_dir(self, name: str) -> Path:
        return self.root / "stages" / f"{name}-{self.stage_key(name)}"

    def has(self, name: str) -> bool:
        return (self.stage_dir(name) / "status.json").exists()

    def status(self, name: str) -> StageStatus | None:
        f = self.stage_dir(name) / "status.json"
        return StageStatus.model_validate_json(f.read_text()) if f.exists() else None

    def existing_statuses(self, stages: Sequence[Stage]) -> dict[str, StageStatus]:
        """Status of each of ``stages`` whose folder exists for these settings."""
        return {s.name: st for s in stages if (st := self.status(s.name)) is not None}

    def get(self, name: str) -> Any:
        """A stage's artefact, loaded once; ``None`` if the stage was skipped or is not built."""
        if name not in self._cache:
            status = self.status(name)
            if status is None or status.status in ("skipped", "failed") or not (self.stage_dir(name) / "ok").exists():
                self._cache[name] = None
            else:
                self._cache[name] = get_stage(name).load(self.stage_dir(name))
        return self._cache[name]

    def commit_stage(self, stage: Stage, tmp: Path, out: StageOutput, wall_s: float) -> StageStatus:
        """Save ``out`` into ``tmp`` and rename it into place (the atomic commit of one stage)."""
        status = StageStatus(
            name=stage.name,
            status=out.status,
            reason=out.reason,
            key=self.stage_key(stage.name),
            wall_s=round(wall_s, 4),
            models=out.models,
            params={**stage.params(self.settings), **out.metrics},
        )
        if out.artefact is not None:
            stage.save(out.artefact, tmp)
            (tmp / "ok").touch()
        storage.write_text_atomic(tmp / "status.json", status.model_dump_json(indent=1))
        final = self.stage_dir(stage.name)
        if final.exists():  # forced rebuild: replace the old folder
            shutil.rmtree(final)
        storage.fsync_dir(tmp)
        tmp.rename(final)
        self._cache.pop(stage.name, None)
        self.manifest.stages[stage.name] = status
        self.write_manifest()  # partial progress is visible (and resumable), never "complete" by itself
        return status

    # ---- convenient views -----------------------------------------------------------------------
    @property
    def info(self) -> VideoInfo:
        return self.manifest.video

    @property
    def duration(self) -> float:
        return self.manifest.video.duration

    @property
    def frame_times(self) -> np.ndarray:
        """Timestamps (seconds) of the sampled-frame table; ``frame_index`` i is at ``frame_times[i]``."""
        if self._frame_times is None:
            times = self.get("frames")
            if times is None:
                raise IndexNotFound(f"{self.path}: the frame table has not been built")
            self._frame_times = np.asarray(times, dtype=np.float64)
        return self._frame_times

    @property
    def degraded(self) -> dict[str, str]:
        return self.manifest.degraded

    def frame_at(self, t: float) -> int:
        """Index of the table frame nearest to time ``t``."""
        times = self.frame_times
        if len(times) == 0:
            raise IndexNotFound(f"{self.path}: the frame table is empty")
        i = int(np.clip(np.searchsorted(times, t), 1, max(len(times) - 1, 1)))
        return i - 1 if len(times) == 1 or abs(times[i - 1] - t) <= abs(times[i] - t) else i

    def thumbnail(self, frame_index: int) -> Path | None:
        """JPEG thumbnail of a table frame, if the thumbnails stage ran."""
        if self.get("thumbnails") is None:
            return None
        f = self.stage_dir("thumbnails") / f"{frame_index:06d}.jpg"
        return f if f.exists() else None

    def write_manifest(self) -> None:
        self.manifest.updated = time.time()
        storage.write_text_atomic(self.root / "manifest.json", self.manifest.model_dump_json(indent=1))

    def summary(self) -> dict[str, Any]:
        """What ``vidreason info`` shows about the index."""
        return {
            "root": str(self.root),
            "content_hash": self.manifest.content_hash,
            "fps": self.manifest.fps,
            "frames": len(self.frame_times),
            "stages": {n: s.model_dump(mode="json") for n, s in self.manifest.stages.items()},
            "degraded": self.degraded,
            "packages": self.manifest.packages,
            "decode_s": self.manifest.decode_s,
        }

    def __repr__(self) -> str:
        return f"VideoIndex({self.path.name!r}, root={str(self.root)!r}, stages={list(self.manifest.stages)})"
