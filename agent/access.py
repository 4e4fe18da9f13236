"""What a server face (the web viewer, the MCP server) may open: path checks that follow symlinks, the ids
videos are known by, and the registry of videos found in the cache or named by a user.

Shared by ``ui`` and ``agent.mcp`` (neither imports the other). A video's id is a hash of its resolved path,
never the path itself; a path is accepted only once fully resolved (symlinks followed) inside an allowed root.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidreason.tools.core.errors import VideoOpenError

log = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SCAN_MAX_AGE_S = 2.0


class PathNotAllowed(VideoOpenError):
    """A file outside the allowed roots (or not a regular file) was asked for."""


class OutsideAllowedRoots(PathNotAllowed):
    """A video to register lies outside the allowed folders."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, brackets allowed) only reaches this machine."""
    h = host.strip().strip("[]").lower()
    if h in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` lies inside ``root`` once both are fully resolved (symlinks followed)."""
    try:
        path.resolve(strict=True).relative_to(root.resolve(strict=False))
    except (OSError, ValueError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11)
        return False
    return True


def checked_file(path: Path, roots: list[Path]) -> Path:
    """``path`` resolved, if it is a regular file inside one of ``roots``; else ``PathNotAllowed``."""
    try:
        real = path.resolve(strict=True)
    except (OSError, ValueError, RuntimeError) as e:
        raise PathNotAllowed(f"{path.name}: no such file") from e
    if not real.is_file():
        raise PathNotAllowed(f"{path.name}: not a regular file")
    if not any(inside(real, r) for r in roots):
        raise PathNotAllowed(f"{path.name}: outside the allowed folders")
    return real


def video_id(path: Path) -> str:
    """The id a video is known by: a hash of its resolved path (never the path itself)."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


@dataclass
class VideoEntry:
    id: str
    path: Path  # resolved
    source: str  # "manifest", "ui" or "mcp"


class VideoRegistry:
    """Videos a server may serve: id -> resolved path. Thread-safe.

    ``allow_roots``: folders users may register videos from (None: anywhere this user can read)."""

    def __init__(self, cache_dir: Path, allow_roots: list[Path] | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.allow_roots = None if allow_roots is None else [Path(r).expanduser().resolve() for r in allow_roots]
        self._entries: dict[str, VideoEntry] = {}
        self._verified: set[str] = set()
        self._lock = threading.Lock()
        self._scanned: tuple[float, list[tuple[VideoEntry, dict[str, Any]]]] | None = None

    @property
    def index_root(self) -> Path:
        return self.cache_dir / "index"

    def _check_allowed(self, p: Path, shown: str) -> None:
        """``OutsideAllowedRoots`` unless ``p`` lies inside an allowed root (checked on the resolved path, so the
        answer is the same whether the file exists or not, and symlinks cannot lead out)."""
        if self.allow_roots is None:
            return
        try:
            real = p.resolve(strict=False)
        except (OSError, RuntimeError):  # a symlink loop
            real = p.absolute()
        if not any(real == r or r in real.parents for r in self.allow_roots):
            where = "no folder is allowed (start with --allow DIR)" if not self.allow_roots else "the --allow folders"
            raise OutsideAllowedRoots(f"{shown!r}: not registrable here; videos may come from {where}")

    def register(self, path: str | Path, *, source: str = "ui") -> VideoEntry:
        """Register a video file the user named; ``VideoOpenError`` unless it is a regular file that probes
        as a video and (for ``source="ui"``) lies inside the ``allow_roots``."""
        p = Path(path).expanduser()
        shown = str(path)[:200]
        if source == "ui":
            self._check_allowed(p, shown)
        try:
            real = p.resolve(strict=True)
        except RuntimeError as e:  # Python 3.11 reports symlink loops this way
            raise VideoOpenError(f"{shown!r}: symlink loop") from e
        except OSError as e:
            raise VideoOpenError(f"{shown!r}: no such file") from e
        if not real.is_file():
            raise VideoOpenError(f"{shown!r}: not a regular file")
        self._verify(real)
        entry = VideoEntry(id=video_id(real), path=real, source=source)
        with self._lock:
            self._entries.setdefault(entry.id, entry)
            self._verified.add(entry.id)
            return self._entries[entry.id]

    def _verify(self, real: Path) -> None:
        from vidreason.tools.media.video import probe

        probe(real)  # raises VideoOpenError / NoVideoStream for anything that is not a video

    def scan(self, max_age: float = SCAN_MAX_AGE_S) -> list[tuple[VideoEntry, dict[str, Any]]]:
        """Every manifest in the cache (newest first) with its video entry; registers the recorded paths
        that still exist (they are verified as videos before first being served). A scan younger than
        ``max_age`` seconds is reused."""
        with self._lock:
            if self._scanned is not None and time.monotonic() - self._scanned[0] < max_age:
                return list(self._scanned[1])
        out: list[tuple[VideoEntry, dict[str, Any]]] = []
        root = self.index_root
        manifests = sorted(root.glob("*/manifest.json")) if root.is_dir() else []
        for m in manifests:
            if not inside(m, root):  # a symlinked index folder pointing elsewhere
                log.warning("ignoring %s: it resolves outside the cache", m)
                continue
            try:
                data = json.loads(m.read_text())
                raw = Path(str(data["video"]["path"])).expanduser()
                real = raw.resolve(strict=True)
            except (OSError, ValueError, KeyError, TypeError, RuntimeError):
                continue
            if not real.is_file():
                continue
            entry = VideoEntry(id=video_id(real), path=real, source="manifest")
            with self._lock:
                entry = self._entries.setdefault(entry.id, entry)
            data["_root"] = m.parent
            out.append((entry, data))
        out.sort(key=lambda e: -float(e[1].get("updated") or 0))
        with self._lock:
            self._scanned = (time.monotonic(), out)
        return list(out)

    def entries(self) -> list[VideoEntry]:
        with self._lock:
            return list(self._entries.values())

    def get(self, vid: str, *, rescan: bool = True) -> VideoEntry | None:
        """The entry of ``vid``; an unknown id triggers a fresh cache scan unless ``rescan`` is False."""
        with self._lock:
            found = self._entries.get(vid)
        if found is None and rescan:
            self.scan(max_age=0)
            with self._lock:
                found = self._entries.get(vid)
        return found

    def by_path(self, path: str | Path | None, *, rescan: bool = True) -> VideoEntry | None:
        """The registered entry of a recorded path (e.g. a trace's video), if any."""
        if not path:
            return None
        try:
            vid = video_id(Path(path).expanduser())
        except (OSError, ValueError, RuntimeError):
            return None
        return self.get(vid, rescan=rescan)

    def servable(self, vid: str) -> Path:
        """The file of video ``vid`` to serve; ``PathNotAllowed`` for unknown ids or non-video files."""
        entry = self.get(vid)
        if entry is None:
            raise PathNotAllowed(f"unknown video id {vid[:40]!r}")
        if entry.id not in self._verified:
            self._verify(entry.path)
            with self._lock:
                self._verified.add(entry.id)
        return checked_file(entry.path, [entry.path.parent])


__all__ = [
    "OutsideAllowedRoots",
    "PathNotAllowed",
    "VideoEntry",
    "VideoRegistry",
    "checked_file",
    "inside",
    "is_loopback",
    "video_id",
]
