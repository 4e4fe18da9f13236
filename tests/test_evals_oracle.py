"""The oracle: predictions equal to the ground truth score 100 on every metric of every shipped annotation file
(Charades-STA, ActivityNet Captions val_2, TACoS, QVHighlights val), under each dataset's protocol. Hundreds of
their spans end after the video's duration; they must not cost a perfect prediction anything.

One exception belongs to the reference itself: Moment-DETR's MR-mAP reads at most 10 predicted windows, so a
QVHighlights query with G > 10 ground-truth windows has AP 10 / G even when all of them are predicted (16 of
the 1,550 val queries; the oracle's MR-mAP is 99.76, as Moment-DETR's own evaluator gives). Its short / middle /
long breakdown keeps a query's ground-truth windows of that length but all its predictions, so no oracle scores
100 there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidreason.evals.datasets import load_dataset
from vidreason.evals.predictions import PredictionRecord
from vidreason.evals.report import build_report

ANN = "annotations"
CASES = [
    ("charades-sta", "charades_sta/tfvtg_charades_test.json", {}),
    ("charades-sta", "charades_sta/charades_sta_test.txt", {"durations_csv": "charades_sta/Charades_v1_test.csv"}),
    ("activitynet-captions", "activitynet_captions/val_2.json", {}),
    ("tacos", "tacos/test.json", {}),
    ("tacos", "tacos/tacos_test_release.jsonl", {}),
    ("qvhighlights", "qvhighlights/highlight_val_release.jsonl", {}),
]


@pytest.mark.parametrize(("dataset", "path", "options"), CASES, ids=[c[1].split("/")[-1] for c in CASES])
def test_oracle_scores_100(shared_data: Path, dataset: str, path: str, options: dict) -> None:
    root = shared_data / ANN
    samples = load_dataset(dataset, root / path, **{k: root / v for k, v in options.items()})
    records = {
        s.sample_id: PredictionRecord(
            sample_id=s.sample_id,
            video_id=s.video_id,
            video_path=f"{s.video_id}.mp4",
            query=s.query,
            duration=s.duration,
            gt_spans=s.gt_spans,
            pred_spans=[(a, b, 1.0 - 0.01 * i) for i, (a, b) in enumerate(s.gt_spans)],
        )
        for s in samples
    }
    past_end = sum(1 for s in samples for _, e in s.gt_spans if s.duration and e > s.duration)
    report = build_report(dataset, samples, records)
    assert report.scored == len(samples) and report.errors == 0
    assert report.protocol == {"qvhighlights": "moment-detr", "tacos": "2d-tan"}.get(dataset, "tfvtg")
    m = report.metrics
    assert set(m.recall.values()) == {100.0}, (past_end, m.recall)
    assert m.miou == pytest.approx(100.0)
    if dataset != "qvhighlights":
        assert set(report.moment_map.values()) == {100.0}
        return
    capped = 100 * np.mean([min(1.0, 10 / len(s.gt_spans)) for s in samples])  # the 10-window cap
    assert capped == pytest.approx(99.7607, abs=1e-4)
    assert report.moment_map["average"] == pytest.approx(capped)
    assert report.moment_retrieval is not None
    assert report.moment_retrieval["full"].mr_map["average"] == pytest.approx(capped)
    assert set(report.moment_retrieval["full"].mr_r1.values()) == {100.0}
    # (by length, Moment-DETR filters only the ground truth: the oracle's other windows then count against it)
    assert report.highlights is not None and "NOT comparable" in (report.highlights_note or "")
