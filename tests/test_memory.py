"""Freed heap memory handed back to the OS during long jobs (glibc ``malloc_trim``)."""

from __future__ import annotations

import ctypes.util
import sys

import pytest

from vidreason.tools.core import memory


@pytest.mark.skipif(not sys.platform.startswith("linux") or not ctypes.util.find_library("c"), reason="glibc only")
def test_release_memory_trims_on_glibc() -> None:
    assert memory.release_memory() is True


def test_periodic_release_trims_at_most_every_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    calls: list[float] = []
    monkeypatch.setattr(memory.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(memory, "release_memory", lambda: calls.append(now[0]) or True)
    trimmer = memory.PeriodicRelease(every=5.0)
    for step in range(24):  # a chunk every 0.5 s for 12 s
        now[0] = 100.0 + 0.5 * (step + 1)
        trimmer.tick()
    assert calls == [105.0, 110.0]


def test_release_memory_is_a_no_op_without_malloc_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    assert memory.release_memory() is False
