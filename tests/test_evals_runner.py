"""Runner: predictions JSONL (resume after interruption, truncated last line), missing videos, OOD padding,
threads, and the report files (JSON parses, Markdown table, PNG plots)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from vidreason.evals.cli import main as cli_main
from vidreason.evals.datasets.locator import VideoLocator
from vidreason.evals.predictions import PredictionRecord, PredictionStore
from vidreason.evals.report import EvalReport
from vidreason.evals.runner import EvalOptions, IndexTiming, evaluate, run_predictions, select_samples
from vidreason.tools.core.errors import ConfigError, VideoOpenError


class Interrupted(Exception):
    """Stands in for a kill in the middle of a run."""


class TableGrounder:
    """Test double: answers each query from a fixed table (query -> ranked spans); counts calls."""

    def __init__(
        self,
        table: dict[str, list[tuple[float, float, float]]],
        fail_after: int | None = None,
        broken_videos: frozenset[str] = frozenset(),
    ):
        self.table, self.fail_after, self.broken = table, fail_after, broken_videos
        self.calls: list[str] = []
        self.indexed: list[str] = []
        self.lock = threading.Lock()

    def index(self, video_path: Path) -> IndexTiming:
        if video_path.stem in self.broken:
            raise VideoOpenError(f"cannot decode {video_path}")
        with self.lock:
            self.indexed.append(video_path.stem)
        return IndexTiming(seconds=0.5, cache_hit=False, video_duration=30.0)

    def ground(
        self, video_path: Path, query: str, decomposition: dict[str, Any] | None, ood_pad: float = 0.0
    ) -> list[tuple[float, float, float]]:
        with self.lock:
            if self.fail_after is not None and len(self.calls) >= self.fail_after:
                raise Interrupted
            self.calls.append(query)
        return [(s + ood_pad, e + ood_pad, c) for s, e, c in self.table.get(query, [])]

    def describe(self) -> dict[str, Any]:
        return {"kind": "table"}


ANNOT = """\
V1 0.0 10.0##alpha
V1 10.0 20.0##beta
V2 5.0 15.0##gamma
V2 0.0 30.0##delta
V3 1.0 2.0##epsilon
"""
TABLE = {
    "alpha": [(0.0, 10.0, 1.0)],  # IoU 1
    "beta": [(0.0, 5.0, 0.9), (10.0, 20.0, 0.5)],  # top-1 IoU 0, rank-2 IoU 1
    "gamma": [(5.0, 10.0, 1.0)],  # IoU 0.5
    "delta": [(0.0, 40.0, 1.0)],  # past the end (30 s): not clipped (TFVTG's convention) -> IoU 0.75
}


@pytest.fixture
def bench(tmp_path: Path) -> dict[str, Path]:
    videos = tmp_path / "videos"
    videos.mkdir()
    for v in ("V1", "V2"):  # V3 is missing
        (videos / f"{v}.mp4").write_bytes(b"")
    ann = tmp_path / "ann.txt"
    ann.write_text(ANNOT)
    csv = tmp_path / "durations.csv"
    csv.write_text("id,length\nV1,30\nV2,30\nV3,30\n")
    return {"videos": videos, "ann": ann, "csv": csv, "out": tmp_path / "out"}


def _options(b: dict[str, Path], **kw: Any) -> EvalOptions:
    return EvalOptions(
        dataset="charades-sta",
        annotations=str(b["ann"]),
        videos=str(b["videos"]),
        out=str(b["out"]),
        durations_csv=str(b["csv"]),
        **kw,
    )


def test_report_metrics_files_and_missing_videos(bench: dict[str, Path]) -> None:
    g = TableGrounder(TABLE)
    report, paths, stats = evaluate(_options(bench), g)
    assert stats.missing_videos == ["V3"] and stats.skipped_samples == 1
    assert report.selected == 5 and report.scored == 4 and report.missing_videos == ["V3"]
    m = report.metrics
    assert m.recall["R@1,IoU=0.5"] == 75.0  # alpha, gamma (exactly 0.5), delta
    assert m.recall["R@1,IoU=0.7"] == 50.0
    assert m.recall["R@5,IoU=0.7"] == 75.0  # beta's rank 2
    assert m.miou == pytest.approx(100 * (1 + 0 + 0.5 + 0.75) / 4)
    assert report.protocol == "tfvtg" and "TFVTG evaluate.py" in report.protocol_note
    t = report.timing
    assert (t.videos, t.video_s, t.index_s, t.queries) == (2, 60.0, 1.0, 4)
    assert t.realtime_factor is not None and t.realtime_factor > 1
    # Files: JSON parses back into the model, Markdown has the table, PNGs are PNGs.
    again = EvalReport.model_validate_json(paths["json"].read_text())
    assert again.metrics == m
    assert again.config["options"]["durations_csv"] == str(bench["csv"])
    assert again.config["grounder"]["kind"] == "table"
    assert again.provenance["files"]["annotations"]["sha256"]
    assert "packages" in again.provenance and "python" in again.provenance
    md = paths["markdown"].read_text()
    assert "| all | 4 | 75.00" in md and "## Timing" in md
    for key in ("iou_hist", "recall_vs_iou"):
        assert paths[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(bench["out"].glob(".*tmp"))  # atomic writes left no temp files
    lines = (bench["out"] / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 4
    rec = PredictionRecord.model_validate_json(lines[0])
    assert rec.sample_id == "V1#0" and rec.top1_iou == 1.0 and rec.duration == 30.0


def test_resume_after_interruption_and_truncated_line(bench: dict[str, Path]) -> None:
    with pytest.raises(Interrupted):
        evaluate(_options(bench), TableGrounder(TABLE, fail_after=2))
    pred = bench["out"] / "predictions.jsonl"
    assert len(pred.read_text().splitlines()) == 2
    with pred.open("a") as f:  # a kill while writing the third line
        f.write('{"sample_id": "V2#0", "video_id": "V2", "vid')
    g = TableGrounder(TABLE)
    report, _, stats = evaluate(_options(bench), g)
    assert sorted(g.calls) == ["delta", "gamma"]  # only what was not recorded
    assert stats.already_done == 2 and stats.evaluated_now == 2
    assert report.scored == 4 and report.metrics.recall["R@1,IoU=0.5"] == 75.0
    lines = pred.read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(x) for x in lines)
    # A third run has nothing left to do and gives the same numbers.
    g3 = TableGrounder(TABLE)
    report3, _, _ = evaluate(_options(bench), g3)
    assert g3.calls == [] and report3.metrics == report.metrics


def test_store_rejects_corruption_before_the_last_line(tmp_path: Path) -> None:
    p = tmp_path / "predictions.jsonl"
    p.write_text(
        "garbage\n"
        + PredictionRecord(sample_id="a", video_id="v", video_path="v", query="q", gt_spans=[(0, 1)]).model_dump_json()
        + "\n"
    )
    with pytest.raises(Exception, match="corrupt prediction record"):
        PredictionStore(p)


def test_broken_video_is_recorded_as_errors_and_retried(bench: dict[str, Path]) -> None:
    report, _, stats = evaluate(_options(bench), TableGrounder(TABLE, broken_videos=frozenset({"V2"})))
    assert report.errors == 2 and report.scored == 4 and stats.errors == 2
    assert report.metrics.recall["R@1,IoU=0.5"] == 25.0  # errors count as misses
    g = TableGrounder(TABLE)
    report2, _, _ = evaluate(_options(bench), g)
    assert sorted(g.calls) == ["delta", "gamma"] and report2.errors == 0


def test_ood_padding_shifts_ground_truth(bench: dict[str, Path]) -> None:
    report, _, _ = evaluate(_options(bench, ood_pad=10.0), TableGrounder(TABLE))
    recs = [json.loads(x) for x in (bench["out"] / "predictions.jsonl").read_text().splitlines()]
    r0 = next(r for r in recs if r["sample_id"] == "V1#0")
    assert r0["gt_spans"] == [[10.0, 20.0]] and r0["duration"] == 40.0 and r0["pred_spans"][0][:2] == [10.0, 20.0]
    assert report.metrics.recall["R@1,IoU=0.5"] == 75.0
    assert report.timing.video_s == 60.0  # padding is not video


def test_ood_padding_needs_a_grounder_that_supports_it(bench: dict[str, Path]) -> None:
    class Plain:
        def index(self, video_path: Path) -> IndexTiming:
            return IndexTiming(seconds=0.0)

        def ground(self, video_path: Path, query: str, decomposition: dict[str, Any] | None) -> list:
            return []

    with pytest.raises(ConfigError, match="ood_pad"):
        evaluate(_options(bench, ood_pad=5.0), Plain())


def test_workers_limit_and_seed(bench: dict[str, Path], tmp_path: Path) -> None:
    g = TableGrounder(TABLE)
    report, _, _ = evaluate(_options(bench, workers=2), g)
    assert sorted(g.indexed) == ["V1", "V2"] and len(g.calls) == 4 and report.scored == 4
    from vidreason.evals.datasets import load_dataset

    samples = load_dataset("charades", bench["ann"])
    assert [s.sample_id for s in select_samples(samples, 2, None)] == ["V1#0", "V1#1"]
    a, b = select_samples(samples, 3, 7), select_samples(samples, 3, 7)
    assert [s.sample_id for s in a] == [s.sample_id for s in b] and len(a) == 3
    g2 = TableGrounder(TABLE)
    store, stats = run_predictions(samples[:1], g2, VideoLocator(bench["videos"]), tmp_path / "o2")
    assert g2.calls == ["alpha"] and len(store) == 1 and stats.evaluated_now == 1


def test_cli_runs_with_an_injected_grounder(bench: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from vidreason.evals.cli import add_eval_parser, run_eval_command

    parser = argparse.ArgumentParser(prog="vidreason")
    add_eval_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "eval",
            "charades",
            "--annotations",
            str(bench["ann"]),
            "--videos",
            str(bench["videos"]),
            "--durations",
            str(bench["csv"]),
            "--out",
            str(bench["out"]),
            "--limit",
            "4",
        ]
    )
    assert args.func is run_eval_command and args.eval_dataset == "charades-sta"
    assert run_eval_command(args, grounder=TableGrounder(TABLE)) == 0
    out = capsys.readouterr().out
    assert "R@1 IoU=0.3/0.5/0.7: 75.00 / 75.00 / 50.00" in out and "mIoU: 56.25" in out
    assert "protocol tfvtg" in out
    assert "--protocol tfvtg: conventions of TFVTG evaluate.py" in (bench["out"] / "report.md").read_text()
    # --protocol 2d-tan: strict hits (gamma's IoU 0.5 misses at 0.5) and clipping (delta's span -> IoU 1)
    args.protocol, args.out = "2d-tan", bench["out"] / "tan"
    assert run_eval_command(args, grounder=TableGrounder(TABLE)) == 0
    out = capsys.readouterr().out
    assert "protocol 2d-tan" in out and "R@1 IoU=0.3/0.5/0.7: 75.00 / 50.00 / 50.00" in out and "mIoU: 62.50" in out
    # Unknown dataset names are rejected by argparse with the list of choices; bad grounder targets clearly.
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "charades-st", "--annotations", "a", "--videos", "b"])
    assert (
        cli_main(
            [
                "eval",
                "tacos",
                "--annotations",
                str(bench["ann"]),
                "--videos",
                str(bench["videos"]),
                "--grounder",
                "no_such_module:make",
            ]
        )
        == 2
    )
    assert "not available" in capsys.readouterr().err
