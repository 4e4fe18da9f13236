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

import numpy as np

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.grounding.proposals import Proposal, fallback_proposals, iou_one_to_many

logger = logging.getLogger(__name__)

#: Rise threshold of the dynamic scan (spec section 1, step 3).
DYNAMIC_THS = 0.0005
#: Windows whose static score is below this are dropped (spec section 1, step 4).
MIN_STATIC = -1e3


def window_limit(n_frames: int, factor: float = 0.5, cap: int | None = None) -> int:
    """``max_stride`` for :func:`localize`: ``int(T * factor)`` (spec section 1, step 2), optionally capped
    at ``cap`` frames (a non-faithful option that bounds the cost on long videos)."""
    limit = int(n_frames * factor)
    return limit if cap is None else min(limit, int(cap))


def _fma32(a: np.float32, x: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """float32 ``fma(a, x, acc)``: the float64 product of two float32 values is exact."""
    return (np.float64(a) * x.astype(np.float64) + acc.astype(np.float64)).astype(np.float32)


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


def rise_scan(masked: np.ndarray, mask: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Dynamic part (spec section 1, step 3) without a loop over frames.

    Returns ``start_idx`` (int64 [T]: the frame where the rise under way at t began) and the accumulated
    dynamic score (float64 [T], used only by ``rank_with_dynamic``). The "rise continues" test at t depends
    only on d[t], d[t-1], d[t-2], so ``start_idx`` is a running maximum of the restart positions."""
    n = masked.size
    kernel = smoothing_kernel(stride)
    taps = kernel.size
    if n < taps:
        return np.zeros(n, dtype=np.int64), np.zeros(n)
    valid = n - taps + 1
    smooth = (kernel[0] * masked[:valid]).astype(np.float32)
    for i in range(1, taps):
        smooth = _fma32(kernel[i], masked[i : i + valid], smooth)
    diff = smooth[1:] - smooth[:-1]
    d = np.zeros(n, dtype=np.float32)
    left = (n - diff.size) // 2
    d[left : left + diff.size] = diff
    d = d * mask.astype(np.float32)
    f2 = np.concatenate([np.zeros(1, np.float32), d[:-1]])
    f3 = np.concatenate([np.zeros(2, np.float32), d[:-2]])[:n]
    ths = np.float32(DYNAMIC_THS)
    c1 = np.float32(3) * d
    c2 = np.float32(2) * d + f2
    c3 = (d + f2) + f3
    cont = (c1 > ths) | (c2 > ths) | (c3 > ths)
    t = np.arange(n, dtype=np.int64)
    last_restart = np.maximum.accumulate(np.where(cont, -1, t))
    start_idx = np.maximum(last_restart, 0)
    gain = np.where(cont, np.maximum(np.maximum(c1, c2), c3).astype(np.float64), 0.0)
    csum = np.concatenate([[0.0], np.cumsum(gain)])
    dyn_score = csum[t + 1] - csum[last_restart + 1]
    return start_idx, dyn_score


def _window_table(
    masked: np.ndarray, mask: np.ndarray, stride: int, max_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Static scores of every kept window in enumeration order (length ascending, then start): returns
    ``(static float64, start int64, length int64)`` (spec section 1, step 4)."""
    n = masked.size
    prefix = np.concatenate([[0.0], np.cumsum(masked.astype(np.float64))])
    count = np.concatenate([[0], np.cumsum(mask.astype(np.int64))])
    total, total_n = prefix[-1], count[-1]
    statics, starts, lengths = [], [], []
    for k in range(stride, min(n, max_len) + 1, stride):
        inner = prefix[k:] - prefix[:-k]
        outer_n = total_n - (count[k:] - count[:-k])
        keep = outer_n > 0
        if not keep.any():
            continue
        j = np.flatnonzero(keep)
        static = inner[j] / k - (total - inner[j]) / outer_n[j]
        ok = static >= MIN_STATIC  # also drops NaN
        statics.append(static[ok])
        starts.append(j[ok])
        lengths.append(np.full(int(ok.sum()), k, dtype=np.int64))
    if not statics:
        return np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(statics), np.concatenate(starts), np.concatenate(lengths)


def _nms_prefix(order: np.ndarray, s32: np.ndarray, e32: np.ndarray, thresh: np.float32, top_k: int) -> list[int]:
    """Greedy NMS over ``order`` (best first), stopping after ``top_k`` survivors; returns their positions
    in ``order``. Walking the sorted list and stopping early is exact (spec section 1, step 5)."""
    s, e = s32[order], e32[order]
    alive = np.ones(order.size, dtype=bool)
    kept: list[int] = []
    i = 0
    while len(kept) < top_k and i < order.size:
        kept.append(i)
        rest = slice(i + 1, None)
        alive[rest] &= ~(iou_one_to_many(s[rest], e[rest], s[i], e[i]) > thresh)
        nxt = np.flatnonzero(alive[rest])
        if nxt.size == 0:
            break
        i = i + 1 + int(nxt[0])
    return kept


def select_top(rank: np.ndarray, s32: np.ndarray, e32: np.ndarray, thresh: float, top_k: int) -> np.ndarray:
    """Indices of the first ``top_k`` NMS survivors of a stable descending sort of ``rank``.

    Only a prefix of the order is sorted (all values >= the m-th best, ties included), grown until it holds
    ``top_k`` survivors: the greedy walk on a prefix equals the walk on the full list."""
    n = rank.size
    neg = -rank
    thr = np.float32(thresh)
    m = min(n, max(256, 64 * top_k))
    while True:
        if m >= n:
            order = np.argsort(neg, kind="stable")
        else:
            kth = neg[np.argpartition(neg, m - 1)[:m]].max()
            cand = np.flatnonzero(neg <= kth)
            order = cand[np.argsort(neg[cand], kind="stable")]
        kept = _nms_prefix(order, s32, e32, thr, top_k)
        if len(kept) >= top_k or order.size >= n:
            return order[kept]
        m *= 4


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
) -> list[Proposal]:
    """Ranked proposals for one similarity curve (spec section 1).

    ``scores`` is the curve over the T sampled frames; ``duration`` the video length in seconds; ``stride``
    the dataset stride in frames BEFORE the ``min(stride, T // 2)`` reduction (step 2); ``max_stride`` the
    longest window in frames, already computed as ``int(T * factor)`` (see :func:`window_limit`).
    Defaults reproduce the reference; ``rank_with_dynamic=True`` ranks by static + dynamic score (section 5).
    Returns at most ``top_k`` proposals, best first, or three ``[0, 0]`` proposals of confidence 1 when no
    window survives (a curve of fewer than 2 frames, on which the reference fails, gives the same)."""
    curve = np.asarray(scores, dtype=np.float32)
    _validate(curve, float(duration), stride, max_stride, top_k, nms_thresh)
    n = curve.size
    red = min(int(stride), n // 2)
    if red < 1:
        logger.warning("curve of %d frame(s) is too short to ground; returning the fallback proposals", n)
        return fallback_proposals()
    mask = curve > np.float32(mask_thresh)
    masked = curve * mask.astype(np.float32)
    static, starts, lengths = _window_table(masked, mask, red, int(max_stride))
    if static.size == 0:
        return fallback_proposals()
    start_idx, dyn_score = rise_scan(masked, mask, red)
    rank = static + dyn_score[starts] if rank_with_dynamic else static
    t32 = np.float32(n)
    s32 = starts.astype(np.float32) / t32
    e32 = (starts + lengths).astype(np.float32) / t32
    top = select_top(rank, s32, e32, nms_thresh, top_k)
    best = rank[top].max()
    if best != 0:
        conf = rank[top] / best
    else:
        logger.warning("best ranking score is exactly 0 (flat curve); confidences set to 1 for ties, else 0")
        conf = (rank[top] == best).astype(np.float64)
    d32 = np.float32(duration)
    return [
        Proposal(
            start=float(start_idx[starts[i]] / n * float(duration)),
            static_start=float(s32[i] * d32),
            end=float(e32[i] * d32),
            confidence=float(c),
        )
        for i, c in zip(top.tolist(), conf.tolist(), strict=True)
    ]
