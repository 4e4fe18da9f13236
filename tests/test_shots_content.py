"""Content shot detector on generated clips with known cuts, dissolves and fades (and a real clip)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from media import decode_frames, has_ffmpeg, make_cut_video, video_duration

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.media import FrameChunk
from vidreason.tools.shots import create_detector, detect_shots, detector_class, tile_shots
from vidreason.tools.shots.content import frame_features

pytestmark = pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg is not installed")
FPS = 4.0


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory: pytest.TempPathFactory):
    """16 s: hard cut at 3, dissolve 5-6, hard cut at 8, fade to black 10-11, hard cut at 13."""
    path = tmp_path_factory.mktemp("shots") / "cuts.mp4"
    segments = [
        ("testsrc2", 3),
        ("red", 3),
        ("smptebars", 3),
        ("mandelbrot", 3),
        ("0x336699", 3),
        ("testsrc2", 3),
    ]
    bounds = make_cut_video(path, segments, transitions={2: ("fade", 1.0), 4: ("fadeblack", 1.0)})
    frames, times = decode_frames(path, FPS, short_side=144)
    return path, bounds, frames, times, video_duration(path)


def _run(frames: np.ndarray, times: np.ndarray, duration: float, chunk: int = 32, **params):
    det = create_detector("content", fps=FPS, **params)
    for i in range(0, len(frames), chunk):
        det.update(frames[i : i + chunk], times[i : i + chunk])
    return det.finalize(times[::4], duration)  # a 1 fps frame table


def test_cuts_dissolve_and_fade_found_within_one_frame(cut_clip) -> None:
    _, bounds, frames, times, duration = cut_clip
    result = _run(frames, times, duration)
    found = [s.start for s in result.shots[1:]]
    assert len(found) == len(bounds), (found, bounds)
    for b, t in zip(bounds, found, strict=True):
        assert b.start - 1 / FPS <= t <= b.end + 1 / FPS, (b, t)
    fade = bounds[3]
    assert fade.kind == "fadeblack" and fade.start <= found[3] <= fade.end  # the boundary lies in the fade


def test_shots_tile_the_video_and_scores_cover_every_frame(cut_clip) -> None:
    _, _, frames, times, duration = cut_clip
    r = _run(frames, times, duration)
    assert r.detector == "content" and r.threshold is not None
    assert r.shots[0].start == 0 and r.shots[-1].end == pytest.approx(duration)
    for a, b in zip(r.shots, r.shots[1:], strict=False):
        assert a.end == b.start and a.end_frame + 1 == b.start_frame
    assert [s.index for s in r.shots] == list(range(len(r.shots)))
    assert r.shots[-1].end_frame == len(times[::4]) - 1
    assert len(r.scores) == len(r.score_times) == len(times)
    assert all(0 <= s <= 1 for s in r.scores)


def test_chunking_does_not_change_the_result(cut_clip) -> None:
    _, _, frames, times, duration = cut_clip
    whole = _run(frames, times, duration, chunk=64)
    for chunk in (1, 5):  # lags reaching back across chunk edges (K = 11 frames at 4 fps)
        assert _run(frames, times, duration, chunk=chunk) == whole


def test_only_thumbnails_a_transition_can_use_are_kept(cut_clip) -> None:
    _, _, frames, times, duration = cut_clip
    det = create_detector("content", fps=FPS)
    for i in range(0, len(frames), 7):
        det.update(frames[i : i + 7], times[i : i + 7])
    result = det.finalize(times[::4], duration)
    assert result == _run(frames, times, duration)
    changed = np.array(result.scores) >= det.low_threshold
    kept = {i for i in range(len(times)) if changed[i] or (i + 1 < len(times) and changed[i + 1])}
    thumbs = frame_features(frames, with_rgb=True)[2]
    assert np.array_equal(np.concatenate(det._thumbs), thumbs[sorted(kept)])  # those frames' and no other's
    assert len(kept) < len(times) - 15  # the still colour and bars segments keep none
    for start, end in [(5.0, 6.0), (10.0, 11.0)]:  # the dissolve and the fade, with the frame before each
        assert {i for i, t in enumerate(times) if start <= t <= end} <= kept


def test_motion_without_cuts_gives_one_shot(tmp_path: Path) -> None:
    path = tmp_path / "still.mp4"
    make_cut_video(path, [("testsrc2", 6)])
    frames, times = decode_frames(path, FPS, short_side=144)
    r = _run(frames, times, video_duration(path))
    assert len(r.shots) == 1


def test_min_shot_len_merges_close_cuts(tmp_path: Path) -> None:
    path = tmp_path / "close.mp4"
    make_cut_video(path, [("red", 3), ("blue", 0.5), ("green", 3)])
    frames, times = decode_frames(path, FPS, short_side=144)
    d = video_duration(path)
    assert len(_run(frames, times, d, min_shot_len=0.25).shots) == 3
    assert len(_run(frames, times, d, min_shot_len=1.0).shots) == 2


def test_feed_uses_the_analysis_frames_of_a_chunk(cut_clip) -> None:
    _, _, frames, times, duration = cut_clip
    extra = np.ones(len(times), dtype=bool)
    extra[1::2] = False  # pretend every other frame was decoded only for the frame table
    chunk = FrameChunk(frames, times, np.arange(len(times)), extra=extra)
    r = detect_shots([chunk], times, duration, "content", fps=FPS / 2)
    assert len(r.score_times) == int(extra.sum())
    assert len(r.shots) >= 4


def test_bad_input_is_rejected() -> None:
    det = create_detector("content")
    with pytest.raises(ConfigError, match="uint8"):
        det.update(np.zeros((2, 8, 8, 3), np.float32), np.array([0.0, 0.25]))
    with pytest.raises(ConfigError, match="timestamps"):
        det.update(np.zeros((2, 8, 8, 3), np.uint8), np.array([0.0]))
    det.update(np.zeros((2, 8, 8, 3), np.uint8), np.array([0.0, 0.25]))
    with pytest.raises(ConfigError, match="increasing"):
        det.update(np.zeros((1, 8, 8, 3), np.uint8), np.array([0.1]))
    with pytest.raises(ConfigError, match="did you mean 'content'"):
        detector_class("contents")
    with pytest.raises(ConfigError, match="threshold"):
        create_detector("content", threshold=2.0)


def test_finalize_twice_is_an_error() -> None:
    det = create_detector("content")
    det.update(np.zeros((3, 8, 8, 3), np.uint8), np.array([0.0, 0.25, 0.5]))
    r = det.finalize(np.array([0.0]), 0.75)
    assert len(r.shots) == 1 and r.shots[0].end == 0.75
    with pytest.raises(RuntimeError):
        det.finalize(np.array([0.0]), 0.75)


def test_tile_shots_gives_short_shots_the_nearest_table_frame() -> None:
    shots = tile_shots([2.0, 2.4], np.array([0.0, 1.0, 2.0, 3.0]), 4.0)
    assert [(s.start, s.end) for s in shots] == [(0.0, 2.0), (2.0, 2.4), (2.4, 4.0)]
    assert [(s.start_frame, s.end_frame) for s in shots] == [(0, 1), (2, 2), (3, 3)]
    shots = tile_shots([1.5, 1.7], np.array([0.0, 1.0, 2.0]), 3.0)
    assert (shots[1].start_frame, shots[1].end_frame) == (2, 2)  # holds no table frame: nearest one
    assert tile_shots([], np.zeros(0), 1.0)[0].start_frame == -1


@pytest.mark.shared_data
def test_real_clip_hard_cuts(shared_data: Path) -> None:
    """PySceneDetect's test clip: cuts at ~1.0 (black leader, merged by min_shot_len) and ~6.0, fade in at
    ~7.2, fade out at ~11.9, fade in at ~13.2 and a dissolve at ~18 (checked by eye on the frames)."""
    path = shared_data / "videos" / "scenedetect_testvideo.mp4"
    if not path.exists():
        pytest.skip(f"{path} not found")
    frames, times = decode_frames(path, FPS, short_side=144)
    r = _run(frames, times, video_duration(path))
    found = [s.start for s in r.shots[1:]]
    expected = [6.0, 7.2, 11.9, 13.2, 18.0]
    assert len(found) == len(expected), found
    assert all(abs(f - e) <= 0.4 for f, e in zip(found, expected, strict=True)), found
