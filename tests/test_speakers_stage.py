"""The speakers index stage on a generated two-voice dialogue: turns, speaker-labelled lines and words, speakers
per hierarchy node, RTTM export, and ``vidreason ask CLIP "Who says X?"`` end to end.

What the recogniser hears depends on the espeak-ng build, so nothing here compares wording with the script:
questions quote what the transcript heard inside a line's true span, and answers are checked by span and
speaker."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from reason_helpers import cli_settings_args, install_fast_matcher, quotes, reason_settings

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _speech_data() -> Any:
    spec = importlib.util.spec_from_file_location("speech_data", BENCH / "speech_data.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("speech_data", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A seeded two-voice dialogue video, indexed once with diarization (two speakers given)."""
    sd = _speech_data()
    if not sd.tools_available():
        pytest.skip("espeak-ng and ffmpeg are needed to generate the dialogue")
    if importlib.util.find_spec("resemblyzer") is None:
        pytest.skip("the GE2E weights come with the resemblyzer package")
    folder = tmp_path_factory.mktemp("dialogue")
    ref = sd.generate(5, folder, n_lines=8, snrs=(None,), n_voices=2, long_gap=False)
    video = folder / "dialogue.mp4"
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=gray:s=160x90:r=10:d={ref['duration']}"]
    cmd += ["-i", str(folder / ref["files"]["clean"]), "-shortest", "-c:v", "libx264", "-preset", "ultrafast"]
    subprocess.run([*cmd, "-c:a", "aac", str(video)], check=True, capture_output=True)
    cache = folder / "cache"
    settings = reason_settings(cache, diarization_enabled=True, speakers_count=2)
    install_fast_matcher(settings)
    from vidreason.tools.index.video_index import VideoIndex

    index = VideoIndex.build(video, settings)
    return {"ref": ref, "video": video, "cache": cache, "settings": settings, "index": index}


def _pure_lines(index: Any, ref: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Long script lines (>= 1.5 s) whose recognised words carry one speaker label (80 % or more), with it."""
    segs = index.get("speakers").transcript.segments
    out = []
    for line in ref["segments"]:
        if line["end"] - line["start"] < 1.5:
            continue
        labels = [
            w.speaker
            for s in segs
            for w in s.words
            if line["start"] - 0.2 <= (w.start + w.end) / 2 <= line["end"] + 0.2
        ]
        top = max(set(labels), key=labels.count) if labels else None
        if top and labels.count(top) >= 0.8 * len(labels):
            out.append((line, top))
    return out


def _heard(index: Any, line: dict[str, Any]) -> str:
    """What the labelled transcript heard inside ``line``'s true span."""
    segs = index.get("speakers").transcript.segments
    got = [s.text.strip() for s in segs if s.end > line["start"] + 0.1 and s.start < line["end"] - 0.1]
    assert got, f"nothing heard in {line}"
    return " ".join(got)


def test_stage_labels_lines_words_and_nodes(dialogue: dict[str, Any]) -> None:
    from vidreason.tools.index.views import text_items

    index, ref = dialogue["index"], dialogue["ref"]
    assert index.manifest.stages["speakers"].status == "ok"
    d = index.get("speakers")
    assert d.num_speakers == 2 and not d.estimated and {s.speaker for s in d.speakers} == {"SPEAKER_00", "SPEAKER_01"}
    segs = d.transcript.segments
    assert segs and all(s.speaker for s in segs) and all(w.speaker == s.speaker for s in segs for w in s.words)
    # long lines of the script: most carry one label on (nearly) all their words, and those labels tell the two
    # voices apart one to one (DER itself is measured by benchmarks/diarization.py)
    pure = _pure_lines(index, ref)
    long_lines = [ln for ln in ref["segments"] if ln["end"] - ln["start"] >= 1.5]
    assert len(pure) >= 0.75 * len(long_lines), (pure, long_lines)
    label_of: dict[str, set[str]] = {}
    for line, label in pure:
        label_of.setdefault(line["speaker"], set()).add(label)
    assert all(len(v) == 1 for v in label_of.values()) and len(set.union(*label_of.values())) == 2
    items = text_items(index, "speech")
    assert items and all(it.speaker in {"SPEAKER_00", "SPEAKER_01"} for it in items)
    graph = index.get("graph")
    video = graph.node("video")
    assert set(video.speakers) == {"SPEAKER_00", "SPEAKER_01"}
    assert sum(video.speakers.values()) == pytest.approx(sum(s.seconds for s in d.speakers), abs=0.05)
    for level in ("event", "scene"):
        assert all(graph.node(n).speakers for n in graph.nodes(level))


def test_rttm_from_index_and_info(dialogue: dict[str, Any], tmp_path: Path) -> None:
    from vidreason.agent.cli import main

    common = [*cli_settings_args(dialogue["cache"]), "--set", "speakers_count=2"]
    out = tmp_path / "turns.rttm"
    assert main(["index", str(dialogue["video"]), "--rttm", str(out), "--no-progress", *common]) == 0
    rows = [r.split() for r in out.read_text().splitlines()]
    assert rows and all(r[0] == "SPEAKER" and r[1] == "dialogue" and r[7].startswith("SPEAKER_") for r in rows)
    assert len({r[7] for r in rows}) == 2
    folder = tmp_path / "rttm"
    folder.mkdir()
    assert main(["info", str(dialogue["video"]), "--rttm", str(folder), "--set", "diarization_enabled=1", *common]) == 0
    assert (folder / "dialogue.rttm").read_text() == out.read_text()


def test_who_says_names_the_speaker_and_cites_the_line(dialogue: dict[str, Any], capsys: Any) -> None:
    from vidreason.agent.cli import main

    index, ref = dialogue["index"], dialogue["ref"]
    line, speaker = max(_pure_lines(index, ref), key=lambda ls: ls[0]["end"] - ls[0]["start"])
    heard = _heard(index, line)
    common = [*cli_settings_args(dialogue["cache"]), "--set", "diarization_enabled=1", "--set", "speakers_count=2"]
    question = f"Who says {heard.rstrip('.?!')}?"
    assert main(["ask", str(dialogue["video"]), question, "--json", *common]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert speaker in answer["text"], answer["text"]
    assert quotes(answer["text"], heard) or any(quotes(c.get("text", ""), heard) for c in answer["citations"])
    speech = [c for c in answer["citations"] if c["channel"] == "speech"]
    assert speech and all(line["start"] - 0.6 <= c["time"] <= line["end"] + 0.6 for c in speech), speech
