"""``vidreason eval temporal-qa``: resumable runs (stub reasoner), the report files, one small offline run on a
generated video, and (slow) the whole generated benchmark. Answers are not asserted: the reasoning side is
measured by the benchmark, not by these tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from vidreason.evals.cli import main as cli_main
from vidreason.evals.temporal_qa.cases import load_cases
from vidreason.evals.temporal_qa.run import TemporalQAOptions, evaluate_temporal_qa
from vidreason.tools.core.errors import VideoOpenError

REPORT_FILES = ("report.json", "report.md", "accuracy_by_type.png", "reliability.png", "iou_hist.png")


class StubReasoner:
    """Answers 'Berlin' citing 9 s; fails on questions containing 'explode'."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def index(self, path: Any) -> None:
        return None

    def ask(self, path: Any, question: str) -> Any:
        self.asked.append(question)
        if "explode" in question:
            raise VideoOpenError("boom")
        cite = SimpleNamespace(time=9.0, channel="speech", text="Berlin")
        span = SimpleNamespace(start=8.5, end=12.0, score=1.0)
        return SimpleNamespace(
            text="The speaker says: 'Berlin'.",
            confidence=0.9,
            citations=[cite],
            spans=[span],
            plan=None,
            degraded=[],
            trace_id="t1",
        )


def _cases(tmp_path: Path) -> Path:
    (tmp_path / "v.mp4").write_bytes(b"not really a video")
    base = {"video": "v.mp4", "type": "after", "target": [[8.5, 12.0]], "answer": {"keys": ["berlin"]}}
    records = [
        {**base, "id": "a", "question": "What is said right after the budget?"},
        {**base, "id": "b", "question": "What happens when things explode?"},
        {**base, "id": "c", "question": "Where is the office?", "video": "missing.mp4"},
        {"id": "d", "video": "v.mp4", "question": "When is winter mentioned?", "type": "absent", "absent": True},
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_run_scores_reports_and_resumes(tmp_path: Path) -> None:
    options = TemporalQAOptions(cases=[str(_cases(tmp_path))], out=str(tmp_path / "out"))
    stub = StubReasoner()
    report, paths, stats = evaluate_temporal_qa(options, stub, progress=False)
    assert stats.answered_now == 4 and stats.errors == 2 and report.missing_videos == ["missing.mp4"]
    assert all(Path(paths[k]).is_file() for k in ("json", "markdown", "accuracy_by_type", "reliability", "iou_hist"))
    m = report.metrics
    assert m.per_type["after"].n == 3 and m.per_type["after"].correct == 1 and m.per_type["after"].errors == 2
    assert m.per_type["absent"].abstention == 0.0  # answered 'Berlin' with confidence 0.9
    md = Path(paths["markdown"]).read_text()
    assert "| after | 3 | 33 |" in md and "## Misses (3;" in md
    # a rerun asks only what failed before (the error and the missing video), nothing else
    stub2 = StubReasoner()
    _, _, again = evaluate_temporal_qa(options, stub2, progress=False)
    assert again.already_done == 2 and again.answered_now == 2 and stub2.asked == ["What happens when things explode?"]


def test_unknown_types_are_rejected(tmp_path: Path) -> None:
    from vidreason.tools.core.errors import ConfigError

    options = TemporalQAOptions(cases=[str(_cases(tmp_path))], out=str(tmp_path / "o"), types=["sometimes"])
    with pytest.raises(ConfigError, match="unknown"):
        evaluate_temporal_qa(options, StubReasoner(), progress=False)


needs_media = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None, reason="needs ffmpeg and espeak-ng"
)


def _offline_args(tmp_path: Path) -> list[str]:
    from reason_helpers import cli_settings_args, install_fast_matcher, reason_settings

    install_fast_matcher(reason_settings(tmp_path / "cache"))
    return cli_settings_args(tmp_path / "cache")


@needs_media
def test_small_offline_run_writes_the_report(tmp_path: Path) -> None:
    from vidreason.evals.temporal_qa.generate import find_font, make_temporal_qa
    from vidreason.tools.core.errors import ConfigError

    try:
        find_font()
    except ConfigError as e:
        pytest.skip(str(e))
    result = make_temporal_qa(tmp_path / "gen", 11, videos=1, check_models=(), check_ocr=False)
    wanted = {"when", "after", "absent"}
    lines = [ln for ln in Path(result.cases_file).read_text().splitlines() if json.loads(ln)["type"] in wanted]
    small = Path(result.cases_file).parent / "small.jsonl"
    small.write_text("\n".join(lines[:3]) + "\n")
    out = tmp_path / "report"
    rc = cli_main(["eval", "temporal-qa", str(small), "--out", str(out), *_offline_args(tmp_path)])
    assert rc == 0
    assert all((out / f).is_file() for f in REPORT_FILES)
    report = json.loads((out / "report.json").read_text())
    assert report["selected"] == 3 and report["errors"] == 0 and len(report["results"]) == 3
    assert report["config"]["settings"]["clip_pretrained"] == "random"


@pytest.mark.slow
@needs_media
def test_whole_generated_benchmark(tmp_path: Path) -> None:
    """The benchmark as the README runs it: two seeds of eight checked videos, every case asked offline."""
    from vidreason.evals.temporal_qa.cli import MAKE_TEMPORAL_QA

    files = []
    for seed in (1, 2):
        assert cli_main(["eval", MAKE_TEMPORAL_QA, "--out", str(tmp_path / "gen"), "--seed", str(seed)]) == 0
        files.append(str(tmp_path / "gen" / f"cases_s{seed}.jsonl"))
    cases = load_cases(files)
    per_type: dict[str, int] = {}
    for c in cases:
        per_type[c.case.type] = per_type.get(c.case.type, 0) + 1
    assert min(per_type.values()) >= 10, per_type
    out = tmp_path / "report"
    assert cli_main(["eval", "temporal-qa", *files, "--out", str(out), *_offline_args(tmp_path)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["selected"] == len(cases) and report["errors"] == 0
