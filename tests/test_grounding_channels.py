"""Text-span channels, curve mixing and the OOD padding option (spec section 5)."""

from __future__ import annotations

import numpy as np
import pytest

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.media import Span, TranscriptSegment
from vidreason.tools.grounding import (
    localize,
    mix_curves,
    pad_curve,
    pad_features,
    pad_frames,
    shift_spans,
    spans_to_curve,
    text_channel_curve,
)


def test_spans_to_curve_max_mean_fill_and_short_spans() -> None:
    times = np.arange(10) / 2.0  # 0, 0.5, ..., 4.5
    spans = [(0.5, 1.5), (1.0, 2.0), (3.1, 3.2)]  # the last covers no frame time -> nearest (3.0)
    assert spans_to_curve(spans, [0.3, 0.6, 0.9], times, fill=-1).tolist() == pytest.approx(
        [-1, 0.3, 0.6, 0.6, 0.6, -1, 0.9, -1, -1, -1]
    )
    mean = spans_to_curve(spans, [0.3, 0.6, 0.9], times, reduce="mean")
    assert mean[2] == pytest.approx(0.45) and mean[1] == pytest.approx(0.3) and mean[0] == 0
    segs = [TranscriptSegment(id=0, start=4.0, end=9.0, text="hi"), Span(start=0.0, end=0.0)]
    assert spans_to_curve(segs, [0.5, 0.7], times).tolist() == pytest.approx([0.7] + [0] * 7 + [0.5, 0.5])
    assert spans_to_curve([], [], times).tolist() == [0.0] * 10


def test_spans_to_curve_errors() -> None:
    with pytest.raises(ConfigError, match="one score per span"):
        spans_to_curve([(0, 1)], [0.1, 0.2], [0.0, 1.0])
    with pytest.raises(ConfigError, match="ends before"):
        spans_to_curve([(2, 1)], [0.1], [0.0, 1.0])
    with pytest.raises(ConfigError, match="ascending"):
        spans_to_curve([(0, 1)], [0.1], [1.0, 0.0])


def test_text_channel_grounds_like_any_curve() -> None:
    times = np.arange(90) / 3.0
    spans = [(0, 10), (10, 20), (20, 30)]
    emb = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    curve = text_channel_curve(spans, emb, np.array([0.0, 1.0]), times)
    assert curve[0] == 0 and curve[45] == pytest.approx(0.8) and curve[80] == pytest.approx(1.0)
    best = localize(curve, 30.0, 20, 45)[0]
    assert 20.0 <= best.static_start < best.end <= 30.0  # inside the best-matching span


def test_mix_curves() -> None:
    a = np.array([0.0, 1.0, 2.0])
    b = np.array([10.0, 10.0, 30.0])
    assert mix_curves([a, b], [3, 1]).tolist() == pytest.approx([0.0, 0.375, 1.0])
    assert mix_curves([a, b], normalize="none").tolist() == pytest.approx([5.0, 5.5, 16.0])
    assert mix_curves([a, np.ones(3)]).tolist() == pytest.approx([0.0, 0.25, 0.5])  # flat curve -> zeros
    z = mix_curves([a], normalize="zscore")
    assert z.mean() == pytest.approx(0) and z.std() == pytest.approx(1)
    with pytest.raises(ConfigError, match="equal lengths"):
        mix_curves([a, np.ones(4)])
    with pytest.raises(ConfigError, match="weights"):
        mix_curves([a, b], [1, -1])
    with pytest.raises(ConfigError):
        mix_curves([])


def test_ood_padding_is_seeded_and_shifts_ground_truth() -> None:
    curve = np.linspace(0.1, 0.4, 93).astype(np.float32)  # 31 s at 3 fps
    padded, dur = pad_curve(curve, 31.0, 10.0, seed=1)
    assert pad_frames(93, 31.0, 10.0) == 30 and padded.shape == (123,) and dur == 41.0
    assert padded.dtype == np.float32 and np.array_equal(padded[30:], curve)
    assert np.array_equal(padded, pad_curve(curve, 31.0, 10.0, seed=1)[0])
    assert not np.array_equal(padded, pad_curve(curve, 31.0, 10.0, seed=2)[0])
    assert (padded[:30] < 0.2).mean() > 0.9  # noise similarities stay mostly under the mask
    feats = np.ones((93, 1, 4), dtype=np.float32)
    pf, dur2 = pad_features(feats, 31.0, 15.0, seed=0)
    assert pf.shape == (138, 1, 4) and dur2 == 46.0 and np.array_equal(pf[45:], feats)
    assert shift_spans([(1.0, 2.0), [3.0, 4.5]], 10.0) == [(11.0, 12.0), (13.0, 14.5)]
    with pytest.raises(ConfigError):
        pad_frames(10, 0.0, 1.0)
