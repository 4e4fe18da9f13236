"""Speed of ``vidreason.tools.grounding.localize`` against a straightforward loop implementation of the same
spec (../shared/docs/tfvtg-algorithm.md, section 1), and the 1-hour-video timing.

Run: ``python benchmarks/grounding_speed.py [--repeats N]``. Pins itself to one CPU core. The loop version is
written here only for the comparison (Python loops per frame, per window and per NMS pair, like the
reference); the script checks that both give identical proposals before timing.
"""

from __future__ import annotations

import argparse
import math
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from vidreason.tools.grounding import localize, window_limit  # noqa: E402

F32 = np.float32


def loop_localize(scores: np.ndarray, duration: float, stride: int, max_stride: int) -> list[tuple]:
    """The spec with plain loops: per-frame smoothing and scan, per-window sums, pairwise NMS."""
    s = np.asarray(scores, dtype=np.float32)
    n = len(s)
    stride = min(stride, n // 2)
    if stride < 1:
        return [(0.0, 0.0, 0.0, 1.0)] * 3
    mask = [F32(1) if v > F32(0.2) else F32(0) for v in s]
    x = [F32(v * m) for v, m in zip(s, mask, strict=True)]
    g = [F32(math.exp(-(t * t) / 2) / math.sqrt(2 * math.pi)) for t in (-1, 0, 1)]
    ker = [F32(1)] if stride < 3 else [g[1]] if stride == 3 else g
    smooth = []
    for t in range(n - len(ker) + 1):
        acc = F32(ker[0] * x[t])
        for i in range(1, len(ker)):
            acc = F32(float(ker[i]) * float(x[t + i]) + float(acc))
        smooth.append(acc)
    diff = [F32(smooth[t + 1] - smooth[t]) for t in range(len(smooth) - 1)]
    left = (n - len(diff)) // 2
    padded = [F32(0)] * left + diff + [F32(0)] * (n - len(diff) - left)
    d = [F32(v * m) for v, m in zip(padded, mask, strict=True)]
    f1 = f2 = f3 = F32(0)
    idx, starts = 0, []
    for t in range(n):
        f3, f2, f1 = f2, f1, d[t]
        if not (F32(3) * f1 > F32(5e-4) or F32(2) * f1 + f2 > F32(5e-4) or (f1 + f2) + f3 > F32(5e-4)):
            idx = t
        starts.append(idx)
    total, total_n = sum(float(v) for v in x), int(sum(mask))
    windows = []
    k = stride
    while k <= min(n, max_stride):
        for j in range(n - k + 1):
            inner = sum(float(v) for v in x[j : j + k])
            outer_n = total_n - int(sum(mask[j : j + k]))
            if outer_n > 0:
                static = inner / k - (total - inner) / outer_n
                if static >= -1e3:
                    windows.append((static, j, k))
        k += stride
    if not windows:
        return [(0.0, 0.0, 0.0, 1.0)] * 3
    windows.sort(key=lambda w: -w[0])
    pos = [(F32(j) / F32(n), F32(j + k) / F32(n)) for _, j, k in windows]
    dead = [False] * len(windows)
    kept = []
    for i in range(len(windows)):
        if dead[i]:
            continue
        kept.append(i)
        for q in range(i + 1, len(windows)):
            inter = min(pos[q][1], pos[i][1]) - max(pos[q][0], pos[i][0])
            union = max(pos[q][1], pos[i][1]) - min(pos[q][0], pos[i][0])
            if max(inter, F32(0)) / union > F32(0.3):
                dead[q] = True
    kept = kept[:10]
    best = max(windows[i][0] for i in kept)
    d32 = F32(duration)
    return [
        (
            starts[windows[i][1]] / n * duration,
            float(pos[i][0] * d32),
            float(pos[i][1] * d32),
            windows[i][0] / best,
        )
        for i in kept
    ]


def curve(n: int, seed: int) -> np.ndarray:
    """Noise around 0.2 with a few bumps: a CLIP-like similarity curve."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    c = 0.19 + rng.normal(0, 0.02, n)
    for centre in rng.uniform(0, n, 4):
        c += 0.1 * np.exp(-0.5 * ((t - centre) / (n / 40 + 2)) ** 2)
    return c.astype(np.float32)


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    n, dur, stride, ms = 200, 66.7, 20, window_limit(200, 0.5)  # a Charades-STA-like video at 3 fps
    c = curve(n, 0)
    fast = [(p.start, p.static_start, p.end, p.confidence) for p in localize(c, dur, stride, ms)]
    assert fast == loop_localize(c, dur, stride, ms), "vectorised and loop implementations disagree"
    t_loop = best_of(lambda: loop_localize(c, dur, stride, ms), max(1, args.repeats // 2))
    t_fast = best_of(lambda: localize(c, dur, stride, ms), args.repeats * 20)
    print(
        f"200-frame curve (stride {stride}, max_stride {ms}): loop {t_loop * 1e3:.1f} ms, "
        f"vectorised {t_fast * 1e3:.3f} ms, speed-up {t_loop / t_fast:.0f}x"
    )

    n = 10_800  # one hour at 3 fps, ActivityNet-like stride 40
    c = curve(n, 1)
    for cap in (None, 1800, 600):
        ms = window_limit(n, 0.5, cap=cap)
        t = best_of(lambda ms=ms: localize(c, 3600.0, 40, ms), args.repeats)
        print(f"1-hour video ({n} frames, stride 40, max_stride {ms}): {t * 1e3:.1f} ms per text")


if __name__ == "__main__":
    main()
