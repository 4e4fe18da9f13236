"""Keyframe selection: near-duplicates are skipped (a static shot costs one frame), busy shots keep up to
``max_frames`` spread over the shot, memory stays bounded, and real clips lose their duplicate frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from caption_helpers import synthetic_frames

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.media.keyframes import KeyframeSelector, frame_distance, select_keyframes, thumbnail


def test_static_shot_costs_one_frame() -> None:
    frames = np.full((12, 48, 64, 3), 90, dtype=np.uint8)
    frames[5] += 2  # sensor noise far under the threshold
    sel = select_keyframes(frames, list(range(100, 112)), [i * 0.5 for i in range(12)])
    assert sel.indices == [100] and sel.timestamps == [0.0]
    assert sel.seen == 12 and sel.duplicates == 11 and sel.skipped == 11


def test_busy_shot_spread_over_time() -> None:
    chunk = synthetic_frames(fps=4.0)
    moving = (chunk.timestamps >= 3) & (chunk.timestamps < 6)
    frames, idx = chunk.frames[moving], chunk.indices[moving]
    sel = select_keyframes(frames, idx, chunk.timestamps[moving], max_frames=4)
    assert len(sel.indices) == 4
    assert sel.indices[0] == idx[0] and sel.indices[-1] == idx[-1]  # first and last moments included
    assert sel.indices == sorted(sel.indices)
    assert all(np.array_equal(f, frames[list(idx).index(i)]) for f, i in zip(sel.frames, sel.indices, strict=True))


def test_alternating_frames_are_not_duplicates_but_repeats_are() -> None:
    frames = np.zeros((6, 32, 32, 3), dtype=np.uint8)
    frames[1::2] = 255
    assert select_keyframes(frames, max_frames=8).duplicates == 0
    frames[:] = 0
    frames[3:] = 255
    sel = select_keyframes(frames, max_frames=8)
    assert sel.indices == [0, 3] and sel.duplicates == 4


def test_candidates_are_bounded_for_long_busy_shots() -> None:
    selector = KeyframeSelector(max_frames=2, threshold=0.0)
    rng = np.random.default_rng(1)
    for i in range(200):
        selector.add(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8), i, float(i))
        assert len(selector._kept) < 8
    sel = selector.result()
    assert len(sel.indices) == 2 and sel.seen == 200 and sel.duplicates == 0


def test_embedding_method() -> None:
    frames = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    emb = np.array([[1.0, 0.0], [0.99, 0.01], [0.0, 1.0], [0.0, 1.0]])
    sel = select_keyframes(frames, method="embedding", embeddings=emb, threshold=0.05)
    assert sel.indices == [0, 2]
    with pytest.raises(ConfigError, match="embedding"):
        KeyframeSelector(method="embedding").add(frames[0], 0, 0.0)
    assert frame_distance(emb[0], emb[2], "embedding") == pytest.approx(1.0)


def test_small_and_odd_frames_and_bad_options() -> None:
    assert thumbnail(np.zeros((5, 7, 3), dtype=np.uint8)).shape == (32, 32)
    with pytest.raises(ConfigError, match="max_frames"):
        KeyframeSelector(max_frames=0)
    with pytest.raises(ConfigError, match="method"):
        KeyframeSelector(method="hash")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"\[H, W, 3\]"):
        thumbnail(np.zeros((5, 7), dtype=np.uint8))


@pytest.mark.shared_data
def test_duplicate_filter_on_a_real_clip(shared_data: Path) -> None:
    from vidreason.tools.media.video import iter_frames

    path = shared_data / "videos" / "videollama_dog_barking.mp4"
    if not path.exists():
        pytest.skip(f"{path} missing")
    selector = KeyframeSelector(max_frames=32, threshold=0.04)
    for chunk in iter_frames(path, 2.0, short_side=112):
        for f, i, t in zip(chunk.frames, chunk.indices, chunk.timestamps, strict=True):
            selector.add(f, int(i), float(t))
    sel = selector.result()
    assert sel.seen >= 13  # 7.2 s at 2 fps
    assert 1 <= len(sel.indices) < sel.seen  # some frames kept, some skipped as near-duplicates
