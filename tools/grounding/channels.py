"""Similarity curves from other channels than CLIP frames: text spans (transcript segments, captions, OCR)
mapped onto the frame timeline, and weighted mixes of curves. :func:`localize` does not care where a curve
comes from (spec: ../shared/docs/tfvtg-algorithm.md, section 1 "Notation": one value per sampled frame)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from vidreason.tools.core.errors import ConfigError

logger = logging.getLogger(__name__)

Normalize = Literal["minmax", "zscore", "none"]


def _span_bounds(spans: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of spans given as objects with ``.start``/``.end`` or as ``(start, end)`` pairs."""
    st, en = [], []
    for s in spans:
        a, b = (s.start, s.end) if hasattr(s, "start") else (s[0], s[1])
        st.append(float(a))
        en.append(float(b))
    starts, ends = np.asarray(st, dtype=np.float64), np.asarray(en, dtype=np.float64)
    bad = np.flatnonzero(~(ends >= starts))
    if bad.size:
        i = int(bad[0])
        raise ConfigError(f"span {i} ends before it starts: [{starts[i]}, {ends[i]}]")
    return starts, ends


def spans_to_curve(
    spans: Sequence[Any],
    scores: Sequence[float] | np.ndarray,
    frame_times: Sequence[float] | np.ndarray,
    *,
    fill: float = 0.0,
    reduce: Literal["max", "mean"] = "max",
) -> np.ndarray:
    """Per-frame curve from scored text spans (e.g. transcript segments and their similarity to a query).

    Frame i takes the score of the spans whose ``[start, end]`` contains ``frame_times[i]`` (``max`` or
    ``mean`` where several overlap) and ``fill`` where none does. A span that contains no frame time (shorter
    than the frame spacing) is assigned to the frame nearest its midpoint.
    Returns float32 ``[len(frame_times)]``."""
    ft = np.asarray(frame_times, dtype=np.float64)
    vals = np.asarray(scores, dtype=np.float64)
    if ft.ndim != 1 or (ft.size > 1 and np.any(np.diff(ft) < 0)):
        raise ConfigError("frame_times must be a 1-D ascending array of seconds")
    starts, ends = _span_bounds(spans)
    if vals.shape != starts.shape:
        raise ConfigError(f"got {starts.size} spans but {vals.size} scores; give one score per span")
    if reduce not in ("max", "mean"):
        raise ConfigError(f"reduce must be 'max' or 'mean'; got {reduce!r}")
    out = np.full(ft.size, fill, dtype=np.float64)
    if ft.size == 0 or starts.size == 0:
        return out.astype(np.float32)
    lo = np.searchsorted(ft, starts, side="left")
    hi = np.searchsorted(ft, ends, side="right")
    empty = hi <= lo
    if empty.any():
        mid = (starts[empty] + ends[empty]) / 2
        pos = np.clip(np.searchsorted(ft, mid), 1, max(ft.size - 1, 1))
        nearest = np.where(np.abs(ft[pos - 1] - mid) <= np.abs(ft[np.minimum(pos, ft.size - 1)] - mid), pos - 1, pos)
        lo[empty] = np.minimum(nearest, ft.size - 1)
        hi[empty] = lo[empty] + 1
    lengths = hi - lo
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    frames = np.repeat(lo, lengths) + offsets
    per = np.repeat(vals, lengths)
    covered = np.zeros(ft.size, dtype=bool)
    covered[frames] = True
    if reduce == "max":
        acc = np.full(ft.size, -np.inf)
        np.maximum.at(acc, frames, per)
    else:
        acc = np.zeros(ft.size)
        np.add.at(acc, frames, per)
        acc = acc / np.maximum(np.bincount(frames, minlength=ft.size), 1)
    out[covered] = acc[covered]
    return out.astype(np.float32)


def cosine_scores(span_embeddings: np.ndarray, query_embedding: np.ndarray) -> np.ndarray:
    """Cosine similarity of each span embedding ``[N, D]`` with one query embedding ``[D]``."""
    a = np.asarray(span_embeddings, dtype=np.float64)
    q = np.asarray(query_embedding, dtype=np.float64).reshape(-1)
    if a.ndim != 2 or a.shape[1] != q.size:
        raise ConfigError(f"span embeddings {a.shape} do not match the query embedding ({q.size},)")
    denom = np.linalg.norm(a, axis=1) * np.linalg.norm(q)
    with np.errstate(invalid="ignore", divide="ignore"):
        sims = (a @ q) / denom
    return np.nan_to_num(sims, nan=0.0)


def text_channel_curve(
    spans: Sequence[Any],
    span_embeddings: np.ndarray,
    query_embedding: np.ndarray,
    frame_times: Sequence[float] | np.ndarray,
    *,
    fill: float = 0.0,
) -> np.ndarray:
    """Curve of a text channel: cosine similarity of each span's sentence embedding with the query's,
    spread over the frames each span covers (see :func:`spans_to_curve`)."""
    return spans_to_curve(spans, cosine_scores(span_embeddings, query_embedding), frame_times, fill=fill)


def _normalized(curve: np.ndarray, how: Normalize) -> np.ndarray:
    if how == "none":
        return curve
    if how == "minmax":
        lo, hi = curve.min(), curve.max()
        if hi == lo:
            logger.warning("flat curve in a mix carries no information; it contributes zeros")
            return np.zeros_like(curve)
        return (curve - lo) / (hi - lo)
    std = curve.std()
    if std == 0:
        logger.warning("flat curve in a mix carries no information; it contributes zeros")
        return np.zeros_like(curve)
    return (curve - curve.mean()) / std


def mix_curves(
    curves: Sequence[np.ndarray],
    weights: Sequence[float] | None = None,
    *,
    normalize: Normalize = "minmax",
) -> np.ndarray:
    """Weighted mix of curves of equal length. Weights (default equal) are normalised to sum to 1; each
    curve is first rescaled (``minmax`` to [0, 1], ``zscore``, or ``none`` to keep raw similarities, which
    keeps the meaning of TFVTG's 0.2 mask). Returns float32."""
    if not curves:
        raise ConfigError("mix_curves needs at least one curve")
    if normalize not in ("minmax", "zscore", "none"):
        raise ConfigError(f"normalize must be 'minmax', 'zscore' or 'none'; got {normalize!r}")
    arrs = [np.asarray(c, dtype=np.float64).reshape(-1) for c in curves]
    if len({a.size for a in arrs}) != 1:
        raise ConfigError(f"curves must have equal lengths; got {[a.size for a in arrs]}")
    w = np.ones(len(arrs)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(arrs),) or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ConfigError(f"weights must be {len(arrs)} finite values >= 0 with a positive sum; got {weights!r}")
    w = w / w.sum()
    mixed = sum(wi * _normalized(a, normalize) for wi, a in zip(w, arrs, strict=True))
    return np.asarray(mixed, dtype=np.float32)
