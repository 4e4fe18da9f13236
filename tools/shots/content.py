"""Content-change shot detector (CPU default): HSV colour histograms and small thumbnails per frame.

Per analysed frame it keeps the distances to the previous ``K`` frames (``K``: the longest gradual transition,
in frames), never the frames, and a 9x16 RGB thumbnail (432 bytes) only where step 3 can look at it: a frame
whose own change or its successor's is at least ``low_threshold`` (the benchmark video: a quarter of them; all
of them were 19 MB over three hours at 4 fps). At :meth:`finalize`:

1. ``d1[t]``: distance of frames ``t - 1`` and ``t`` in [0, 1] (mean of a colour-histogram distance and a
   scaled thumbnail difference); its rolling median is the local motion level ``baseline``.
2. *Active* frames have ``d1 >= max(low_threshold, 1.5 * baseline)``. In each run of active frames, a frame
   with ``d1 >= max(threshold, adaptive_ratio * mean of its 4 neighbours)`` is a hard cut (the ratio test of
   PySceneDetect's AdaptiveDetector: fast motion raises the bar).
3. A run of 2..K frames without a hard cut is one gradual transition when its end frames differ by at least
   ``threshold`` and it is a dissolve (inner thumbnails are blends of the end thumbnails) or a fade (it passes
   through black). Camera motion fails both tests. The boundary goes where half the run's change happened.
4. ``min_shot_len`` non-maximum suppression (strongest first).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.shots.base import Candidate, ShotDetector, cut_time

_H_BINS, _S_BINS, _V_BINS = 12, 4, 4
_THUMB = (9, 16)  # rows, cols
_PIX_SCALE = 4.0  # a mean thumbnail change of 0.25 counts as a full change


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """float32 HSV in [0, 1] of RGB ``[..., 3]``: uint8, or float in [0, 1] (vectorised)."""
    x = rgb.astype(np.float32) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    mx, mn = x.max(axis=-1), x.min(axis=-1)
    delta = mx - mn
    safe = np.where(delta > 0, delta, 1.0)
    h = np.where(mx == r, ((g - b) / safe) % 6.0, np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    h = np.where(delta > 0, h / 6.0, 0.0)
    s = np.where(mx > 0, delta / np.where(mx > 0, mx, 1.0), 0.0)
    return np.stack([h, s, mx], axis=-1).astype(np.float32)


def _block_mean(frames: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Area-average uint8 ``[N, H, W, 3]`` to float32 ``[N, rows, cols, 3]`` in [0, 1] (PIL box filter)."""
    from PIL import Image

    out = np.empty((len(frames), rows, cols, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        out[i] = np.asarray(Image.fromarray(frame).resize((cols, rows), Image.Resampling.BOX))
    return out.astype(np.float32) / 255.0


def frame_features(frames: np.ndarray, with_rgb: bool = False) -> Any:
    """Per frame: a normalised joint HSV histogram ``[N, 192]``, an HSV thumbnail ``[N, 9 * 16 * 3]`` and,
    with ``with_rgb``, the uint8 RGB thumbnail ``[N, 9 * 16 * 3]``."""
    small = _block_mean(frames, 36, 64)  # ~2300 pixels are plenty for a colour histogram
    hsv = rgb_to_hsv(small)
    h = np.minimum((hsv[..., 0] * _H_BINS).astype(np.int64), _H_BINS - 1)
    s = np.minimum((hsv[..., 1] * _S_BINS).astype(np.int64), _S_BINS - 1)
    v = np.minimum((hsv[..., 2] * _V_BINS).astype(np.int64), _V_BINS - 1)
    h = np.where(s == 0, 0, h)  # hue is noise for greys
    bins = (h * _S_BINS + s) * _V_BINS + v
    nbins = _H_BINS * _S_BINS * _V_BINS
    flat = bins.reshape(len(frames), -1)
    offsets = (np.arange(len(frames)) * nbins)[:, None]
    counts = np.bincount((flat + offsets).ravel(), minlength=len(frames) * nbins).reshape(len(frames), nbins)
    hist = counts.astype(np.float32) / flat.shape[1]
    rgb = small.reshape(len(frames), _THUMB[0], 4, _THUMB[1], 4, 3).mean(axis=(2, 4))
    thumb = rgb_to_hsv(rgb).reshape(len(frames), -1)
    if with_rgb:
        return hist, thumb, np.round(rgb * 255).astype(np.uint8).reshape(len(frames), -1)
    return hist, thumb


def colour_histograms(frames: np.ndarray) -> np.ndarray:
    """Normalised joint HSV histograms ``[N, 192]`` float32 of uint8 RGB frames (e.g. for the hierarchy)."""
    hist: np.ndarray = frame_features(frames)[0]
    return hist


def feature_distance(hist_a: np.ndarray, thumb_a: np.ndarray, hist_b: np.ndarray, thumb_b: np.ndarray) -> np.ndarray:
    """Distance in [0, 1] between feature rows (broadcasting over leading axes)."""
    d_hist = 0.5 * np.abs(hist_a - hist_b).sum(axis=-1)
    diff = np.abs(thumb_a - thumb_b)
    diff = diff.reshape(*diff.shape[:-1], -1, 3)
    hue = np.minimum(diff[..., 0], 1.0 - diff[..., 0]) * 2.0  # circular hue
    d_pix = (hue.mean(axis=-1) + diff[..., 1].mean(axis=-1) + diff[..., 2].mean(axis=-1)) / 3.0
    return np.asarray(0.5 * d_hist + 0.5 * np.minimum(1.0, _PIX_SCALE * d_pix), dtype=np.float32)


def _rolling_median(x: np.ndarray, half: int) -> np.ndarray:
    if len(x) == 0:
        return x
    padded = np.pad(x, half, mode="reflect") if len(x) > half else np.pad(x, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.median(windows, axis=1).astype(np.float32)


class ContentDetector(ShotDetector):
    """Colour-histogram + thumbnail change detector with an adaptive threshold (see module docstring)."""

    name = "content"

    def __init__(
        self,
        *,
        threshold: float = 0.3,
        low_threshold: float = 0.06,
        adaptive_ratio: float = 3.0,
        window: float = 2.0,
        max_transition: float = 2.5,
        max_blend_residual: float = 0.3,
        min_shot_len: float = 1.0,
        fps: float = 4.0,
    ) -> None:
        super().__init__(min_shot_len=min_shot_len, fps=fps)
        for key, value, lo, hi in [
            ("threshold", threshold, 0.0, 1.0),
            ("low_threshold", low_threshold, 0.0, 1.0),
            ("adaptive_ratio", adaptive_ratio, 0.0, 100.0),
            ("window", window, 0.0, 600.0),
            ("max_transition", max_transition, 0.0, 60.0),
            ("fps", fps, 1e-3, 1000.0),
        ]:
            if not lo < value <= hi:
                raise ConfigError(f"content detector: {key}={value} is outside ({lo}, {hi}]")
        self.threshold, self.low_threshold, self.adaptive_ratio = threshold, low_threshold, adaptive_ratio
        self.window, self.max_transition, self._rate = window, max_transition, float(fps)
        self.max_blend_residual = max_blend_residual
        # lags are counted in analysed frames at the nominal rate ``fps``
        self._k = max(2, int(np.ceil(max_transition * fps)) + 1)
        self._recent: tuple[np.ndarray, np.ndarray] | None = None  # features of the last K frames, oldest first
        self._lags: list[np.ndarray] = []  # per chunk [n, K]: distance to the frame 1..K back (nan when none)
        # uint8 RGB 9x16 thumbnails [n, 432] of the frames _needs_thumb marks, in frame order; the last frame seen
        # waits (with whether it changed) until its successor's change is known
        self._thumbs: list[np.ndarray] = []
        self._last: tuple[np.ndarray, bool] | None = None

    def _update(self, frames: np.ndarray, timestamps: np.ndarray) -> None:
        hist, thumb, rgb = frame_features(frames, with_rgb=True)
        m = 0 if self._recent is None else len(self._recent[0])
        if self._recent is not None:
            hist, thumb = np.concatenate([self._recent[0], hist]), np.concatenate([self._recent[1], thumb])
        n = len(frames)
        lags = np.full((n, self._k), np.nan, dtype=np.float32)
        for j in range(1, self._k + 1):  # frame m + i against frame m + i - j, where that exists
            first = max(0, j - m)
            if first < n:
                now, back = slice(m + first, m + n), slice(m + first - j, m + n - j)
                lags[first:, j - 1] = feature_distance(hist[now], thumb[now], hist[back], thumb[back])
        self._lags.append(lags)
        self._recent = (hist[-self._k :].copy(), thumb[-self._k :].copy())
        self._keep_thumbs(rgb, np.nan_to_num(lags[:, 0]) >= self.low_threshold)

    def _keep_thumbs(self, rgb: np.ndarray, changed: np.ndarray) -> None:
        self._settle_last(bool(changed[0]))
        self._thumbs.append(rgb[:-1][_needs_thumb(changed)[:-1]])
        self._last = (rgb[-1].copy(), bool(changed[-1]))

    def _settle_last(self, successor_changed: bool) -> None:
        """Keep or drop the last frame's thumbnail, now that its successor's change is known."""
        if self._last is not None:
            thumb, changed = self._last
            if changed or successor_changed:
                self._thumbs.append(thumb[None])
            self._last = None

    def _finalize(self, times: np.ndarray) -> tuple[np.ndarray, list[Candidate], float | None]:
        n = len(times)
        if n < 2:
            return np.zeros(n, np.float32), [], self.threshold
        self._settle_last(False)  # the last frame has no successor
        lags, kept = np.concatenate(self._lags), np.concatenate(self._thumbs)
        d1 = np.nan_to_num(lags[:, 0], nan=0.0)
        d1[0] = 0.0
        needs = _needs_thumb(d1 >= self.low_threshold)  # the frames whose thumbnails ``kept`` holds, in order
        row = np.cumsum(needs) - 1  # a kept frame's row in ``kept``
        base = _rolling_median(d1, max(1, round(self.window * self._rate)))
        active = d1 >= np.maximum(self.low_threshold, 1.5 * base)
        active[0] = False
        candidates: list[Candidate] = []
        for a, b in _runs(active):
            # hard cuts: single frames standing out of their neighbours
            cuts = [c for c in range(a, b + 1) if d1[c] >= max(self.threshold, self.adaptive_ratio * _local(d1, c))]
            candidates += [Candidate(cut_time(times, c), float(d1[c]), times[c - 1], times[c]) for c in cuts]
            length = b - a + 1
            if cuts or length < 2 or length >= self._k:
                continue
            # gradual: frames a-1 and b differ enough, and the run looks like a blend or a fade (not motion)
            change = float(lags[b, length - 1])
            if change < self.threshold:
                continue
            assert needs[a - 1 : b + 1].all()  # a run of changes and the frame before it
            thumbs = kept[row[a - 1] : row[b] + 1].astype(np.float32) / 255.0
            if _is_blend(thumbs, self.max_blend_residual) or _is_fade(thumbs):
                cum = np.cumsum(d1[a : b + 1])
                c = a + int(np.searchsorted(cum, cum[-1] / 2))
                candidates.append(Candidate(cut_time(times, c), change, times[a - 1], times[b]))
        return d1, candidates, self.threshold


def _needs_thumb(changed: np.ndarray) -> np.ndarray:
    """Frames whose thumbnail a gradual transition can include: those that changed (by at least
    ``low_threshold``: every active frame did) and those just before one that did."""
    needs = changed.copy()
    needs[:-1] |= changed[1:]
    return needs


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs ``(first, last)`` of True values."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), (np.flatnonzero(edges == -1) - 1).tolist(), strict=True))


def _local(d1: np.ndarray, c: int) -> float:
    """Mean change of the two frames either side of ``c`` (the motion level a cut must stand out of)."""
    near = np.concatenate([d1[max(1, c - 2) : c], d1[c + 1 : c + 3]])
    return float(near.mean()) if len(near) else 0.0


def _is_blend(thumbs: np.ndarray, max_residual: float) -> bool:
    """Are the inner frames mixes ``(1 - a) * first + a * last`` of the end frames (a dissolve)? Motion is
    not: its frames hold content neither end frame has in that place."""
    first, last = thumbs[0], thumbs[-1]
    span = last - first
    norm2 = float(np.dot(span, span))
    if norm2 < 1e-9 or len(thumbs) < 3:
        return len(thumbs) < 3
    x = thumbs[1:-1] - first
    alpha = np.clip(x @ span / norm2, 0.0, 1.0)
    residual = np.linalg.norm(x - alpha[:, None] * span, axis=1) / np.sqrt(norm2)
    return bool(residual.max() <= max_residual)


def _is_fade(thumbs: np.ndarray) -> bool:
    """Does the run pass through (near) black between brighter end frames (a fade out / in)?"""
    luma = thumbs.reshape(len(thumbs), -1, 3).mean(axis=(1, 2))
    dark = float(luma.min())
    return dark < 0.08 and max(float(luma[0]), float(luma[-1])) > dark + 0.1
