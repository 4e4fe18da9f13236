"""Handing freed heap memory back to the operating system during long jobs.

glibc keeps freed chunks in its arenas (one per thread that allocates) and returns pages only from the top of
each. An index build frees and reallocates frames, activations and audio blocks in several threads for as long
as the video lasts, so the free-but-resident part of the heap grew with the video's length. ``malloc_trim``
gives every whole free page of every arena back; called every 5 s of an index build of
benchmarks/index_speed.py's 10-minute video (capped at AVX2, paired runs) it took the peak from 1.55 to 1.51 GB
at the same wall time.

Trimming cannot undo fragmentation, though: glibc serves an allocation from a memory map of its own only above
a threshold that it raises to the largest block freed so far (up to 32 MB), so after the first big free, model
weights and multi-megabyte transients (batches of frames and activations) come from the arenas, between small
allocations that live for the whole build, and the arenas grow. With :func:`fix_mmap_threshold` at 4 MB from the
start of a build (fixed: every block from 4 MB up is mapped and unmapped on its own), the 180-minute build of
benchmarks/index_speed.py held 1.29 instead of 1.41 GB after 5 minutes and 1.32 instead of 1.45 GB after 8.6
minutes (arenas 0.49 instead of 1.29 GB), and the 10-minute build peaked 95 MB lower at the same speed (paired
runs, bf16 image tower). Not with the int8 tower: mapping its per-layer buffers at every batch cost 12% of the
wall time, so there the builder maps from 8 MB (only the 15-20 MB blocks: 2% more wall time, 54 MB lower at 10
minutes, 88 MB at 180, than glibc's sliding threshold).
What 4 or 8 MB leave is Whisper's 2-8 MB blocks fragmenting the transcript thread's arena (+140 MB over 180
minutes); a build that transcribes 20 minutes or more maps from 2 MB, with the int8 tower after its first 10
minutes of video (``builder._heap_thresholds``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


@functools.lru_cache(maxsize=2)
def _libc_call(name: str) -> Callable[..., int] | None:
    """glibc's ``malloc_trim`` or ``mallopt``; None elsewhere (musl, macOS, Windows)."""
    lib = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(lib) if lib else None
    except OSError:  # pragma: no cover - no C library to ask
        return None
    call = getattr(libc, name, None)
    return call if callable(call) else None


def fix_mmap_threshold(megabytes: int) -> bool:
    """Give every heap block of ``megabytes`` MB or more a memory map of its own, from now on, process-wide
    (glibc ``mallopt(M_MMAP_THRESHOLD)``; see the module doc). 0, a threshold the user set through glibc's
    environment (``MALLOC_MMAP_THRESHOLD_``, ``GLIBC_TUNABLES``) or a C library without ``mallopt`` leave the
    allocator as it is; returns whether the threshold was set."""
    if megabytes <= 0 or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    if "mmap_threshold" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    mallopt = _libc_call("mallopt")
    if mallopt is None:
        return False
    done = bool(mallopt(_M_MMAP_THRESHOLD, megabytes << 20))
    if not done:  # pragma: no cover - glibc refuses values above its maximum (32 MB on 64-bit)
        log.warning("glibc refused an mmap threshold of %d MB", megabytes)
    return done


def release_memory() -> bool:
    """Return freed heap pages of every arena to the OS (glibc ``malloc_trim(0)``); False where the C
    library has no such call (a no-op)."""
    trim = _libc_call("malloc_trim")
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


__all__ = ["PeriodicRelease", "fix_mmap_threshold", "release_memory"]
