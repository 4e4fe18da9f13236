"""The proposal type and temporal-IoU helpers (spec: ../shared/docs/tfvtg-algorithm.md, section 1 "IoU")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from vidreason.tools.core.errors import ConfigError


class Proposal(NamedTuple):
    """One ranked moment from :func:`~vidreason.tools.grounding.localize` (spec section 1, step 6), seconds.

    ``start`` is the dynamic start (where the rise in similarity began), ``static_start`` the window's first
    frame, ``end`` the window's end, ``confidence`` the ranking score divided by the best one of the list.
    An immutable named tuple (``localize`` makes ten per call, on the hot path of every query); voting and
    combination read it as ``(start, end, confidence)`` through :meth:`as_tuple`, never by position."""

    start: float
    static_start: float
    end: float
    confidence: float

    def as_tuple(self) -> tuple[float, float, float]:
        """``(start, end, confidence)``, the triple that voting and combination use (spec sections 2, 4)."""
        return (self.start, self.end, self.confidence)


#: A proposal as voting / combination accept it: a :class:`Proposal` or a ``(start, end, ..., conf)`` row.
ProposalLike = Proposal | Sequence[float] | np.ndarray


def as_triples(proposals: Sequence[Any] | np.ndarray) -> np.ndarray:
    """``[N, 3]`` float64 array of ``(start, end, confidence)``.

    A :class:`Proposal` gives ``(start, end, confidence)``; a row/sequence gives its first two items and its
    last one (as the reference's voting does: ``rows[:, :-1]`` are the times, ``rows[:, -1]`` the weight)."""
    if isinstance(proposals, np.ndarray):
        arr = np.asarray(proposals, dtype=np.float64)
        if arr.size == 0:
            return np.zeros((0, 3))
        if arr.ndim != 2 or arr.shape[1] < 3:
            raise ConfigError(f"proposals array must have shape [N, 3] (start, end, conf); got {arr.shape}")
        return np.stack([arr[:, 0], arr[:, 1], arr[:, -1]], axis=1)
    rows: list[tuple[float, float, float]] = []
    for p in proposals:
        if isinstance(p, Proposal):
            rows.append(p.as_tuple())
            continue
        seq = list(p)
        if len(seq) < 3:
            raise ConfigError(f"a proposal needs (start, end, confidence); got {seq!r}")
        rows.append((float(seq[0]), float(seq[1]), float(seq[-1])))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3)


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Temporal IoU of two intervals; 0 when the union is empty."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def iou_matrix(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``M[j, k] = IoU(p_k, p_j)`` computed as the spec writes it (clip the intersection, then divide).

    A pair of identical zero-length intervals has an empty union and gives NaN, as in the reference."""
    s = np.asarray(starts, dtype=np.float64)
    e = np.asarray(ends, dtype=np.float64)
    inter = np.minimum(e[None, :], e[:, None]) - np.maximum(s[None, :], s[:, None])
    union = np.maximum(e[None, :], e[:, None]) - np.minimum(s[None, :], s[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(inter, 0, None) / union


def iou_one_to_many(s: np.ndarray, e: np.ndarray, s0: np.floating, e0: np.floating) -> np.ndarray:
    """IoU of intervals ``[s, e]`` with ``[s0, e0]`` in the arrays' own dtype (float32 for NMS, as the
    reference computes it on float32 tensors)."""
    inter = np.minimum(e, e0) - np.maximum(s, s0)
    union = np.maximum(e, e0) - np.minimum(s, s0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = np.maximum(inter, inter.dtype.type(0)) / union
    return out


def fallback_proposals() -> list[Proposal]:
    """What :func:`localize` returns when no window survives: three ``[0, 0]`` proposals of confidence 1."""
    return [Proposal(start=0.0, static_start=0.0, end=0.0, confidence=1.0) for _ in range(3)]
