"""localize (spec section 1): golden equality with a loop implementation, hand-computed cases, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from grounding_helpers import loop_localize, peaked_curve
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.grounding import Proposal, iou, localize, window_limit
from vidreason.tools.grounding.localize import Localizer, rise_scan, rise_starts, smoothing_kernel


def _tuples(props: list[Proposal]) -> list[tuple[float, float, float, float]]:
    return [(p.start, p.static_start, p.end, p.confidence) for p in props]


def _curve(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if kind == "peaked":
        return peaked_curve(rng, n)
    if kind == "uniform":
        return rng.uniform(-0.5, 0.6, n).astype(np.float32)
    if kind == "constant":
        return np.full(n, rng.choice([0.1, 0.2, 0.25, 0.5]), dtype=np.float32)
    if kind == "quantised":  # many exact ties
        return np.round(rng.uniform(0.0, 0.5, n), 1).astype(np.float32)
    if kind == "below_mask":
        return rng.uniform(-1.0, 0.2, n).astype(np.float32)
    if kind == "negative":
        return -rng.uniform(0, 1, n).astype(np.float32)
    raise AssertionError(kind)


KINDS = ["peaked", "uniform", "constant", "quantised", "below_mask", "negative"]


@pytest.mark.parametrize("kind", KINDS)
def test_matches_loop_implementation_on_seeded_curves(kind: str) -> None:
    rng = np.random.default_rng(sum(map(ord, kind)))
    for _ in range(15):
        n = int(rng.integers(1, 80))
        stride = int(rng.integers(1, 25))
        max_stride = window_limit(n, float(rng.choice([0.5, 1.0])))
        duration = float(rng.uniform(1, 120))
        curve = _curve(kind, rng, n)
        assert _tuples(localize(curve, duration, stride, max_stride)) == loop_localize(
            curve, duration, stride, max_stride
        )


@pytest.mark.parametrize(("n", "stride"), [(200, 20), (150, 5), (64, 3), (40, 4), (33, 2), (7, 20), (2, 20), (3, 1)])
def test_matches_loop_implementation_stride_cases(n: int, stride: int) -> None:
    """Kernel cases stride < 3, == 3, > 3 (after reduction), T < stride, tiny T."""
    rng = np.random.default_rng(n * 31 + stride)
    for kind in ("peaked", "quantised"):
        curve = _curve(kind, rng, n)
        got = _tuples(localize(curve, 30.0, stride, n // 2 if n > 3 else n))
        assert got == loop_localize(curve, 30.0, stride, n // 2 if n > 3 else n)


@settings(max_examples=40, deadline=None)
@given(
    curve=arrays(np.float32, st.integers(1, 60), elements=st.floats(-1, 1.5, width=32)),
    stride=st.integers(1, 30),
    factor=st.sampled_from([0.5, 1.0]),
    duration=st.floats(0.5, 500),
    nms=st.sampled_from([0.3, 0.5, 0.0]),
)
def test_matches_loop_implementation_property(
    curve: np.ndarray, stride: int, factor: float, duration: float, nms: float
) -> None:
    ms = window_limit(curve.size, factor)
    assert _tuples(localize(curve, duration, stride, ms, nms_thresh=nms)) == loop_localize(
        curve, duration, stride, ms, nms_thresh=nms
    )


def test_rank_with_dynamic_matches_loop_up_to_rounding() -> None:
    rng = np.random.default_rng(7)
    for _ in range(4):
        curve = peaked_curve(rng, 80)
        got = _tuples(localize(curve, 40.0, 5, 40, rank_with_dynamic=True))
        want = loop_localize(curve, 40.0, 5, 40, rank_with_dynamic=True)
        assert np.allclose(got, want, rtol=1e-9, atol=1e-12)
    # the option changes the ranking on a curve with a clear rise
    curve = np.concatenate([np.linspace(0.21, 0.6, 30), np.full(30, 0.3), np.full(60, 0.1)]).astype(np.float32)
    assert _tuples(localize(curve, 40.0, 5, 60)) != _tuples(localize(curve, 40.0, 5, 60, rank_with_dynamic=True))


def test_hand_computed_case() -> None:
    """T=4, stride 1, windows of 1 and 2 frames; scores worked out by hand (see the spec's formulas)."""
    curve = np.array([0.1, 0.6, 0.4, 0.1], dtype=np.float32)
    props = localize(curve, 8.0, 1, 2)
    assert [(p.static_start, p.end) for p in props] == [(2.0, 4.0), (4.0, 6.0), (0.0, 2.0), (6.0, 8.0)]
    assert [p.start for p in props] == [2.0, 4.0, 0.0, 6.0]
    # statics 0.2, -0.2, -0.5, -0.5 (0.6 and 0.4 as float32), divided by the best
    assert [p.confidence for p in props] == pytest.approx([1.0, -1.0, -2.5, -2.5], rel=1e-6)


def test_dynamic_start_moves_back_to_the_rise() -> None:
    x = np.array([0.3, 0.4, 0.5, 0.6, 0.0, 0.0], dtype=np.float32)
    start_idx, score = rise_scan(x, x > 0.2, 1)
    assert start_idx.tolist() == [0, 0, 0, 3, 4, 5]
    assert score[2] > score[1] > score[0] > 0 and score[3] == 0
    # a window starting at frame 2 reports the rise's start (frame 0) as its start
    props = localize(np.array([0.3, 0.4, 0.5, 0.6, 0.1, 0.1], np.float32), 6.0, 1, 3, top_k=20)
    assert any(p.static_start == 2.0 and p.start == 0.0 for p in props)


def test_smoothing_kernels() -> None:
    assert smoothing_kernel(2).tolist() == [1.0]
    assert smoothing_kernel(3) == pytest.approx([0.3989423])
    assert smoothing_kernel(4) == pytest.approx([0.2419707, 0.3989423, 0.2419707])
    assert smoothing_kernel(20).size == 3


@pytest.mark.parametrize(
    "curve",
    [
        np.zeros(0, np.float32),
        np.array([0.9], np.float32),
        np.full(50, 0.1, np.float32),
        -np.ones(9, np.float32),
    ],
)
def test_fallback_when_nothing_survives(curve: np.ndarray) -> None:
    props = localize(curve, 10.0, 20, 25)
    assert _tuples(props) == [(0.0, 0.0, 0.0, 1.0)] * 3


def test_all_masked_in_leaves_no_window() -> None:
    """Every frame above the mask: a window covering everything has nothing outside and is dropped."""
    curve = np.full(4, 0.5, np.float32)
    props = localize(curve, 4.0, 4, 4)  # stride -> 2; k = 2, 4; k = 4 dropped
    assert all(p.end - p.static_start == 2.0 for p in props)


@settings(max_examples=40, deadline=None)
@given(
    curve=arrays(np.float32, st.integers(2, 150), elements=st.floats(-0.5, 1.0, width=32)),
    stride=st.integers(1, 40),
    duration=st.floats(0.1, 3600),
    nms=st.floats(0.0, 1.0),
)
def test_invariants(curve: np.ndarray, stride: int, duration: float, nms: float) -> None:
    props = localize(curve, duration, stride, curve.size, nms_thresh=nms)
    assert 1 <= len(props) <= 10
    eps = duration * 1e-6  # static_start/end are float32 products, start a float64 one (as in the reference)
    for p in props:
        assert 0.0 <= p.start <= p.static_start + eps and p.static_start <= p.end <= duration + eps
    real = [p for p in props if p.end > 0]
    for i, a in enumerate(real):
        for b in real[i + 1 :]:
            assert iou((a.static_start, a.end), (b.static_start, b.end)) <= nms + 1e-5


def test_nms_stops_at_top_k_exactly() -> None:
    rng = np.random.default_rng(3)
    curve = peaked_curve(rng, 400)
    full = localize(curve, 100.0, 5, 200, top_k=10)
    assert _tuples(localize(curve, 100.0, 5, 200, top_k=3)) == _tuples(full[:3])


def _bounded(tile: int = 8) -> Localizer:
    """A localizer that always takes the tile-bound path (small tiles: many bounds to get wrong)."""
    return Localizer(dense_limit=0, tile=tile)


@pytest.mark.parametrize("kind", ["peaked", "uniform", "quantised", "constant"])
@pytest.mark.parametrize("tile", [1, 4, 32])
def test_bounded_selection_matches_loop(kind: str, tile: int) -> None:
    """The tile-bound path (used on long videos) gives the loop's proposals, ties and all."""
    rng = np.random.default_rng(tile * 100 + len(kind))
    for _ in range(6):
        nms = float(rng.choice([0.3, 0.0, 0.7, 1.0]))
        n = int(rng.integers(20, 40 if nms == 1.0 else 160))  # (the loop helper's NMS is quadratic)
        stride = int(rng.integers(1, 12))
        curve = _curve(kind, rng, n)
        ms = window_limit(n, float(rng.choice([0.5, 1.0])))
        want = loop_localize(curve, 50.0, stride, ms, nms_thresh=nms)
        assert _tuples(localize(curve, 50.0, stride, ms, nms_thresh=nms, localizer=_bounded(tile))) == want


@settings(max_examples=40, deadline=None)
@given(
    curve=arrays(np.float32, st.integers(2, 120), elements=st.sampled_from([0.0, 0.1, 0.21, 0.3, 0.3, 0.5, 0.9])),
    stride=st.integers(1, 10),
    tile=st.integers(1, 16),
    top_k=st.integers(1, 12),
)
def test_bounded_selection_property_many_ties(curve: np.ndarray, stride: int, tile: int, top_k: int) -> None:
    ms = window_limit(curve.size, 1.0)
    got = localize(curve, 20.0, stride, ms, top_k=top_k, localizer=_bounded(tile))
    assert _tuples(got) == loop_localize(curve, 20.0, stride, ms, top_k=top_k)


def test_bounded_selection_rank_with_dynamic() -> None:
    rng = np.random.default_rng(5)
    for _ in range(4):
        curve = peaked_curve(rng, 150)
        got = _tuples(localize(curve, 40.0, 4, 75, rank_with_dynamic=True, localizer=_bounded(4)))
        want = loop_localize(curve, 40.0, 4, 75, rank_with_dynamic=True)
        assert np.allclose(got, want, rtol=1e-9, atol=1e-12)


def test_long_curve_bounded_equals_dense() -> None:
    """A 1-hour curve at 3 fps (10,800 frames, about a million windows): bounds and full scoring agree."""
    rng = np.random.default_rng(11)
    n = 10_800
    t = np.arange(n)
    curve = 0.19 + rng.normal(0, 0.02, n)
    for centre in rng.uniform(0, n, 4):
        curve += 0.1 * np.exp(-0.5 * ((t - centre) / 300) ** 2)
    curve = curve.astype(np.float32)
    curve[::7] = np.float32(0.3)  # exact ties
    dense = Localizer(dense_limit=10**9)
    for stride, factor in ((40, 0.5), (20, 1.0)):
        ms = window_limit(n, factor)
        want = _tuples(dense(curve, 3600.0, stride, ms))
        assert _tuples(Localizer()(curve, 3600.0, stride, ms)) == want
        assert _tuples(Localizer()(curve, 3600.0, stride, ms, top_k=40)[:10]) == want


def test_localizer_reuses_tables_across_curves() -> None:
    rng = np.random.default_rng(2)
    loc = Localizer(max_tables=2)
    curves = [peaked_curve(rng, n) for n in (90, 90, 120, 90, 60, 90)]
    for c in curves:
        assert _tuples(loc(c, 30.0, 5, c.size // 2)) == _tuples(localize(c, 30.0, 5, c.size // 2))
    assert loc.table(90, 5, 45) is loc.table(90, 5, 45)
    assert len(loc._tables) <= 2


def test_rise_starts_equal_the_scan() -> None:
    rng = np.random.default_rng(9)
    for stride in (1, 3, 5):
        curve = peaked_curve(rng, 120)
        mask = curve > np.float32(0.2)
        masked = curve * mask
        frames = rng.integers(0, 120, 30)
        assert rise_starts(masked, mask, stride, frames).tolist() == rise_scan(masked, mask, stride)[0][frames].tolist()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scores": np.zeros((2, 3))}, "1-D"),
        ({"scores": np.array([0.3, np.nan])}, "NaN"),
        ({"duration": -1.0}, "duration"),
        ({"stride": 0}, "stride"),
        ({"stride": 2.5}, "stride"),
        ({"max_stride": 3.5}, "max_stride"),
        ({"top_k": 0}, "top_k"),
        ({"nms_thresh": 1.5}, "nms_thresh"),
    ],
)
def test_bad_arguments_raise_config_error(kwargs: dict, match: str) -> None:
    args = {"scores": np.full(10, 0.3), "duration": 5.0, "stride": 2, "max_stride": 5, **kwargs}
    with pytest.raises(ConfigError, match=match):
        localize(**args)


def test_window_limit() -> None:
    assert window_limit(201, 0.5) == 100
    assert window_limit(10800, 0.5, cap=1800) == 1800
    assert window_limit(100, 1.0, cap=1800) == 100
