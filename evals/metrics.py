"""Temporal-grounding metrics: IoU, R@k at IoU thresholds, mIoU, per-relation breakdown, QVHighlights mAP and
HIT@1, QA accuracy. All rates are returned in percent (0..100), as papers report them.

IoU of two spans ``a, b`` (seconds): ``inter = max(0, min(a.end, b.end) - max(a.start, b.start))``,
``union = max(a.end, b.end) - min(a.start, b.start)``; ``IoU = inter / union``, and 0 when ``union == 0`` (two
identical zero-length spans). With a known duration, predictions are first clipped to ``[0, duration]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from vidreason.tools.grounding.proposals import iou

SpanLike = Sequence[float]  # (start, end) or (start, end, score)

IOU_THRESHOLDS: tuple[float, ...] = (0.3, 0.5, 0.7)
RECALL_KS: tuple[int, ...] = (1, 5)
#: moment_detr's MR-mAP thresholds 0.5, 0.55, ..., 0.95.
MAP_THRESHOLDS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


def clip_span(span: SpanLike, duration: float | None) -> tuple[float, float]:
    """``(start, end)`` clipped to ``[0, duration]`` (only ``start >= 0`` when the duration is unknown)."""
    s, e = float(span[0]), float(span[1])
    if e < s:
        s, e = e, s
    s, e = max(s, 0.0), max(e, 0.0)
    if duration is not None:
        s, e = min(s, duration), min(e, duration)
    return s, e


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


def best_ious(preds: Sequence[SpanLike], gts: Sequence[SpanLike], duration: float | None = None) -> list[float]:
    """For each ranked prediction, its IoU with the best-matching ground-truth span (several GT windows)."""
    if not preds or not gts:
        return [0.0] * len(preds)
    clipped = [clip_span(p, duration) for p in preds]
    return [float(x) for x in iou_matrix(clipped, gts).max(axis=1)]


class GroundingItem(BaseModel):
    """What the metrics need from one evaluated query."""

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
    thresholds: Iterable[float] = IOU_THRESHOLDS,
    ks: Iterable[int] = RECALL_KS,
    *,
    by_relation: bool = True,
) -> GroundingMetrics:
    """R@k (a hit when ``threshold <= IoU`` for any of the top k) and mIoU of the top 1.

    A query with no prediction counts as a miss with IoU 0. ``per_relation`` groups items by ``relation``
    (items without one are left out of the breakdown, not of the totals).
    """
    thresholds, ks = tuple(thresholds), tuple(ks)
    ious = [best_ious(it.preds, it.gts, it.duration) for it in items]
    n = len(items)
    recall: dict[str, float] = {}
    for k in ks:
        for t in thresholds:
            hits = sum(1 for row in ious if any(t <= x for x in row[:k]))
            recall[recall_key(k, t)] = 100.0 * hits / n if n else 0.0
    miou = 100.0 * float(np.mean([max(row[0], 0.0) if row else 0.0 for row in ious])) if n else 0.0
    out = GroundingMetrics(n=n, recall=recall, miou=miou)
    if by_relation:
        groups: dict[str, list[GroundingItem]] = {}
        for it in items:
            if it.relation:
                groups.setdefault(it.relation, []).append(it)
        out.per_relation = {
            rel: grounding_metrics(g, thresholds, ks, by_relation=False) for rel, g in sorted(groups.items())
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

    Detection-style matching as in the ActivityNet / moment_detr evaluation: predictions sorted by score
    (stable, descending); each one matches the unmatched GT window it overlaps most with IoU >= threshold
    (true positive) or is a false positive; AP is the interpolated area under the precision/recall curve.
    """
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
            for gi in np.argsort(-ious[pi], kind="stable"):
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
    items: Sequence[GroundingItem], thresholds: Sequence[float] = MAP_THRESHOLDS, max_preds: int = 10
) -> dict[str, float]:
    """QVHighlights MR-mAP: AP per query (its top ``max_preds`` windows), averaged over queries at each
    threshold, plus ``"average"`` over thresholds. Percent; keys are thresholds (``"0.5"``, ``"0.75"``)."""
    if not items:
        return {**{f"{t:g}": 0.0 for t in thresholds}, "average": 0.0}
    aps = np.stack(
        [
            average_precision(
                [clip_span(p, it.duration) + tuple(p[2:3]) for p in it.preds[:max_preds]], it.gts, thresholds
            )
            for it in items
        ]
    )
    per_thr = aps.mean(axis=0)
    out = {f"{t:g}": 100.0 * float(v) for t, v in zip(thresholds, per_thr, strict=True)}
    out["average"] = 100.0 * float(per_thr.mean())
    return out


def saliency_matrix(
    duration: float,
    relevant_clip_ids: Sequence[int],
    saliency_scores: Sequence[Sequence[float]],
    clip_len: float = 2.0,
) -> np.ndarray:
    """QVHighlights ground truth as ``[n_clips, n_annotators]`` scores (0 outside the relevant clips)."""
    n_clips = int(duration / clip_len)
    scores = np.asarray(saliency_scores, dtype=float).reshape(len(relevant_clip_ids), -1)
    full = np.zeros((n_clips, scores.shape[1]))
    ids = np.asarray(relevant_clip_ids, dtype=int)
    keep = ids < n_clips
    full[ids[keep]] = scores[keep]
    return full


def hit_at_1(
    pred_clip_scores: Sequence[Sequence[float]], gt_saliency: Sequence[np.ndarray], min_score: float = 4.0
) -> float:
    """HIT@1 (percent): the top-scored clip of each query is positive for at least one annotator
    (``score >= min_score``; 4 = "Very Good", 3 = "Good", 2 = "Fair"). A top clip past the GT clips misses."""
    if not pred_clip_scores:
        return 0.0
    hits = 0
    for pred, gt in zip(pred_clip_scores, gt_saliency, strict=True):
        if len(pred) == 0:
            continue
        top = int(np.argmax(np.asarray(pred, dtype=float)))
        if top < len(gt) and bool(np.any(np.asarray(gt[top]) >= min_score)):
            hits += 1
    return 100.0 * hits / len(pred_clip_scores)


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


def iou_histogram_values(items: Sequence[GroundingItem]) -> list[float]:
    """Top-1 IoU of every item (0 when it has no prediction), for plots."""
    return [best_ious(it.preds[:1], it.gts, it.duration)[0] if it.preds else 0.0 for it in items]


def recall_curve(items: Sequence[GroundingItem], k: int = 1, steps: int = 21) -> tuple[list[float], list[float]]:
    """R@k (percent) at IoU thresholds ``0, 0.05, ..., 1`` for the recall-vs-threshold plot."""
    ious = [max(best_ious(it.preds[:k], it.gts, it.duration), default=0.0) for it in items]
    ths = [i / (steps - 1) for i in range(steps)]
    n = max(len(ious), 1)
    return ths, [100.0 * sum(1 for x in ious if t <= x) / n for t in ths]
