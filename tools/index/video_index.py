"""The cached video index: one folder per (file content, frame table), with one sub-folder per stage (layout
in ``manifest``).

A stage folder is written under a temporary name and renamed into place when complete, so its presence is
the commit point: a build killed midway leaves only temporary folders (ignored and cleaned up) and an index
that does not load as complete. A file lock serialises builds of the same video; a second process waits and
then reuses what the first one built. A cache hit takes no lock (and needs no write access): read-only caches
serve everything that does not build.

Each stage's record lists its files with sizes and checksums; damaged stages are found when the index opens
and rebuilt by a build (see ``integrity`` for what is checked when). Failed stages are recorded too, and not
retried until ``--force`` or a change of what made them fail.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidreason.tools.core import storage
from vidreason.tools.core.errors import (
    CacheReadOnly,
    IndexCorrupt,
    IndexNotFound,
    StorageError,
    VidreasonError,
    one_line,
)
from vidreason.tools.core.media import StageStatus, VideoInfo
from vidreason.tools.core.models import ModelRegistry, default_registry
from vidreason.tools.core.settings import Settings
from vidreason.tools.index import integrity
from vidreason.tools.index.builder import build_index, start_manifest
from vidreason.tools.index.manifest import Manifest, locate, read_manifest
from vidreason.tools.index.stage import Stage, StageOutput
from vidreason.tools.index.stages import enabled_stages, get_stage

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]  # (stage or "decode", fraction done)


NOT_BUILT = "not built yet"
#: stage record fields left out of ``summary()`` (every file's checksum is noise in ``info``)
_BULKY = {"files", "fingerprint"}


@dataclass
class StageCheck:
    """What the index found in a stage folder: its record and why it cannot be used as is (``problem``)."""

    status: StageStatus | None  # None: not built, or the record is unreadable (then ``problem`` says so)
    problem: str | None = None
    checksummed: bool = False

    @property
    def present(self) -> bool:
        return self.status is not None and self.problem is None


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
        #: stage name -> problem, for stages found damaged by ``load(complete=False)`` or when loading an artefact
        self.damaged: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        self._cache: dict[str, Any] = {}
        self._checks: dict[str, StageCheck] = {}
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
        """Index ``path`` (or complete its index): computes only the stages missing for these settings, rebuilds
        damaged ones and retries failed ones whose cause changed. Models load through ``models`` (the
        process-wide registry by default). A complete, intact index is returned without taking the build lock,
        so a read-only cache works; when something must be built there, ``CacheReadOnly`` says what and how."""
        p, settings = Path(path), settings or Settings()
        info, digest, root = locate(p, settings)
        seen, todo, manifest_ok = cls._look(p, root, settings, info, digest, stages, models)
        if not force and not todo and manifest_ok:
            return seen  # cache hit: nothing written, no lock
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(storage.file_lock(root.parent / f"{root.name}.lock"))
            except StorageError as e:
                if not force and not todo:  # only the manifest is unreadable: the stage records suffice
                    log.warning("%s: unreadable index manifest not repaired: %s", p, e)
                    return seen
                raise cls._read_only(p, settings, todo or {"index": "rebuild asked (--force)"}, e) from e
            index = cls(p, root, settings, start_manifest(p, settings, info, digest, root), models)
            index._checks = {n: c for n, c in seen._checks.items() if n not in todo}  # verified already
            index.computed = build_index(index, stages=stages, progress=progress, force=force)
        return index

    @classmethod
    def _look(
        cls,
        p: Path,
        root: Path,
        settings: Settings,
        info: VideoInfo,
        digest: str,
        stages: Sequence[str] | None,
        models: ModelRegistry | None,
    ) -> tuple[VideoIndex, dict[str, str], bool]:
        """The index as it stands, what a build must do there (stage name -> reason: not built, damaged with
        the file, failed with a changed cause) and whether its manifest is readable."""
        try:
            manifest: Manifest | None = read_manifest(root, p)
        except (IndexNotFound, IndexCorrupt):
            manifest = None
        index = cls(p, root, settings, manifest or Manifest(content_hash=digest, video=info, fps=settings.fps), models)
        index.manifest.video = info
        wanted = enabled_stages(settings, stages)
        todo = {s.name: why for s in wanted if (why := index.needs_build(s.name))}
        index.manifest.stages = index.existing_statuses(wanted)
        return index, todo, manifest is not None

    @staticmethod
    def _read_only(p: Path, settings: Settings, todo: dict[str, str], error: StorageError) -> CacheReadOnly:
        unbuilt = [name for name, why in todo.items() if why == NOT_BUILT]
        parts = [f"{name}: {why}" for name, why in todo.items() if why != NOT_BUILT]
        what = "; ".join(parts + ([f"{NOT_BUILT}: {', '.join(unbuilt)}"] if unbuilt else []))
        return CacheReadOnly(
            f"{p}: the index must be built or repaired ({what}) but the cache {settings.cache_dir} cannot be "
            f"written ({error}); fix: run `vidreason index {p}` where the cache is writable, or pick a writable "
            "--cache-dir"
        )

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
        index.damaged = {s.name: why for s in wanted if (why := index._check(s.name).problem)}
        if index.damaged and complete:
            name, why = next(iter(index.damaged.items()))
            raise IndexCorrupt(index.damage_message(name, why))
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

    def _check(self, name: str, *, checksums: bool = False) -> StageCheck:
        """The stage's record and the size check of its files (memoised); with ``checksums`` also the checksums
        of the files its loader reads."""
        check = self._checks.get(name)
        folder = self.stage_dir(name)
        if check is None:
            status, problem = integrity.read_status(folder)
            if status is not None and status.files is not None:
                problem = integrity.check_files(folder, status.files, checksums=False)
            check = self._checks[name] = StageCheck(status, problem)
        if checksums and check.present and not check.checksummed and check.status and check.status.files:
            lazy = get_stage(name).lazy_files
            check.problem = integrity.check_files(folder, check.status.files, checksums=True, lazy=lazy)
            check.checksummed = True
        return check

    def has(self, name: str) -> bool:
        """Whether the stage is built for these settings and its files are intact (sizes)."""
        return self._check(name).present

    def usable(self, name: str) -> bool:
        """Whether a later stage can read this one: built, intact, and not failed."""
        status = self.status(name)
        return status is not None and status.status != "failed"

    def status(self, name: str) -> StageStatus | None:
        check = self._check(name)
        return check.status if check.present else None

    def stage_state(self, name: str) -> str:
        """The stage's outcome and content in short (for failure fingerprints)."""
        return integrity.stage_state(self.status(name))

    def needs_build(self, name: str) -> str | None:
        """Why a build must (re)compute this stage, or ``None`` when its cached result stands: not built,
        damaged (with the file), failed before and its cause changed since, or degraded by the LLM with
        ``rebuild_llm_degraded`` on."""
        check = self._check(name, checksums=True)
        if check.problem:
            return f"damaged ({check.problem})"
        status = check.status
        if status is None:
            return NOT_BUILT
        if status.status == "failed":
            change = integrity.fingerprint_change(status.fingerprint, self.stage_state)
            return f"failed before ({status.reason}); retried because {change}" if change else None
        s = self.settings
        if status.status == "degraded" and s.rebuild_llm_degraded and s.llm_configured and get_stage(name).llm_built:
            return f"degraded ({status.reason}); rebuilt now that an LLM is configured (rebuild_llm_degraded)"
        return None

    def damage_message(self, name: str, problem: str, *, force: bool = False) -> str:
        """One line: which file of which stage is damaged, and the fix."""
        command = f"vidreason index {self.path}" + (f" --force --stages {name}" if force else "")
        return (
            f"{self.path}: stage {name} of its index is damaged: {problem}; fix: `{command}` rebuilds it "
            "(in a writable cache; `vidreason cache verify` checks the whole cache)"
        )

    def existing_statuses(self, stages: Sequence[Stage]) -> dict[str, StageStatus]:
        """Status of each of ``stages`` whose folder exists (intact) for these settings."""
        return {s.name: st for s in stages if (st := self.status(s.name)) is not None}

    def get(self, name: str) -> Any:
        """A stage's artefact, loaded once (its files checksummed first); ``None`` if the stage was skipped,
        failed or is not built. ``IndexCorrupt`` (naming the file and the fix) when it is damaged."""
        if name not in self._cache:
            check = self._check(name, checksums=True)
            if check.problem:
                self.damaged[name] = check.problem
                raise IndexCorrupt(self.damage_message(name, check.problem))
            status, folder = check.status, self.stage_dir(name)
            if status is None or status.status in ("skipped", "failed") or not (folder / "ok").exists():
                self._cache[name] = None
            else:
                try:
                    self._cache[name] = get_stage(name).load(folder)
                except VidreasonError:
                    raise
                except Exception as e:  # files match their record (or predate records) yet do not load
                    self.damaged[name] = f"{folder}: does not load ({one_line(e)[:200]})"
                    raise IndexCorrupt(self.damage_message(name, self.damaged[name], force=True)) from e
        return self._cache[name]

    def commit_stage(
        self, stage: Stage, tmp: Path, out: StageOutput, wall_s: float, fingerprint: dict[str, str] | None = None
    ) -> StageStatus:
        """Save ``out`` into ``tmp``, record its files (sizes, checksums) and rename it into place (the atomic
        commit of one stage). A failed stage is committed with no artefact and the ``fingerprint`` of its cause."""
        status = StageStatus(
            name=stage.name,
            status=out.status,
            reason=out.reason,
            key=self.stage_key(stage.name),
            wall_s=round(wall_s, 4),
            models=out.models,
            params={**stage.params(self.settings), **out.metrics},
            fingerprint=fingerprint or {},
        )
        if out.artefact is not None:
            stage.save(out.artefact, tmp)
            (tmp / integrity.MARKER_FILE).touch()
        status.files = integrity.record_files(tmp)
        storage.write_text_atomic(tmp / integrity.STATUS_FILE, status.model_dump_json(indent=1))
        final = self.stage_dir(stage.name)
        if final.exists():  # forced rebuild, damaged or failed before: replace the old folder
            shutil.rmtree(final)
        storage.fsync_dir(tmp)
        tmp.rename(final)
        self._cache.pop(stage.name, None)
        self._checks[stage.name] = StageCheck(status, checksummed=True)
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

    def _frame_count(self) -> int | None:
        try:
            return len(self.frame_times)
        except (IndexNotFound, IndexCorrupt):  # a partial or damaged index still has provenance to show
            return None

    def summary(self) -> dict[str, Any]:
        """What ``vidreason info`` shows about the index."""
        return {
            "root": str(self.root),
            "content_hash": self.manifest.content_hash,
            "fps": self.manifest.fps,
            "frames": self._frame_count(),
            "stages": {n: s.model_dump(mode="json", exclude=_BULKY) for n, s in self.manifest.stages.items()},
            "degraded": self.degraded,
            "damaged": self.damaged,
            "rebuild_llm_degraded": self.settings.rebuild_llm_degraded,
            "packages": self.manifest.packages,
            "decode_s": self.manifest.decode_s,
        }

    def __repr__(self) -> str:
        return f"VideoIndex({self.path.name!r}, root={str(self.root)!r}, stages={list(self.manifest.stages)})"
