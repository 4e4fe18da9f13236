"""Test helpers for the grounding tests: a plain loop implementation of the TFVTG spec, section 1
(../shared/docs/tfvtg-algorithm.md), written for readability, used as the golden reference of the
vectorised ``localize``. Same numeric conventions (float32 curve and dynamic part, exact window sums,
float32 window positions and IoU), but every frame, window and NMS step is an explicit Python loop."""

from __future__ import annotations

import math

import numpy as np

F32 = np.float32


def _kernel(stride: int) -> list[F32]:
    g = [F32(math.exp(-(x * x) / 2.0) / math.sqrt(2.0 * math.pi)) for x in (-1, 0, 1)]
    if stride < 3:
        return [F32(1.0)]
    if stride == 3:
        return [g[1]]
    return g


def loop_localize(
    scores: np.ndarray,
    duration: float,
    stride: int,
    max_stride: int,
    *,
    nms_thresh: float = 0.3,
    mask_thresh: float = 0.2,
    top_k: int = 10,
    rank_with_dynamic: bool = False,
) -> list[tuple[float, float, float, float]]:
    """``[(start, static_start, end, confidence)]`` following the spec step by step."""
    s = [F32(v) for v in np.asarray(scores, dtype=np.float32)]
    n = len(s)
    fallback = [(0.0, 0.0, 0.0, 1.0)] * 3
    stride = min(stride, n // 2)
    if stride < 1:
        return fallback
    m = [F32(1.0) if v > F32(mask_thresh) else F32(0.0) for v in s]
    x = [F32(v * mm) for v, mm in zip(s, m, strict=True)]
    ker = _kernel(stride)
    smooth = []
    for t in range(n - len(ker) + 1):
        acc = F32(ker[0] * x[t])
        for i in range(1, len(ker)):
            acc = F32(float(ker[i]) * float(x[t + i]) + float(acc))  # one rounding: a fused multiply-add
        smooth.append(acc)
    diff = [F32(smooth[t + 1] - smooth[t]) for t in range(len(smooth) - 1)]
    left = (n - len(diff)) // 2
    d = [F32(0.0)] * left + diff + [F32(0.0)] * (n - len(diff) - left)
    d = [F32(v * mm) for v, mm in zip(d, m, strict=True)]
    ths = F32(0.0005)
    f1 = f2 = f3 = F32(0.0)
    idx, acc_score = 0, 0.0
    dyn_idx, dyn_score = [], []
    for t in range(n):
        f3, f2, f1 = f2, f1, d[t]
        a, b, c = F32(3) * f1, F32(2) * f1 + f2, (f1 + f2) + f3
        if a > ths or b > ths or c > ths:
            acc_score += float(max(a, b, c))
        else:
            idx, acc_score = t, 0.0
        dyn_idx.append(idx)
        dyn_score.append(acc_score)

    total = sum(float(v) for v in x)
    total_n = sum(int(v) for v in m)
    windows = []  # (rank, j, k)
    k = stride
    while k <= min(n, max_stride):
        for j in range(n - k + 1):
            inner = sum(float(x[i]) for i in range(j, j + k))
            inner_n = sum(int(m[i]) for i in range(j, j + k))
            outer_n = total_n - inner_n
            if outer_n == 0:
                continue
            static = inner / k - (total - inner) / outer_n
            if math.isnan(static) or static < -1e3:
                continue
            rank = static + dyn_score[j] if rank_with_dynamic else static
            windows.append((rank, j, k))
        k += stride
    if not windows:
        return fallback
    windows.sort(key=lambda w: -w[0])  # Python's sort is stable
    tn = F32(n)
    pos = [(F32(j) / tn, F32(j + k) / tn) for _, j, k in windows]
    suppressed = [False] * len(windows)
    kept = []
    for i in range(len(windows)):
        if suppressed[i]:
            continue
        kept.append(i)
        for q in range(i + 1, len(windows)):
            inter = min(pos[q][1], pos[i][1]) - max(pos[q][0], pos[i][0])
            union = max(pos[q][1], pos[i][1]) - min(pos[q][0], pos[i][0])
            if max(inter, F32(0.0)) / union > F32(nms_thresh):
                suppressed[q] = True
    kept = kept[:top_k]
    best = max(windows[i][0] for i in kept)
    d32 = F32(duration)
    out = []
    for i in kept:
        rank, j, k = windows[i]
        conf = rank / best if best != 0 else float(rank == best)
        out.append((dyn_idx[j] / n * duration, float(pos[i][0] * d32), float(pos[i][1] * d32), conf))
    return out


def peaked_curve(rng: np.random.Generator, n: int, *, base: float = 0.15, peak: float = 0.35) -> np.ndarray:
    """A synthetic similarity curve: noise around ``base`` with one bump of height ``peak`` somewhere."""
    t = np.arange(n)
    centre, width = rng.uniform(0, n), rng.uniform(1, max(2.0, n / 4))
    curve = base + rng.normal(0, 0.03, n) + (peak - base) * np.exp(-0.5 * ((t - centre) / width) ** 2)
    return curve.astype(np.float32)
