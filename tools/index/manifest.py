"""The provenance manifest of an index and where an index lives on disk.

Layout under ``<cache_dir>/index/<content-hash>-fps<fps>/``::

    manifest.json          provenance: what probe() found, settings, packages, every stage's status
                           (rewritten atomically after each committed stage)
    stages/<name>-<key>/   one folder per computed stage: artefact files, the ``ok`` marker (when there is an
                           artefact) and status.json, the stage's record: status, reason, and every file's
                           size and checksum (``integrity`` checks them); failed stages have a record too
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from vidreason.tools.core import storage
from vidreason.tools.core.errors import IndexCorrupt, IndexNotFound, one_line
from vidreason.tools.core.media import StageStatus, VideoInfo
from vidreason.tools.core.settings import Settings
from vidreason.tools.media.video import probe

MANIFEST_VERSION = 1


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
    decode_s: float = 0.0  # the decode pass's wall time outside every frame stage (waiting for decoded frames)

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
        return Manifest.model_validate_json(manifest_file.read_bytes())
    except (ValueError, OSError) as e:
        why = "empty file" if isinstance(e, ValueError) and not manifest_file.stat().st_size else one_line(e)
        raise IndexCorrupt(
            f"{manifest_file}: unreadable manifest ({why}); fix: `vidreason index {video}` rewrites it"
        ) from e


__all__ = ["MANIFEST_VERSION", "Manifest", "index_root", "locate", "read_manifest"]
