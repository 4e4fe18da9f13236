"""Freed heap memory handed back to the OS during long jobs (glibc ``malloc_trim``)."""

from __future__ import annotations

import ctypes.util
import sys
from pathlib import Path

import pytest

from vidreason.tools.core import memory
from vidreason.tools.core.settings import Settings


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
    monkeypatch.setattr(memory, "_libc_call", lambda name: None)
    assert memory.release_memory() is False


_FRAGMENTS = """
import ctypes, sys
from vidreason.tools.core import memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(24 << 20))  # glibc raises its sliding threshold to the largest block freed
if sys.argv[1] == "fixed":
    assert memory.fix_mmap_threshold(4)
before = libc.mallinfo2().hblks
block = libc.malloc(6 << 20)
print(libc.mallinfo2().hblks - before)  # 1: the block has a map of its own
libc.free(block)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or not ctypes.util.find_library("c"), reason="glibc only")
def test_fixed_mmap_threshold_keeps_big_blocks_out_of_the_heap() -> None:
    """After one big free glibc serves multi-megabyte blocks from the heap (where they fragment it over a long
    build); with the threshold fixed at 4 MB a 6 MB block is mapped on its own."""
    import subprocess

    def mapped(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", _FRAGMENTS, mode], capture_output=True, text=True, check=False)
        if out.returncode and "mallinfo2" in out.stderr:
            pytest.skip("glibc without mallinfo2 (< 2.33)")
        assert out.returncode == 0, out.stderr
        return int(out.stdout.split()[-1])

    assert mapped("sliding") == 0
    assert mapped("fixed") == 1


def test_mmap_threshold_left_alone_when_asked_or_set_by_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(memory, "_libc_call", lambda name: lambda p, v: calls.append((p, v)) or 1)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert memory.fix_mmap_threshold(0) is False
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072")
    assert memory.fix_mmap_threshold(4) is False
    monkeypatch.delenv("GLIBC_TUNABLES")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert memory.fix_mmap_threshold(4) is False
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    assert memory.fix_mmap_threshold(4) is True
    assert calls == [(-3, 4 << 20)]


def test_build_threshold_by_image_tower_precision_and_transcript_length() -> None:
    from vidreason.tools.index.builder import INT8_SWITCH_S, HeapThresholds, _heap_thresholds

    cpu = Settings(profile="fast", device="cpu")
    assert _heap_thresholds(cpu.override(embed_precision="int8")) == (8, None, 0.0)  # lower: +11% wall (its doc)
    assert _heap_thresholds(cpu.override(embed_precision="bf16")) == (4, None, 0.0)
    assert _heap_thresholds(cpu.override(embed_precision="fp16")).start == 4  # invalid here: the stage says so
    assert _heap_thresholds(cpu.override(embed_precision="int8", visual_enabled=False)).start == 4
    assert _heap_thresholds(cpu.override(heap_mmap_threshold_mb=0)) == (0, None, 0.0)
    hour = 3600.0  # a long transcript maps Whisper's 2-8 MB blocks on their own (builder doc)
    assert _heap_thresholds(cpu.override(embed_precision="bf16"), hour) == (2, None, 0.0)
    assert _heap_thresholds(cpu.override(embed_precision="bf16"), 600.0) == (4, None, 0.0)
    assert _heap_thresholds(cpu.override(embed_precision="int8"), hour) == HeapThresholds(8, 2, INT8_SWITCH_S)
    assert _heap_thresholds(cpu.override(heap_mmap_threshold_mb=16), hour) == (16, None, 0.0)


@pytest.mark.parametrize(("switch_s", "calls"), [(2.5, [8, 2]), (99.0, [8])])
def test_build_switches_threshold_once_its_frame_pass_reaches_the_video_time(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, switch_s: float, calls: list[int]
) -> None:
    """An int8 build of a long video keeps 8 MB for the span of a short build, then maps from 2 MB: the decode
    pass sets the later threshold once, at the first chunk that reaches ``switch_s``; a shorter video never."""
    from media import make_cut_video

    from vidreason.tools.index import builder
    from vidreason.tools.index.video_index import VideoIndex

    video = tmp_path / "clip.mp4"
    make_cut_video(video, [("red", 2.0), ("blue", 2.0)], fps=25)
    made: list[int] = []
    monkeypatch.setattr(builder, "fix_mmap_threshold", lambda mb: made.append(mb) or True)
    monkeypatch.setattr(builder, "_heap_thresholds", lambda *a: builder.HeapThresholds(8, 2, switch_s))
    VideoIndex.build(video, settings.override(decode_chunk=1), stages=["frames"])
    assert made == calls
