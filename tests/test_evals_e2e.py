"""End to end: spoken clips (espeak-ng) -> make-haystack -> ``vidreason eval haystack`` -> report, grounded by
the product's own grounder (``VideoReasoner.ground`` through the normal index cache; speech channel offline)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from vidreason.evals.cli import add_eval_parser, run_eval_command
from vidreason.evals.grounder import make_eval_grounder
from vidreason.evals.haystack import Needle, make_haystack
from vidreason.evals.report import EvalReport
from vidreason.tools.core.settings import Settings

SENTENCES = [
    "the red ball rolls across the floor",
    "a yellow bird sings on the window",
    "the old man reads a newspaper",
    "two children build a sand castle",
]


@pytest.fixture(scope="module")
def spoken_haystack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.skip("espeak-ng and ffmpeg are needed to make spoken clips")
    d = tmp_path_factory.mktemp("spoken")
    needles = []
    for i, text in enumerate(SENTENCES):
        wav = d / f"clip{i}.wav"
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), text], check=True, capture_output=True)
        needles.append(Needle(clip=wav, query=text))
    r = make_haystack(needles, d / "hay", name="spoken", seed=11, filler_ratio=1.5, size=(160, 90), fps=5)
    return {"dir": d / "hay", "ann": Path(r.annotations), "csv": Path(r.durations_csv), "out": d / "eval"}


def test_end_to_end_eval_on_spoken_haystack(spoken_haystack: dict[str, Path], capsys: pytest.CaptureFixture[str]):
    parser = argparse.ArgumentParser(prog="vidreason")
    add_eval_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "eval",
            "haystack",
            "--annotations",
            str(spoken_haystack["ann"]),
            "--durations",
            str(spoken_haystack["csv"]),
            "--videos",
            str(spoken_haystack["dir"]),
            "--out",
            str(spoken_haystack["out"]),
        ]
    )
    settings = Settings(
        profile="fast", device="cpu", cache_dir=spoken_haystack["out"].parent / "cache", visual_enabled=False
    )
    assert run_eval_command(args, grounder=make_eval_grounder(settings)) == 0
    printed = capsys.readouterr().out
    assert "R@1 IoU=0.3/0.5/0.7" in printed and "realtime" in printed
    report = EvalReport.model_validate_json((spoken_haystack["out"] / "report.json").read_text())
    assert report.scored == len(SENTENCES) and report.errors == 0
    # Each spoken sentence is found in its own clip: the clip span (with espeak's short silences) matches.
    assert report.metrics.recall["R@1,IoU=0.3"] == 100.0
    assert report.metrics.recall["R@1,IoU=0.5"] >= 75.0
    assert report.metrics.miou > 50.0
    assert report.timing.realtime_factor is not None and report.timing.realtime_factor > 1.0
    for name in ("report.md", "iou_hist.png", "recall_vs_iou.png", "predictions.jsonl"):
        assert (spoken_haystack["out"] / name).stat().st_size > 0
