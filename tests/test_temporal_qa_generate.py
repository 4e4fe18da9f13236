"""make-temporal-qa: seeded (byte-identical cases and video), exact timeline (speech where the lines are,
titles and colours on the slides), every question type, and the recogniser checks' bookkeeping."""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from vidreason.evals.temporal_qa.cases import QUESTION_TYPES, read_cases
from vidreason.evals.temporal_qa.timeline import Timeline

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None, reason="needs ffmpeg and espeak-ng"
)

COLOURS = {  # lavfi colour -> RGB
    "navy": (0, 0, 128),
    "darkgreen": (0, 100, 0),
    "maroon": (128, 0, 0),
    "purple": (128, 0, 128),
    "teal": (0, 128, 128),
    "saddlebrown": (139, 69, 19),
    "darkslategray": (47, 79, 79),
    "indigo": (75, 0, 130),
}


def _font_or_skip() -> None:
    from vidreason.evals.temporal_qa.generate import find_font
    from vidreason.tools.core.errors import ConfigError

    try:
        find_font()
    except ConfigError as e:
        pytest.skip(str(e))


def _generate(out: Path, seed: int):
    from vidreason.evals.temporal_qa.generate import make_temporal_qa

    _font_or_skip()
    return make_temporal_qa(out, seed, videos=1, check_models=(), check_ocr=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("tqa")
    return _generate(out, 5), out / "s5"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes(generated, tmp_path: Path) -> None:
    result, folder = generated
    again = _generate(tmp_path, 5)
    assert Path(again.cases_file).read_bytes() == Path(result.cases_file).read_bytes()
    assert _sha(tmp_path / "s5" / "v01.mp4") == _sha(folder / "v01.mp4")


def test_another_seed_gives_another_video(tmp_path: Path) -> None:
    from vidreason.evals.temporal_qa.generate import layout

    a, _ = layout(1, 5, 0, random.Random("temporal-qa:5:1:0"), tmp_path)
    b, _ = layout(1, 6, 0, random.Random("temporal-qa:6:1:0"), tmp_path)
    assert [ln.text for ln in a.lines] != [ln.text for ln in b.lines]


def test_every_type_is_asked_with_consistent_answers(generated) -> None:
    result, folder = generated
    cases = {c.type: c for _, c in read_cases(result.cases_file)}
    assert set(cases) == set(QUESTION_TYPES)
    tl = Timeline.model_validate_json((folder / "v01.timeline.json").read_text())
    lines = tl.lines
    after = cases["after"]
    anchor = next(ln for ln in lines if ln.span == tuple(after.anchor[0]))
    assert tuple(after.target[0]) == lines[anchor.index + 1].span
    assert after.answer.keys == [lines[anchor.index + 1].key]
    count = cases["count"]
    assert count.answer.count == len(tl.repeat_lines) == len(count.target) >= 2
    cross = cases["cross_modal"]
    assert cross.answer.keys[0].upper() in {s.title for s in tl.slides}
    assert cases["who"].optional and all(not c.optional for t, c in cases.items() if t != "who")
    assert all(c.video == "s5/v01.mp4" for c in cases.values())


def test_timeline_is_exact(generated) -> None:
    from vidreason.tools.media.video import extract_audio, probe

    _, folder = generated
    tl = Timeline.model_validate_json((folder / "v01.timeline.json").read_text())
    assert 20 <= tl.duration <= 60
    assert probe(folder / "v01.mp4").duration == pytest.approx(tl.duration, abs=0.1)
    assert tl.slides[0].start == 0 and tl.slides[-1].end == tl.duration
    assert all(a.end == b.start for a, b in zip(tl.slides, tl.slides[1:], strict=False))  # hard cuts
    for ln in tl.lines:
        slide = tl.slides[ln.slide]
        assert slide.start < ln.start < ln.end < slide.end
    assert all(a.end + 0.5 < b.start for a, b in zip(tl.lines, tl.lines[1:], strict=False))
    audio = extract_audio(folder / "v01.mp4", sample_rate=16000)

    def rms(s: float, e: float) -> float:
        part = audio[int(s * 16000) : int(e * 16000)]
        return float(np.sqrt(np.mean(part**2))) if part.size else 0.0

    for ln in tl.lines:
        assert rms(ln.start, ln.end) > 0.02, ln.text  # speech where the line is
    for a, b in zip(tl.lines, tl.lines[1:], strict=False):
        assert rms(a.end + 0.15, b.start - 0.15) < 0.005  # silence between lines


def test_slides_show_their_colour_and_title(generated) -> None:
    _, folder = generated
    tl = Timeline.model_validate_json((folder / "v01.timeline.json").read_text())
    for s in tl.slides:
        cmd = ["ffmpeg", "-v", "error", "-ss", f"{(s.start + s.end) / 2:.2f}", "-i", str(folder / "v01.mp4")]
        raw = subprocess.run([*cmd, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True)
        frame = np.frombuffer(raw.stdout, np.uint8).reshape(360, 640, 3)
        if s.background in COLOURS:
            corner = frame[10:40, 10:40].reshape(-1, 3).mean(axis=0)
            assert np.abs(corner - COLOURS[s.background]).max() < 20, (s.background, corner)
        centre = frame[150:210, 200:440]
        assert (centre.min(axis=2) > 200).mean() > 0.05  # white title letters in the middle


def test_checks_drop_cases_whose_words_were_not_heard(generated) -> None:
    from vidreason.evals.temporal_qa.checks import Verdict, check_speech
    from vidreason.evals.temporal_qa.questions import build_cases

    _, folder = generated
    tl = Timeline.model_validate_json((folder / "v01.timeline.json").read_text())
    perfect = [((ln.start + ln.end) / 2, w, True) for ln in tl.lines for w in (ln.topic, ln.key)]
    verdict = Verdict()
    check_speech(perfect, tl, "fake", verdict)
    assert not verdict.bad_lines and not verdict.failures
    first = tl.lines[0]
    shaky = [h for h in perfect if h[1] != first.key] + [((first.start + first.end) / 2, first.key, False)]
    twice = [*perfect, ((tl.lines[-1].start + tl.lines[-1].end) / 2, tl.lines[1].key, True)]
    for heard, bad in ((shaky, {0}), (twice, {1})):
        v = Verdict()
        check_speech(heard, tl, "fake", v)
        assert v.bad_lines == bad, v.failures
        drafts = build_cases(tl, random.Random(0))
        kept, dropped = v.filter(drafts)
        assert dropped and all(bad & d.lines for d in drafts if d.case.id in dropped)
        assert len(kept) + len(dropped) == len(drafts)
