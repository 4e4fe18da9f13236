"""Handing freed heap memory back to the operating system during long jobs.

glibc keeps freed chunks in its arenas (one per thread that allocates) and returns pages only from the top of
each. An index build frees and reallocates frames, activations and audio blocks in several threads for as long
as the video lasts, so the free-but-resident part of the heap grew with the video's length. ``malloc_trim``
gives every whole free page of every arena back; called every 5 s of an index build of
benchmarks/index_speed.py's 10-minute video (capped at AVX2, paired runs) it took the peak from 1.55 to 1.51 GB
at the same wall time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import time
from collections.abc import Callable


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:  # pragma: no cover - no C library to ask
        return None
    trim = getattr(libc, "malloc_trim", None)  # glibc only (not musl, macOS or Windows)
    return trim if callable(trim) else None


def release_memory() -> bool:
    """Return freed heap pages of every arena to the OS (glibc ``malloc_trim(0)``); False where the C
    library has no such call (a no-op)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class PeriodicRelease:
    """:func:`release_memory` at most every ``every`` seconds: call :meth:`tick` from a loop."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self._last = time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.every:
            release_memory()
            self._last = now


__all__ = ["PeriodicRelease", "release_memory"]
