"""Speed of TFVTG ``localize`` / ``ground_query`` against a straightforward loop implementation of the same spec
(../shared/docs/tfvtg-algorithm.md, section 1), on 200-frame curves and on 1-hour curves, in one run.

Run: ``python benchmarks/grounding_speed.py`` (``--quick`` skips the minute-long loop run on the 1-hour curve).
Pins itself to one CPU core with one BLAS/OpenMP thread. Writes ``benchmarks/results/grounding_speed.json``.

* The loop version lives here only for the comparison: Python loops per frame (smoothing, rise scan), per
  window (each window's sum and masked-in count summed over its frames) and per NMS pair (the sorted list is
  walked until 10 windows survive), with the reference's float32 conventions. Before timing, the script
  checks that the loop and the vectorised code give identical proposals.
* The vectorised path is timed warm, as a grounder uses it: one ``Localizer`` per video, so its window tables
  are built once and reused by every text of every query ("cold" = a new table for each call is also shown).
* Per query on a 1-hour video: ``ground_query`` with recorded TFVTG decompositions (the Charades-STA LLM outputs
  when ../shared/data is present, else synthetic ones) on precomputed similarity curves: the text encoder's
  time is not included. A query localizes its sentence, the rewrites and every sub-query paraphrase.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, report  # noqa: E402

from vidreason.tools.grounding import ground_query, localize, window_limit  # noqa: E402
from vidreason.tools.grounding.localize import Localizer  # noqa: E402

F32 = np.float32
LLM_OUTPUTS = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "annotations" / "charades_sta" / "tfvtg_llm_outputs.json"
)
Row = tuple[float, float, float, float]


def loop_localize(scores: np.ndarray, duration: float, stride: int, max_stride: int, top_k: int = 10) -> list[Row]:
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
    xs = [float(v) for v in x]  # exact float64 copies: every window sum below is exact
    ms = [int(v) for v in mask]
    total, total_n = sum(xs), sum(ms)
    windows = []
    k = stride
    while k <= min(n, max_stride):
        for j in range(n - k + 1):
            inner = sum(xs[j : j + k])
            outer_n = total_n - sum(ms[j : j + k])
            if outer_n > 0:
                static = inner / k - (total - inner) / outer_n
                if static >= -1e3:
                    windows.append((static, j, k))
        k += stride
    if not windows:
        return [(0.0, 0.0, 0.0, 1.0)] * 3
    windows.sort(key=lambda w: -w[0])
    tn = F32(n)
    kept: list[int] = []
    dead = [False] * len(windows)
    for i in range(len(windows)):
        if dead[i]:
            continue
        kept.append(i)
        if len(kept) == top_k:
            break
        si, ei = F32(windows[i][1]) / tn, F32(windows[i][1] + windows[i][2]) / tn
        for q in range(i + 1, len(windows)):
            sq, eq = F32(windows[q][1]) / tn, F32(windows[q][1] + windows[q][2]) / tn
            inter = min(eq, ei) - max(sq, si)
            union = max(eq, ei) - min(sq, si)
            if max(inter, F32(0)) / union > F32(0.3):
                dead[q] = True
    best = max(windows[i][0] for i in kept)
    d32 = F32(duration)
    out = []
    for i in kept:
        static, j, k = windows[i]
        out.append((starts[j] / n * duration, float(F32(j) / tn * d32), float(F32(j + k) / tn * d32), static / best))
    return out


def curve(n: int, seed: int) -> np.ndarray:
    """Noise around 0.2 with a few bumps: a CLIP-like similarity curve."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    c = 0.19 + rng.normal(0, 0.02, n)
    for centre in rng.uniform(0, n, 4):
        c += 0.1 * np.exp(-0.5 * ((t - centre) / (n / 40 + 2)) ** 2)
    return c.astype(np.float32)


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    """CPU seconds of each of ``repeats`` calls (this process only: robust on a shared machine; on an idle
    one, pinned to one core, they equal wall-clock seconds)."""
    out = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        out.append(time.process_time() - t0)
    return out


def rows(props: list[Any]) -> list[Row]:
    return [(p.start, p.static_start, p.end, p.confidence) for p in props]


def compare(name: str, n: int, stride: int, max_stride: int, duration: float, seeds: int, loop_repeats: int) -> dict:
    """Loop vs vectorised (warm and cold) on ``seeds`` curves of ``n`` frames; median times."""
    loc = Localizer()
    t_loop, t_warm, t_cold = [], [], []
    for seed in range(seeds):
        c = curve(n, seed)
        want = loop_localize(c, duration, stride, max_stride)
        if rows(loc(c, duration, stride, max_stride)) != want:
            raise SystemExit(f"{name}: vectorised and loop implementations disagree (seed {seed})")
        t_loop += timed(lambda c=c: loop_localize(c, duration, stride, max_stride), loop_repeats)
        t_warm += timed(lambda c=c: loc(c, duration, stride, max_stride), 30 if n < 1000 else 5)
        t_cold += timed(lambda c=c: localize(c, duration, stride, max_stride), 10 if n < 1000 else 2)
    loop_s, warm_s, cold_s = (statistics.median(t) for t in (t_loop, t_warm, t_cold))
    res = {
        "frames": n,
        "stride": stride,
        "max_stride": max_stride,
        "windows": loc.table(n, min(stride, n // 2), max_stride).n_windows,
        "curves": seeds,
        "loop_ms": round(loop_s * 1e3, 3),
        "vectorised_ms": round(warm_s * 1e3, 4),
        "vectorised_cold_ms": round(cold_s * 1e3, 4),
        "speedup": round(loop_s / warm_s, 1),
        "speedup_cold": round(loop_s / cold_s, 1),
        "identical_output": True,
    }
    print(
        f"{name}: {n} frames, {res['windows']} windows: loop {res['loop_ms']:.1f} ms, vectorised "
        f"{res['vectorised_ms']:.3f} ms warm / {res['vectorised_cold_ms']:.3f} ms cold, "
        f"speed-up {res['speedup']:.0f}x warm / {res['speedup_cold']:.0f}x cold"
    )
    return res


def decompositions(limit: int) -> tuple[list[tuple[str, dict[str, Any] | None]], str]:
    """``(sentence, TFVTG response)`` pairs: recorded Charades-STA ones when available, else synthetic."""
    if LLM_OUTPUTS.is_file():
        data = json.loads(LLM_OUTPUTS.read_text())
        out: list[tuple[str, dict[str, Any] | None]] = []
        for ann in data.values():
            for sentence, resp in zip(ann["sentences"], ann["response"], strict=False):
                out.append((sentence, resp if isinstance(resp, dict) else None))
                if len(out) >= limit:
                    return out, str(LLM_OUTPUTS)
        return out, str(LLM_OUTPUTS)
    synth = {
        "relationship": "sequentially",
        "query_json": [
            {"sub_query_id": 0, "descriptions": ["a", "b", "c"]},
            {"sub_query_id": 1, "descriptions": ["d", "e", "f"]},
            {"sub_query_id": 2, "descriptions": ["g", "h", "i"]},
        ],
    }
    return [(f"query {i}", synth if i % 3 else None) for i in range(limit)], "synthetic"


def per_query_1h(n_queries: int) -> dict:
    """Median ``ground_query`` time per query on a 1-hour video at 3 fps (curves precomputed)."""
    n, duration, stride = 10_800, 3600.0, 20
    max_stride = window_limit(n, 0.5)
    queries, source = decompositions(n_queries)
    curves: dict[str, np.ndarray] = {}

    def score_text(text: str) -> np.ndarray:
        if text not in curves:
            curves[text] = curve(n, zlib.crc32(text.encode()))
        return curves[text]

    loc = Localizer()
    per_query, per_text = [], []
    for sentence, dec in queries:  # the curves of this query's texts first: only grounding is timed
        texts = [sentence]
        for sub in (dec or {}).get("query_json", []):
            texts += [d for d in sub.get("descriptions", []) if isinstance(d, str) and d.strip()]
        for t in texts:
            score_text(t)
        t0 = time.process_time()
        ground_query(score_text, sentence, dec, duration, stride, max_stride, localizer=loc)
        dt = time.process_time() - t0
        per_query.append(dt)
        per_text.append(dt / len(set(texts)))
    res = {
        "frames": n,
        "fps": 3,
        "stride": stride,
        "max_stride": max_stride,
        "windows": loc.table(n, stride, max_stride).n_windows,
        "queries": len(queries),
        "decompositions": source,
        "median_query_ms": round(statistics.median(per_query) * 1e3, 2),
        "p90_query_ms": round(float(np.percentile(per_query, 90)) * 1e3, 2),
        "median_ms_per_text": round(statistics.median(per_text) * 1e3, 2),
    }
    print(
        f"1-hour video, {res['queries']} queries ({source}): median {res['median_query_ms']} ms per query, "
        f"p90 {res['p90_query_ms']} ms, {res['median_ms_per_text']} ms per text"
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the loop run on the 1-hour curve")
    ap.add_argument("--queries", type=int, default=60, help="queries for the 1-hour per-query timing")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    results: dict[str, Any] = {"cpu": machine(), "threads": 1, "load_avg_1min_at_start": load}
    # Charades-STA-like: 200 frames at 3 fps, stride 20, max_stride T/2
    results["curve_200"] = compare("200-frame curve", 200, 20, window_limit(200, 0.5), 66.7, 5, 3)
    if not args.quick:  # one hour at 3 fps, stride 40, max_stride T/2: about a million windows
        results["curve_1h"] = compare("1-hour curve", 10_800, 40, window_limit(10_800, 0.5), 3600.0, 1, 1)
    results["per_query_1h"] = per_query_1h(args.queries)
    report("grounding_speed", results)


if __name__ == "__main__":
    main()
