"""Map dataset video ids to files under a folder (any common extension, searched recursively)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from vidreason.tools.core.errors import DatasetError

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS: tuple[str, ...] = (
    ".mp4",
    ".mkv",
    ".webm",
    ".avi",
    ".mov",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".flv",
    ".wmv",
    ".3gp",
    ".ogv",
    ".ts",
)


class VideoLocator:
    """Finds ``<id>.<ext>`` anywhere under ``root``. Ids that carry an extension (``s30-d52.avi``) also match
    by stem. When several files share an id, the first extension in :data:`VIDEO_EXTENSIONS` order wins."""

    def __init__(self, root: str | Path, extensions: tuple[str, ...] = VIDEO_EXTENSIONS):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"videos folder not found: {str(self.root)!r} (expected a directory)")
        rank = {ext: i for i, ext in enumerate(extensions)}
        found: dict[str, Path] = {}
        for dirpath, _dirs, files in os.walk(self.root, followlinks=True):
            for name in sorted(files):
                p = Path(dirpath) / name
                ext = p.suffix.lower()
                if ext not in rank:
                    continue
                best = found.get(p.stem)
                if best is None or rank[ext] < rank[best.suffix.lower()]:
                    found[p.stem] = p
        self._files = found
        self.missing: set[str] = set()
        logger.debug("found %d video files under %s", len(found), self.root)

    def __len__(self) -> int:
        return len(self._files)

    def paths(self) -> list[Path]:
        """Every file found, sorted by id."""
        return [self._files[k] for k in sorted(self._files)]

    def find(self, video_id: str) -> Path | None:
        """The file for ``video_id``, or ``None`` (and the id is remembered in :attr:`missing`)."""
        p = self._files.get(video_id) or self._files.get(Path(video_id).stem)
        if p is None:
            self.missing.add(video_id)
        return p
