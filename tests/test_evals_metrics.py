"""Metrics on hand-computed cases for each reference evaluator's conventions (TFVTG, Moment-DETR, 2D-TAN),
zero-length and reversed spans, spans past the video end, and the oracle (predictions = ground truth) on the
shipped annotation files."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from vidreason.evals.highlights import hit_at_1, saliency_matrix
from vidreason.evals.metrics import (
    GroundingItem,
    average_precision,
    best_ious,
    clip_span,
    grounding_metrics,
    iou_matrix,
    moment_map,
    qa_accuracy,
    recall_curve,
    temporal_iou,
)
from vidreason.evals.protocols import PROTOCOLS

TFVTG, MDETR, TAN = PROTOCOLS["tfvtg"], PROTOCOLS["moment-detr"], PROTOCOLS["2d-tan"]


def test_temporal_iou_basic_and_disjoint() -> None:
    assert temporal_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert temporal_iou((0, 10), (0, 10)) == 1.0
    assert temporal_iou((0, 2), (3, 5)) == 0.0  # disjoint: no negative IoU
    assert temporal_iou((0, 2), (2, 5)) == 0.0  # touching


def test_zero_length_spans_do_not_divide_by_zero() -> None:
    assert temporal_iou((5, 5), (5, 5)) == 0.0
    assert temporal_iou((5, 5), (0, 10)) == 0.0
    m = iou_matrix([(5, 5), (0, 10)], [(5, 5)])
    assert m.shape == (2, 1) and not np.isnan(m).any()
    assert m.tolist() == [[0.0], [0.0]]


def test_clip_span() -> None:
    assert clip_span((8, 40), 10.0) == (8, 10)
    assert clip_span((-3, 4), None) == (0, 4)
    assert clip_span((12, 40), 10.0) == (10, 10)  # entirely past the end: zero length at the end
    assert clip_span((8, 2), 10.0) == (8, 2)  # reversed spans stay reversed


def test_clipping_follows_the_protocol() -> None:
    """TFVTG and Moment-DETR clip nothing; 2D-TAN clips the ground truth (its TACoS loader) and so the
    prediction too: a perfect prediction past the end scores 1 either way."""
    gt, dur = [(8.0, 12.0)], 10.0  # a ground-truth span that ends after the video
    for proto in (TFVTG, MDETR, TAN):
        assert best_ious([(8, 12)], gt, dur, proto) == [1.0]
    assert best_ious([(8, 10)], gt, dur, TFVTG) == [0.5]  # not clipped: the GT is 4 s long
    assert best_ious([(8, 10)], gt, dur, TAN) == [1.0]  # GT clipped to (8, 10)
    assert best_ious([(8, 40)], gt, dur, TFVTG) == [pytest.approx(4 / 32)]
    assert best_ious([(8, 40)], gt, dur, TAN) == [1.0]


def test_negative_starts_follow_the_protocol() -> None:
    assert best_ious([(-2, 5)], [(0, 5)], 10.0, TFVTG) == [pytest.approx(5 / 7)]  # kept as given
    assert best_ious([(-2, 5)], [(0, 5)], 10.0, MDETR) == [pytest.approx(5 / 7)]
    assert best_ious([(-2, 5)], [(0, 5)], 10.0, TAN) == [1.0]  # clipped to 0


@pytest.mark.parametrize("proto", [TFVTG, MDETR, TAN], ids=lambda p: p.name)
def test_reversed_spans_are_misses_not_repaired(proto) -> None:
    """Start after end: every reference's intersection is <= 0, so IoU 0 (the old code swapped the ends)."""
    assert best_ious([(8, 2)], [(2, 8)], 10.0, proto) == [0.0]
    assert best_ious([(8, 2)], [(0, 10)], 10.0, proto) == [0.0]
    m = grounding_metrics([GroundingItem(preds=[(8, 2, 1.0)], gts=[(2, 8)], duration=10.0)], protocol=proto)
    assert m.miou == 0.0 and set(m.recall.values()) == {0.0}
    assert (
        moment_map([GroundingItem(preds=[(8, 2, 1.0)], gts=[(2, 8)], duration=10.0)], protocol=proto)["average"] == 0.0
    )


def test_hit_is_inclusive_for_tfvtg_and_moment_detr_strict_for_2d_tan() -> None:
    items = [GroundingItem(preds=[(0, 10, 1.0)], gts=[(0, 5)]), GroundingItem(preds=[(0, 10, 1.0)], gts=[(0, 3)])]
    # IoU exactly 0.5 and exactly 0.3
    for proto in (TFVTG, MDETR):
        m = grounding_metrics(items, protocol=proto)
        assert m.recall["R@1,IoU=0.3"] == 100.0 and m.recall["R@1,IoU=0.5"] == 50.0
    m = grounding_metrics(items, protocol=TAN)
    assert m.recall["R@1,IoU=0.3"] == 50.0 and m.recall["R@1,IoU=0.5"] == 0.0  # IoU > t only
    assert m.recall["R@1,IoU=0.1"] == 100.0 and "R@5,IoU=0.7" in m.recall  # 2D-TAN's TACoS thresholds


def test_multiple_gt_windows_take_the_best_match() -> None:
    assert best_ious([(20, 30)], [(0, 10), (20, 25)]) == [0.5]


def test_recall_threshold_is_inclusive_and_miou() -> None:
    items = [
        GroundingItem(preds=[(0, 10, 1.0)], gts=[(0, 5)]),  # IoU exactly 0.5
        GroundingItem(preds=[(0, 10, 1.0)], gts=[(0, 3)]),  # IoU exactly 0.3
        GroundingItem(preds=[(0, 10, 1.0)], gts=[(0, 10)]),  # 1.0
        GroundingItem(preds=[], gts=[(0, 10)]),  # no prediction: miss, IoU 0
    ]
    m = grounding_metrics(items)
    assert m.n == 4
    assert m.recall["R@1,IoU=0.3"] == 75.0
    assert m.recall["R@1,IoU=0.5"] == 50.0
    assert m.recall["R@1,IoU=0.7"] == 25.0
    assert m.miou == pytest.approx(100 * (0.5 + 0.3 + 1.0 + 0.0) / 4)


def test_recall_at_5_looks_at_the_top_five_only() -> None:
    miss = (50.0, 60.0, 0.9)
    items = [
        GroundingItem(preds=[miss, miss, (0, 10, 0.1)], gts=[(0, 10)]),  # hit at rank 3
        GroundingItem(preds=[miss] * 5 + [(0, 10, 0.1)], gts=[(0, 10)]),  # hit only at rank 6
    ]
    m = grounding_metrics(items)
    assert m.recall["R@1,IoU=0.5"] == 0.0
    assert m.recall["R@5,IoU=0.5"] == 50.0
    assert m.recall["R@5,IoU=0.7"] == 50.0
    assert m.miou == 0.0


def test_per_relation_breakdown() -> None:
    items = [
        GroundingItem(preds=[(0, 10)], gts=[(0, 10)], relation="single"),
        GroundingItem(preds=[(0, 10)], gts=[(20, 30)], relation="sequential"),
        GroundingItem(preds=[(0, 10)], gts=[(0, 5)], relation="sequential"),
        GroundingItem(preds=[(0, 10)], gts=[(0, 10)]),  # no relation: totals only
    ]
    m = grounding_metrics(items)
    assert set(m.per_relation) == {"single", "sequential"}
    assert m.per_relation["single"].recall["R@1,IoU=0.7"] == 100.0
    assert m.per_relation["sequential"].n == 2
    assert m.per_relation["sequential"].recall["R@1,IoU=0.5"] == 50.0
    assert m.per_relation["sequential"].miou == pytest.approx(25.0)
    assert m.n == 4


def test_average_precision_hand_cases() -> None:
    gt = [(0.0, 10.0)]
    assert average_precision([(0, 10, 0.9)], gt).tolist() == [1.0] * 10
    # A false positive ranked first halves the precision at full recall.
    assert average_precision([(20, 30, 0.9), (0, 10, 0.5)], gt) == pytest.approx(np.full(10, 0.5))
    # Same windows given in another order: sorted by score first.
    assert average_precision([(0, 10, 0.5), (20, 30, 0.9)], gt) == pytest.approx(np.full(10, 0.5))
    # Two GT windows; a duplicate of a matched one is a false positive.
    two = [(0.0, 10.0), (20.0, 30.0)]
    ap = average_precision([(0, 10, 0.9), (0, 10, 0.8), (20, 30, 0.7)], two)
    assert ap == pytest.approx(np.full(10, 0.5 * 1 + 0.5 * (2 / 3)))
    assert average_precision([], gt).tolist() == [0.0] * 10


def test_moment_map_depends_on_threshold() -> None:
    # IoU 0.8: a true positive at thresholds 0.5..0.8 (7 of 10) and a miss above.
    res = moment_map([GroundingItem(preds=[(0, 8, 1.0)], gts=[(0, 10)])])
    assert res["0.5"] == 100.0 and res["0.8"] == 100.0 and res["0.85"] == 0.0
    assert res["average"] == pytest.approx(70.0)
    # Averaged over queries.
    res2 = moment_map(
        [
            GroundingItem(preds=[(0, 10, 1.0)], gts=[(0, 10)]),
            GroundingItem(preds=[(50, 60, 1.0)], gts=[(0, 10)]),
        ]
    )
    assert res2["average"] == pytest.approx(50.0)


def test_moment_map_keeps_only_the_top_ten_windows() -> None:
    bad = [(50.0, 60.0, 0.9)] * 10
    res = moment_map([GroundingItem(preds=[*bad, (0, 10, 0.95)], gts=[(0, 10)])])
    assert res["average"] == 0.0  # the right window is 11th in the list, so it is dropped


def test_moment_detr_ties_go_to_the_last_indexed_window() -> None:
    """Prediction 1 overlaps both GT windows equally (IoU 1/3): Moment-DETR gives it the last-indexed one, so
    prediction 2 (exactly that window) finds it taken: a false positive. AP at 0.3 = 0.5 (first-index: 1.0)."""
    gts = [(0.0, 10.0), (10.0, 20.0)]
    preds = [(5.0, 15.0, 0.9), (10.0, 20.0, 0.8)]
    assert average_precision(preds, gts, [0.3]).tolist() == [0.5]
    # listed the other way round, the tie goes to (0, 10) and both predictions are true positives
    assert average_precision(preds, list(reversed(gts)), [0.3]).tolist() == [1.0]


def test_moment_retrieval_length_ranges() -> None:
    from vidreason.evals.metrics import moment_retrieval

    items = [
        GroundingItem(preds=[(0, 8, 1.0)], gts=[(0, 8)]),  # short (8 s)
        GroundingItem(preds=[(0, 20, 1.0)], gts=[(0, 20), (40, 45)]),  # middle + short
        GroundingItem(preds=[(50, 60, 1.0)], gts=[(0, 40)]),  # long, missed
        GroundingItem(preds=[], gts=[(0, 10)]),  # short (exactly 10 s), empty: a miss
    ]
    mr = moment_retrieval(items, MDETR)
    assert {k: v.n for k, v in mr.items()} == {"full": 4, "short": 3, "middle": 1, "long": 1}
    assert mr["full"].mr_r1["0.5"] == 50.0 and mr["long"].mr_r1["0.5"] == 0.0
    assert mr["middle"].mr_map["average"] == 100.0
    # short: query 1 AP 1, query 2 keeps only (40, 45): its prediction misses, AP 0; query 4 empty: AP 0
    assert mr["short"].mr_map["average"] == pytest.approx(100 / 3)
    assert mr["short"].mr_r1["0.5"] == pytest.approx(100 / 3)


def test_saliency_matrix_and_hit_at_1() -> None:
    gt = saliency_matrix(10.0, [1, 3], [[4, 0, 1], [2, 3, 3]])  # 5 clips of 2 s
    assert gt.shape == (5, 3)
    assert gt[1].tolist() == [4, 0, 1] and gt[0].tolist() == [0, 0, 0]
    assert hit_at_1([[0, 0.9, 0.1, 0, 0]], [gt]) == 100.0  # top clip 1 has a 4
    assert hit_at_1([[0, 0.1, 0.1, 0.9, 0]], [gt]) == 0.0  # clip 3 is at most 3 ("Good")
    assert hit_at_1([[0, 0.1, 0.1, 0.9, 0]], [gt], min_score=3) == 100.0
    assert hit_at_1([[0, 0, 0, 0, 0, 0, 9]], [gt]) == 0.0  # top clip past the GT clips
    assert hit_at_1([], []) == 0.0
    assert hit_at_1([None, [0, 0, 0, 0, 0]], [gt, gt]) == 0.0  # no prediction: a miss, never clip 0


def test_saliency_ap_hand_cases() -> None:
    from vidreason.evals.highlights import saliency_ap

    assert saliency_ap(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1])) == pytest.approx((1 + 2 / 3) / 2)
    assert saliency_ap(np.array([1, 0]), np.array([0.5, 0.5])) == 0.5  # a tie is one threshold
    assert saliency_ap(np.array([0, 0, 0]), np.array([0.1, 0.2, 0.3])) == 0.0  # no positive clip
    assert saliency_ap(np.array([1, 1]), np.array([0.1, 0.2])) == 1.0


def test_highlight_metrics_count_empty_records_as_misses() -> None:
    from vidreason.evals.highlights import highlight_metrics

    gt = saliency_matrix(10.0, [0, 1], [[4, 4, 4], [2, 2, 2]])  # clip 0 is the best clip
    hl = highlight_metrics([None, []], [gt, gt])
    assert all(v == {"HL-mAP": 0.0, "HL-Hit1": 0.0} for v in hl.values())
    hl = highlight_metrics([[1.0, 0.5, 0, 0, 0]], [gt])
    assert hl["HL-min-VeryGood"] == {"HL-mAP": 100.0, "HL-Hit1": 100.0}
    assert hl["HL-min-Fair"]["HL-mAP"] == 100.0  # clips 0 and 1 ranked first


def test_qa_accuracy() -> None:
    assert qa_accuracy(["A", "b", "The cat.", None], ["A", "B", "the  cat", "C"]) == 75.0
    assert qa_accuracy([2, 1], [2, 3]) == 50.0
    with pytest.raises(ValueError):
        qa_accuracy([1], [1, 2])


def test_recall_curve_is_monotone() -> None:
    items = [GroundingItem(preds=[(0, 10)], gts=[(0, x)]) for x in (2.0, 5.0, 10.0)]
    ths, rec = recall_curve(items)
    assert ths[0] == 0.0 and ths[-1] == 1.0
    assert rec[0] == 100.0 and rec[-1] == pytest.approx(100 / 3)
    assert all(a >= b for a, b in itertools.pairwise(rec))
    assert not any(math.isnan(x) for x in rec)
