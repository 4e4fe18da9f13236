"""QVHighlights highlight detection as Moment-DETR's evaluator scores it: HL-mAP and HIT@1 at three saliency
levels (a clip is positive for an annotator when its score is at least 2 "Fair", 3 "Good" or 4 "Very Good").

Ground truth: the video cut in 2 s clips (``int(duration / 2)`` of them), each with one 0..4 score per
annotator (0 outside ``relevant_clip_ids``). Predictions: one saliency score per clip. HIT@1: the top-scored
clip (the first one on ties) is positive for at least one annotator. HL-mAP: per query and annotator, the
average precision of the clip ranking (predictions padded with zeros or cut to the number of clips), the mean
of the interpolated precision at each distinct recall level (as Moment-DETR computes it from scikit-learn's
``precision_recall_curve``); a query whose clips are all negative for an annotator scores 0 there, all
positive 1. A query without predictions (empty or failed record) is a miss: HIT 0 and AP 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CLIP_SECONDS = 2.0
#: Moment-DETR's saliency levels: name -> minimum score of a positive clip.
LEVELS: dict[str, int] = {"Fair": 2, "Good": 3, "VeryGood": 4}


def saliency_matrix(
    duration: float,
    relevant_clip_ids: Sequence[int],
    saliency_scores: Sequence[Sequence[float]],
    clip_len: float = CLIP_SECONDS,
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
    pred_clip_scores: Sequence[Sequence[float] | None], gt_saliency: Sequence[np.ndarray], min_score: float = 4.0
) -> float:
    """HIT@1 (percent): the top-scored clip of each query is positive for at least one annotator
    (``score >= min_score``). A top clip past the GT clips, or a query without predictions, misses."""
    if not pred_clip_scores:
        return 0.0
    hits = 0
    for pred, gt in zip(pred_clip_scores, gt_saliency, strict=True):
        if pred is None or len(pred) == 0:
            continue
        top = int(np.argmax(np.asarray(pred, dtype=float)))
        if top < len(gt) and bool(np.any(np.asarray(gt[top]) >= min_score)):
            hits += 1
    return 100.0 * hits / len(pred_clip_scores)


def saliency_ap(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Average precision of one ranking of clips (``y_true`` 0/1), as Moment-DETR's ``get_ap``: the precision
    envelope (best precision at this recall or more), averaged over the distinct recall levels."""
    y_true = np.asarray(y_true, dtype=float)
    if np.all(y_true == y_true[0]):
        return float(y_true[0] != 0)
    order = np.argsort(-np.asarray(y_score, dtype=float), kind="stable")
    score, truth = np.asarray(y_score, dtype=float)[order], y_true[order]
    last = np.r_[np.flatnonzero(np.diff(score)), truth.size - 1]  # the last clip of each distinct score
    tps = np.cumsum(truth)[last]
    fps = last + 1 - tps
    precision = np.r_[(tps / (tps + fps))[::-1], 1.0]  # lowest threshold first, then the (1, 0) end point
    recall = np.r_[(tps / tps[-1])[::-1], 0.0].astype(np.float32)
    precision = np.maximum.accumulate(precision)
    steps = np.flatnonzero(np.diff(recall))
    return float(np.mean(precision[steps]))


def _fit(pred: Sequence[float], n: int) -> np.ndarray:
    """Predictions cut or zero-padded to ``n`` clips."""
    out = np.zeros(n)
    p = np.asarray(pred, dtype=float)[:n]
    out[: p.size] = p
    return out


def highlight_metrics(
    pred_clip_scores: Sequence[Sequence[float] | None], gt_saliency: Sequence[np.ndarray]
) -> dict[str, dict[str, float]]:
    """``{"HL-min-Fair": {"HL-mAP": .., "HL-Hit1": ..}, "HL-min-Good": .., "HL-min-VeryGood": ..}`` (percent).
    ``None`` or empty predictions are misses."""
    out: dict[str, dict[str, float]] = {}
    for name, min_score in LEVELS.items():
        aps = []
        for pred, gt in zip(pred_clip_scores, gt_saliency, strict=True):
            binary = (np.asarray(gt) >= min_score).astype(float)
            if pred is None or len(pred) == 0 or binary.size == 0:
                aps.append(0.0)
                continue
            y = _fit(pred, binary.shape[0])
            aps.append(float(np.mean([saliency_ap(binary[:, a], y) for a in range(binary.shape[1])])))
        out[f"HL-min-{name}"] = {
            "HL-mAP": 100.0 * float(np.mean(aps)) if aps else 0.0,
            "HL-Hit1": hit_at_1(pred_clip_scores, gt_saliency, min_score),
        }
    return out
