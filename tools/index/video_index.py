"""The cached video index: one folder per (file content, frame table), with one sub-folder per stage (layout
in ``manifest``).

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

from vidreason.tools.core import storage
from vidreason.tools.core.errors import IndexNotFound
from vidreason.tools.core.media import StageStatus, VideoInfo
from vidreason.tools.core.models import ModelRegistry, default_registry
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.builder import build_index, start_manifest
from vidreason.tools.index.manifest import Manifest, locate, read_manifest
from vidreason.tools.index.stage import Stage, StageOutput
from vidreason.tools.index.stages import enabled_stages, get_stage

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]  # (stage or "decode", fraction done)


class VideoIndex:
    """An indexed video: frame table, stage artefacts (loaded lazily) and the provenance manifest."""

    def __init__(
        self, path: Path, root: Path, settings: Settings, manifest: Manifest, models: ModelRegistry | None = None
    ) -> None:
        self.path = path
        self.root = root
        self.settings = settings
        self.manifest = manifest
        self.models = models or default_registry()  # where stages and query tools load their models
        #: per-index memo of query-time tools (text views, grounding curves); lives and dies with the index
        self.memo: dict[str, Any] = {}
        self._keys: dict[str, str] = {}
        self._cache: dict[str, Any] = {}
        self._frame_times: np.ndarray | None = None
        #: stages the last ``build`` computed (empty: everything came from the cache)
        self.computed: list[str] = []

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
        models: ModelRegistry | None = None,
    ) -> VideoIndex:
        """Index ``path`` (or complete its index): computes only the stages missing for these settings. Models
        load through ``models`` (the process-wide registry by default)."""
        p, settings = Path(path), settings or Settings()
        info, digest, root = locate(p, settings)
        with storage.file_lock(root.parent / f"{root.name}.lock"):
            index = cls(p, root, settings, start_manifest(p, settings, info, digest, root), models)
            index.computed = build_index(index, stages=stages, progress=progress, force=force)
        return index

    @classmethod
    def load(
        cls,
        path: str | Path,
        settings: Settings | None = None,
        *,
        stages: Sequence[str] | None = None,
        complete: bool = True,
        models: ModelRegistry | None = None,
    ) -> VideoIndex:
        """Open an index; raises ``IndexNotFound`` when a stage is missing for these settings (unless
        ``complete=False``, which opens whatever exists, e.g. to show a partial index's provenance)."""
        settings = settings or Settings()
        p = Path(path)
        info, _, root = locate(p, settings)
        manifest = read_manifest(root, p)
        manifest.video = info
        index = cls(p, root, settings, manifest, models)
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
