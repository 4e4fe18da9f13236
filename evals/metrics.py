"""Temporal-grounding metrics: IoU, R@k at IoU thresholds, mIoU, per-relation breakdown, Moment-DETR's MR-mAP
(with its short/middle/long breakdown) and QA accuracy; highlight metrics are in :mod:`.highlights`. Rates are
in percent (0..100), as papers report them.

Every grounding metric follows a :class:`~vidreason.evals.protocols.Protocol`: the conventions of the dataset's
reference evaluator (hit at ``IoU >= t`` or ``IoU > t``, clipping to the duration or not); see
:mod:`vidreason.evals.protocols` for the facts and the few documented departures. IoU of two spans ``a, b``
(seconds): ``inter = max(0, min(a.end, b.end) - max(a.start, b.start))``, ``union = max(a.end, b.end) -
min(a.start, b.start)``; ``IoU = inter / union``, 0 when ``union <= 0``. A reversed span is never repaired:
it overlaps nothing, so its IoU is 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from vidreason.evals.protocols import PROTOCOLS, Protocol
from vidreason.tools.grounding.proposals import iou

SpanLike = Sequence[float]  # (start, end) or (start, end, score)

IOU_THRESHOLDS: tuple[float, ...] = (0.3, 0.5, 0.7)
RECALL_KS: tuple[int, ...] = (1, 5)
#: moment_detr's MR-mAP thresholds 0.5, 0.55, ..., 0.95.
MAP_THRESHOLDS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
#: Moment-DETR's ground-truth window length ranges ``(lo, hi]`` in seconds; ``full`` keeps every window.
LENGTH_RANGES: dict[str, tuple[float, float]] = {"short": (0, 10), "middle": (10, 30), "long": (30, 150)}
TFVTG = PROTOCOLS["tfvtg"]


def clip_span(span: SpanLike, duration: float | None) -> tuple[float, float]:
    """``(start, end)`` clipped to ``[0, duration]`` (only at 0 when the duration is unknown). A reversed span
    stays reversed (it scores IoU 0 either way)."""
    s, e = max(float(span[0]), 0.0), max(float(span[1]), 0.0)
    if duration is not None:
        s, e = min(s, duration), min(e, duration)
    return s, e


def scored_spans(spans: Sequence[SpanLike], duration: float | None, protocol: Protocol) -> list[tuple[float, ...]]:
    """Spans as the protocol scores them: clipped to ``[0, duration]`` when it clips, else unchanged (scores
    after the first two items are kept)."""
    if not protocol.clip_to_duration:
        return [tuple(float(x) for x in sp) for sp in spans]
    return [clip_span(sp, duration) + tuple(float(x) for x in sp[2:]) for sp in spans]


def temporal_iou(a: SpanLike, b: SpanLike) -> float:
    """IoU of two ``(start, end)`` spans in seconds; 0 when the union is empty."""
    return float(iou((a[0], a[1]), (b[0], b[1])))


def iou_matrix(preds: Sequence[SpanLike], gts: Sequence[SpanLike]) -> np.ndarray:
    """``[len(preds), len(gts)]`` IoUs (vectorised :func:`temporal_iou`)."""
    p = np.asarray([x[:2] for x in preds], dtype=float).reshape(-1, 2)
    g = np.asarray([x[:2] for x in gts], dtype=float).reshape(-1, 2)
    inter = np.clip(np.minimum(p[:, None, 1], g[None, :, 1]) - np.maximum(p[:, None, 0], g[None, :, 0]), 0, None)
    union = np.maximum(p[:, None, 1], g[None, :, 1]) - np.minimum(p[:, None, 0], g[None, :, 0])
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def best_ious(
    preds: Sequence[SpanLike], gts: Sequence[SpanLike], duration: float | None = None, protocol: Protocol = TFVTG
) -> list[float]:
    """For each ranked prediction, its IoU with the best-matching ground-truth span (several GT windows);
    both sides go through :func:`scored_spans` (clipped to ``duration`` only when the protocol clips)."""
    if not preds or not gts:
        return [0.0] * len(preds)
    p, g = scored_spans(preds, duration, protocol), scored_spans(gts, duration, protocol)
    return [float(x) for x in iou_matrix(p, g).max(axis=1)]


class GroundingItem(BaseModel):
    """What the metrics need from one evaluated query (no prediction = a miss: an empty or failed record)."""

    preds: list[tuple[float, ...]] = Field(description="ranked (start, end[, score]) best first")
    gts: list[tuple[float, float]]
    duration: float | None = None
    relation: str | None = None


class GroundingMetrics(BaseModel):
    """R@k at IoU thresholds and mIoU (percent) over ``n`` queries."""

    n: int
    recall: dict[str, float] = Field(description='"R@1,IoU=0.5" -> percent of queries with a hit in the top k')
    miou: float = Field(description="mean IoU of the top-1 prediction, percent")
    per_relation: dict[str, GroundingMetrics] = Field(default_factory=dict)


def recall_key(k: int, threshold: float) -> str:
    return f"R@{k},IoU={threshold:g}"


def grounding_metrics(
    items: Sequence[GroundingItem],
    thresholds: Iterable[float] | None = None,
    ks: Iterable[int] | None = None,
    *,
    protocol: Protocol = TFVTG,
    by_relation: bool = True,
) -> GroundingMetrics:
    """R@k (a hit when any of the top k meets the protocol's test: ``threshold <= IoU``, or ``IoU >
    threshold`` for 2D-TAN) and mIoU (mean ``max(IoU, 0)`` of the top 1). Thresholds and ks default to the
    protocol's. A query with no prediction is a miss with IoU 0. ``per_relation`` groups items by
    ``relation`` (items without one are left out of the breakdown, not of the totals)."""
    thresholds = tuple(protocol.thresholds if thresholds is None else thresholds)
    ks = tuple(protocol.ks if ks is None else ks)
    ious = [best_ious(it.preds, it.gts, it.duration, protocol) for it in items]
    n = len(items)
    recall: dict[str, float] = {}
    for k in ks:
        for t in thresholds:
            hits = sum(1 for row in ious if any(protocol.is_hit(x, t) for x in row[:k]))
            recall[recall_key(k, t)] = 100.0 * hits / n if n else 0.0
    miou = 100.0 * float(np.mean([max(row[0], 0.0) if row else 0.0 for row in ious])) if n else 0.0
    out = GroundingMetrics(n=n, recall=recall, miou=miou)
    if by_relation:
        groups: dict[str, list[GroundingItem]] = {}
        for it in items:
            if it.relation:
                groups.setdefault(it.relation, []).append(it)
        out.per_relation = {
            rel: grounding_metrics(g, thresholds, ks, protocol=protocol, by_relation=False)
            for rel, g in sorted(groups.items())
        }
    return out


def _interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """All-point interpolated AP (VOC / ActivityNet): area under the precision envelope."""
    mprec = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def average_precision(
    preds: Sequence[SpanLike], gts: Sequence[SpanLike], thresholds: Sequence[float] = MAP_THRESHOLDS
) -> np.ndarray:
    """AP of one query's scored windows against its GT windows, per IoU threshold (fractions 0..1).

    Detection-style matching as Moment-DETR's evaluator does it: predictions sorted by score (stable,
    descending); each one, in that order, takes the free GT window it overlaps most with ``IoU >= threshold``
    (a true positive) or is a false positive; among GT windows of equal IoU the last-indexed one is tried first.
    AP is the interpolated area under the precision/recall curve."""
    ap = np.zeros(len(thresholds))
    if not preds or not gts:
        return ap
    scores = np.asarray([p[2] if len(p) > 2 else 0.0 for p in preds], dtype=float)
    order = np.argsort(-scores, kind="stable")
    ious = iou_matrix([preds[i] for i in order], gts)  # [P, G]
    for ti, thr in enumerate(thresholds):
        taken = np.zeros(len(gts), dtype=bool)
        tp = np.zeros(len(order))
        for pi in range(len(order)):
            for gi in np.argsort(ious[pi], kind="stable")[::-1]:  # descending, ties: last index first
                if ious[pi, gi] < thr:
                    break
                if not taken[gi]:
                    taken[gi] = True
                    tp[pi] = 1.0
                    break
        tp_cum = np.cumsum(tp)
        fp_cum = np.cumsum(1.0 - tp)
        ap[ti] = _interpolated_ap(tp_cum / (tp_cum + fp_cum), tp_cum / len(gts))
    return ap


def moment_map(
    items: Sequence[GroundingItem],
    thresholds: Sequence[float] = MAP_THRESHOLDS,
    max_preds: int = 10,
    protocol: Protocol = TFVTG,
) -> dict[str, float]:
    """MR-mAP (Moment-DETR): AP per query over its first ``max_preds`` windows (in the given order, then
    sorted by score), averaged over queries at each threshold, plus ``"average"`` over thresholds. Percent;
    keys are thresholds (``"0.5"``, ``"0.75"``). A query without predictions has AP 0."""
    if not items:
        return {**{f"{t:g}": 0.0 for t in thresholds}, "average": 0.0}
    aps = np.stack(
        [
            average_precision(
                scored_spans(it.preds[:max_preds], it.duration, protocol),
                scored_spans(it.gts, it.duration, protocol),
                thresholds,
            )
            for it in items
        ]
    )
    per_thr = aps.mean(axis=0)
    out = {f"{t:g}": 100.0 * float(v) for t, v in zip(thresholds, per_thr, strict=True)}
    out["average"] = 100.0 * float(per_thr.mean())
    return out


class MomentRetrieval(BaseModel):
    """Moment-DETR's moment-retrieval numbers for one window-length range."""

    n: int = Field(description="queries with at least one GT window in the range")
    mr_map: dict[str, float] = Field(description="MR-mAP per IoU threshold and 'average', percent")
    mr_r1: dict[str, float] = Field(description="R@1 (IoU >= threshold) per threshold 0.5:0.05:0.95, percent")


def moment_retrieval(items: Sequence[GroundingItem], protocol: Protocol = PROTOCOLS["moment-detr"]) -> dict:
    """MR-mAP and MR-R1 for all windows (``full``) and by GT window length as Moment-DETR reports them:
    ``short`` (0, 10], ``middle`` (10, 30], ``long`` (30, 150] seconds. In a range, a query keeps only its GT
    windows of that length and is left out when none is left."""
    out: dict[str, MomentRetrieval] = {}
    for name, rng in [("full", None), *LENGTH_RANGES.items()]:
        sub = items
        if rng is not None:
            lo, hi = rng
            sub = []
            for it in items:
                gts = [g for g in it.gts if lo < g[1] - g[0] <= hi]
                if gts:
                    sub.append(it.model_copy(update={"gts": gts}))
        r1 = grounding_metrics(sub, MAP_THRESHOLDS, (1,), protocol=protocol, by_relation=False).recall
        out[name] = MomentRetrieval(
            n=len(sub),
            mr_map=moment_map(sub, protocol=protocol),
            mr_r1={f"{t:g}": r1[recall_key(1, t)] for t in MAP_THRESHOLDS},
        )
    return out


def _norm_answer(a: Any) -> str:
    return " ".join(str(a).strip().lower().rstrip(".").split())


def qa_accuracy(predictions: Sequence[Any], answers: Sequence[Any]) -> float:
    """Percent of predictions equal to the answer (ints/choice letters exactly; text case- and
    whitespace-insensitive, a trailing full stop ignored). A ``None`` prediction is wrong."""
    if len(predictions) != len(answers):
        raise ValueError(f"{len(predictions)} predictions for {len(answers)} answers")
    if not answers:
        return 0.0
    ok = sum(
        1 for p, a in zip(predictions, answers, strict=True) if p is not None and _norm_answer(p) == _norm_answer(a)
    )
    return 100.0 * ok / len(answers)


def iou_histogram_values(items: Sequence[GroundingItem], protocol: Protocol = TFVTG) -> list[float]:
    """Top-1 IoU of every item (0 when it has no prediction), for plots."""
    return [best_ious(it.preds[:1], it.gts, it.duration, protocol)[0] if it.preds else 0.0 for it in items]


def recall_curve(
    items: Sequence[GroundingItem], k: int = 1, steps: int = 21, protocol: Protocol = TFVTG
) -> tuple[list[float], list[float]]:
    """R@k (percent) at IoU thresholds ``0, 0.05, ..., 1`` for the recall-vs-threshold plot."""
    ious = [max(best_ious(it.preds[:k], it.gts, it.duration, protocol), default=0.0) for it in items]
    ths = [i / (steps - 1) for i in range(steps)]
    n = max(len(ious), 1)
    return ths, [100.0 * sum(1 for x in ious if protocol.is_hit(x, t)) / n for t in ths]
