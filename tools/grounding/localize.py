"""One similarity curve to ranked proposals: TFVTG's dynamic/static scoring, vectorised
(spec: ../shared/docs/tfvtg-algorithm.md, section 1; options from section 5).

Numerics (faithful mode). The reference computes on float32 tensors. We reproduce it as follows:

* the curve is cast to float32 and masked with ``s > float32(0.2)`` (torch compares a float32 tensor with a
  Python float in float32);
* the dynamic part is computed in float32 exactly as torch's CPU ``conv1d`` does it (a fused multiply-add
  chain over the taps, emulated through float64, which is exact for a float32 product) followed by float32
  differences and float32 threshold tests, so the rise starts match bit for bit;
* window positions ``j/T`` and ``(j+k)/T`` are float32 divisions and the NMS IoU is computed in float32 with
  the reference's formula and a float32 threshold, so suppression decisions on exact IoU ties match;
* window sums are NOT reproduced in float32: the reference's float32 convolution sums round in an order that
  depends on the backend (CPU FMA chain, cuDNN, TF32), which cannot be matched in general. We use float64
  prefix sums of the float32 values, which are exact (masked values are multiples of 2**-26 and below 2**27
  in total), then the static score in float64. The ranking therefore equals the exact-arithmetic ranking; it
  can differ from the reference only between windows whose scores differ by less than float32 rounding
  (near-ties), and exact ties stay exact ties, broken by a stable sort in the reference's enumeration order
  (window length ascending, then start ascending);
* reported ``static_start``/``end`` are float32 products ``float32(j/T) * float32(duration)`` and ``start``
  is the float64 ``(start_idx / T) * duration``, as in the reference.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict

import numpy as np

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.grounding.proposals import Proposal, fallback_proposals
from vidreason.tools.grounding.windows import DENSE_LIMIT, TILE, CurveSums, WindowTable, select

logger = logging.getLogger(__name__)

#: Rise threshold of the dynamic scan (spec section 1, step 3).
DYNAMIC_THS = 0.0005


def window_limit(n_frames: int, factor: float = 0.5, cap: int | None = None) -> int:
    """``max_stride`` for :func:`localize`: ``int(T * factor)`` (spec section 1, step 2), optionally capped
    at ``cap`` frames (a non-faithful option that bounds the cost on long videos)."""
    limit = int(n_frames * factor)
    return limit if cap is None else min(limit, int(cap))


def smoothing_kernel(stride: int) -> np.ndarray:
    """The float32 smoothing taps of the dynamic part for a (reduced) stride (spec section 1, step 3):
    ``[1]`` below 3, the single tap ``[g(0)]`` at 3, ``[g(-1), g(0), g(1)]`` above (g not normalised)."""
    return _KERNELS[min(max(stride, 2), 4)]


def _gauss_taps(half: int) -> np.ndarray:
    x = np.arange(-half, half + 1)
    taps = (np.exp(-(x**2) / 2.0) / np.sqrt(2.0 * np.pi)).astype(np.float32)
    taps.setflags(write=False)
    return taps


_KERNELS = {2: np.ones(1, dtype=np.float32), 3: _gauss_taps(0), 4: _gauss_taps(1)}
_KERNELS[2].setflags(write=False)
#: the taps as float64 scalars (exact), by number of taps
_KERNELS64 = {k.size: [np.float64(t) for t in k] for k in _KERNELS.values()}
_THREE, _TWO, _THS = np.float32(3), np.float32(2), np.float32(DYNAMIC_THS)


def _rise_terms(masked: np.ndarray, mask: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(continues, gain)`` of the dynamic scan: whether the rise continues at each frame (float32 tests as
    the reference makes them) and ``max(3 f1, 2 f1 + f2, f1 + f2 + f3)``; None when T < kernel size."""
    n = masked.size
    kernel = smoothing_kernel(stride)
    taps = kernel.size
    if n < taps:
        return None
    valid = n - taps + 1
    smooth = kernel[0] * masked[:valid] if taps > 1 else masked  # a float32 product, as torch rounds it
    if taps > 1:
        # torch's CPU conv1d adds each further tap with a fused multiply-add: emulated in float64, where the
        # product of two float32 values is exact, then rounded once to float32
        x64 = masked.astype(np.float64)
        for i, tap in enumerate(_KERNELS64[taps][1:], start=1):
            smooth = (tap * x64[i : i + valid] + smooth).astype(np.float32)
    padded = np.zeros(n + 2, dtype=np.float32)  # d[t] at padded[t + 2]: d[t-1], d[t-2] are shifted views
    d = padded[2:]
    left = (n - valid + 1) // 2
    np.subtract(smooth[1:], smooth[:-1], out=d[left : left + valid - 1])
    d *= mask
    f2, f3 = padded[1:-1], padded[:-2]
    best = np.maximum(np.maximum(_THREE * d, _TWO * d + f2), (d + f2) + f3)  # float32, as the reference
    return best > _THS, best  # the rise continues when any of the three exceeds ths


def rise_scan(masked: np.ndarray, mask: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Dynamic part (spec section 1, step 3) without a loop over frames.

    Returns ``start_idx`` (int64 [T]: the frame where the rise under way at t began) and the accumulated
    dynamic score (float64 [T], used only by ``rank_with_dynamic``). The "rise continues" test at t depends
    only on d[t], d[t-1], d[t-2], so ``start_idx`` is a running maximum of the restart positions."""
    n = masked.size
    terms = _rise_terms(masked, mask, stride)
    if terms is None:
        return np.zeros(n, dtype=np.int64), np.zeros(n)
    cont, best = terms
    t = np.arange(n, dtype=np.int64)
    last_restart = np.maximum.accumulate(np.where(cont, -1, t))
    start_idx = np.maximum(last_restart, 0)
    gain = np.where(cont, best.astype(np.float64), 0.0)
    csum = np.concatenate([[0.0], np.cumsum(gain)])
    dyn_score = csum[t + 1] - csum[last_restart + 1]
    return start_idx, dyn_score


def rise_starts(masked: np.ndarray, mask: np.ndarray, stride: int, frames: np.ndarray) -> np.ndarray:
    """``rise_scan(...)[0][frames]`` without building the whole array: the last restart at or before each
    frame (0 when none)."""
    terms = _rise_terms(masked, mask, stride)
    if terms is None:
        return np.zeros(len(frames), dtype=np.int64)
    last_restart = np.maximum.accumulate(np.where(terms[0], 0, np.arange(masked.size)))
    out: np.ndarray = last_restart[frames]
    return out


def _validate(scores: np.ndarray, duration: float, stride: int, max_stride: int, top_k: int, nms: float) -> None:
    if scores.ndim != 1:
        raise ConfigError(f"scores must be a 1-D curve over the sampled frames; got shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise ConfigError("scores contain NaN or infinite values; a similarity curve must be finite")
    if not (math.isfinite(duration) and duration >= 0):
        raise ConfigError(f"duration must be a finite number of seconds >= 0; got {duration!r}")
    if int(stride) != stride or stride < 1:
        raise ConfigError(f"stride must be an integer >= 1 (frames); got {stride!r}")
    if int(max_stride) != max_stride:
        raise ConfigError(f"max_stride must be an integer number of frames; got {max_stride!r}")
    if top_k < 1:
        raise ConfigError(f"top_k must be >= 1; got {top_k!r}")
    if not 0.0 <= nms <= 1.0:
        raise ConfigError(f"nms_thresh must be in [0, 1]; got {nms!r}")


class Localizer:
    """:func:`localize` with its window tables kept between calls.

    A table (:class:`~.windows.WindowTable`) depends only on the number of frames, the reduced stride and the
    longest window, so every text and every query of one video reuses the same one; hold one ``Localizer``
    per video (or per grounder) and call it like :func:`localize`. The newest ``max_tables`` tables are kept.
    Safe to share between threads (tables are read-only once built)."""

    def __init__(self, max_tables: int = 8, *, dense_limit: int = DENSE_LIMIT, tile: int = TILE):
        self.max_tables = max_tables
        self.dense_limit = dense_limit
        self.tile = tile
        self._tables: OrderedDict[tuple[int, int, int], WindowTable] = OrderedDict()
        self._lock = threading.Lock()

    def table(self, n_frames: int, stride: int, max_len: int) -> WindowTable:
        """The table of ``(T, reduced stride, longest window)``, built on first use."""
        key = (int(n_frames), int(stride), max(min(int(n_frames), int(max_len)), 0))
        with self._lock:
            table = self._tables.get(key)
            if table is not None:
                self._tables.move_to_end(key)
                return table
        table = WindowTable(*key, tile=self.tile)
        with self._lock:
            self._tables[key] = table
            while len(self._tables) > self.max_tables:
                self._tables.popitem(last=False)
        return table

    def __call__(
        self,
        scores: np.ndarray,
        duration: float,
        stride: int,
        max_stride: int,
        *,
        nms_thresh: float = 0.3,
        mask_thresh: float = 0.2,
        top_k: int = 10,
        rank_with_dynamic: bool = False,
    ) -> list[Proposal]:
        """See :func:`localize`."""
        curve = np.asarray(scores, dtype=np.float32)
        _validate(curve, float(duration), stride, max_stride, top_k, nms_thresh)
        n = curve.size
        red = min(int(stride), n // 2)
        if red < 1:
            logger.warning("curve of %d frame(s) is too short to ground; returning the fallback proposals", n)
            return fallback_proposals()
        mask = curve > np.float32(mask_thresh)
        masked = curve * mask
        dyn = rise_scan(masked, mask, red)[1] if rank_with_dynamic else None
        table = self.table(n, red, int(max_stride))
        # the tile bounds need non-negative masked values (non-decreasing prefix sums)
        dense = self.dense_limit if mask_thresh >= 0 else table.n_windows
        rank, starts, lengths = select(table, CurveSums(masked, mask, dyn), nms_thresh, top_k, dense_limit=dense)
        if rank.size == 0:
            return fallback_proposals()
        best = rank.max()
        if best != 0:
            conf = rank / best
        else:
            logger.warning("best ranking score is exactly 0 (flat curve); confidences set to 1 for ties, else 0")
            conf = (rank == best).astype(np.float64)
        rise = rise_starts(masked, mask, red, starts).tolist()
        # float32 window bounds j / T and (j + k) / T times float32(duration), as the reference reports them
        bounds = np.stack([starts, starts + lengths]).astype(np.float32) / np.float32(n) * np.float32(duration)
        dur = float(duration)
        return [
            Proposal(r / n * dur, a, b, c) for r, a, b, c in zip(rise, *bounds.tolist(), conf.tolist(), strict=True)
        ]


def localize(
    scores: np.ndarray,
    duration: float,
    stride: int,
    max_stride: int,
    *,
    nms_thresh: float = 0.3,
    mask_thresh: float = 0.2,
    top_k: int = 10,
    rank_with_dynamic: bool = False,
    localizer: Localizer | None = None,
) -> list[Proposal]:
    """Ranked proposals for one similarity curve (spec section 1).

    ``scores`` is the curve over the T sampled frames; ``duration`` the video length in seconds; ``stride``
    the dataset stride in frames BEFORE the ``min(stride, T // 2)`` reduction (step 2); ``max_stride`` the
    longest window in frames, already computed as ``int(T * factor)`` (see :func:`window_limit`).
    Defaults reproduce the reference; ``rank_with_dynamic=True`` ranks by static + dynamic score (section 5).
    ``localizer`` reuses window tables across calls (pass one per video); without it a table is built for
    this call. Returns at most ``top_k`` proposals, best first, or three ``[0, 0]`` proposals of confidence 1
    when no window survives (a curve of fewer than 2 frames, on which the reference fails, gives the same)."""
    return (localizer or Localizer(max_tables=1))(
        scores,
        duration,
        stride,
        max_stride,
        nms_thresh=nms_thresh,
        mask_thresh=mask_thresh,
        top_k=top_k,
        rank_with_dynamic=rank_with_dynamic,
    )
