"""Which files an MCP client may name: only regular files whose real path (every symlink followed) lies inside
one of the allowed roots (``--allow DIR``, repeatable; the current directory by default).

A client sends a path as text: absolute, relative (tried under each root in order) or a ``file://`` URI (its
percent-escapes decoded). Whatever the spelling, the path is resolved first and checked against the resolved
roots second, so ``..``, symlinks pointing out and encoded separators all end at the same check. A path outside
the roots is refused before anything tells whether it exists.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from vidreason.agent.access import PathNotAllowed
from vidreason.tools.core.errors import ConfigError

#: longest path text accepted from a client
MAX_PATH_CHARS = 4096


def _shown(text: str) -> str:
    """The client's text for an error message: one line, bounded."""
    return repr(text[:120] + ("..." if len(text) > 120 else ""))


class AllowedRoots:
    """The folders whose files a client may open (resolved once, at start)."""

    def __init__(self, dirs: Sequence[str | Path]) -> None:
        roots: list[Path] = []
        for d in dirs or [Path.cwd()]:
            try:
                real = Path(d).expanduser().resolve(strict=True)
            except (OSError, ValueError) as e:
                raise ConfigError(f"--allow {d}: no such folder") from e
            if not real.is_dir():
                raise ConfigError(f"--allow {d}: not a folder")
            if real not in roots:
                roots.append(real)
        self.dirs: list[Path] = roots

    def contains(self, path: Path) -> bool:
        """Whether the resolved ``path`` lies inside one of the roots (``path`` must already be resolved)."""
        return any(path == r or path.is_relative_to(r) for r in self.dirs)

    def allows(self, path: str | Path) -> bool:
        """Whether ``path`` (a recorded path, e.g. a cache manifest's or a trace's) resolves inside the roots."""
        try:
            return self.contains(Path(path).expanduser().resolve(strict=True))
        except (OSError, ValueError, RuntimeError):
            return False

    def _candidates(self, text: str) -> list[Path]:
        if text.lower().startswith("file:"):
            parts = urlsplit(text)
            if parts.netloc not in ("", "localhost"):
                raise PathNotAllowed(f"{_shown(text)}: only local file:// URIs are accepted")
            text = unquote(parts.path)
            if "\x00" in text:
                raise PathNotAllowed(f"{_shown(text)}: not a valid path")
        elif "://" in text:
            raise PathNotAllowed(f"{_shown(text)}: only file paths and file:// URIs are accepted")
        p = Path(text).expanduser()
        return [p] if p.is_absolute() else [r / p for r in self.dirs]

    def resolve(self, text: str) -> Path:
        """The real path of the regular file ``text`` names, if it lies inside the roots; else
        ``PathNotAllowed`` with a one-line reason."""
        if not text or not text.strip():
            raise PathNotAllowed("empty path")
        if len(text) > MAX_PATH_CHARS or any(ch in text for ch in ("\x00", "\n", "\r")):
            raise PathNotAllowed(f"{_shown(text)}: not a valid path")
        inside: list[Path] = []
        for candidate in self._candidates(text.strip()):
            try:
                real = Path(os.path.realpath(candidate))  # follows every symlink that exists
            except (OSError, ValueError, RuntimeError):
                continue
            if self.contains(real):
                inside.append(real)
        if not inside:
            raise PathNotAllowed(f"{_shown(text)}: outside the folders this server may read (--allow)")
        for real in inside:
            if real.is_file():
                return real
        if any(real.exists() for real in inside):
            raise PathNotAllowed(f"{_shown(text)}: not a regular file")
        raise PathNotAllowed(f"{_shown(text)}: no such file under the allowed folders")

    def __repr__(self) -> str:
        return f"AllowedRoots({[str(d) for d in self.dirs]})"


__all__ = ["MAX_PATH_CHARS", "AllowedRoots"]
