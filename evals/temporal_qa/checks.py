"""Recogniser checks of a generated video: are the words and titles a case relies on actually readable?

For each Whisper spec ``MODEL[@BEAM]`` (by default ``tiny.en@1``, as the fast profile indexes, and ``base@5``)
the video's audio is transcribed with word times. A spoken line passes when its topic and key are heard
confidently inside the line (widened by 0.5 s): word probability >= 0.5 in a segment whose mean
log-probability is >= -0.7 (Whisper falls back to random sampling below -1, so a shaky segment may read
differently in the next run), and nowhere else in the video (the repeated word: once in each of its lines).
A slide passes when the OCR reads its title in the slide's middle frame. Absent words and titles must not be
recognised anywhere. A case is kept only when every line and slide it relies on passed
(:meth:`Verdict.filter`).
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidreason.evals.temporal_qa.cases import TemporalCase, normalize
from vidreason.evals.temporal_qa.questions import Draft
from vidreason.evals.temporal_qa.score import has_key
from vidreason.evals.temporal_qa.timeline import Timeline
from vidreason.tools.core.errors import ConfigError, VideoOpenError

logger = logging.getLogger(__name__)

WINDOW_PAD_S = 0.5
#: Whisper ``MODEL@BEAM`` specs that must recognise every needed word: the fast profile's decoding of tiny.en
#: (beam 1), and multilingual base with beam 5
DEFAULT_CHECK_MODELS: tuple[str, ...] = ("tiny.en@1", "base@5")
MIN_WORD_PROB = 0.5
MIN_SEGMENT_LOGPROB = -0.7
HeardWord = tuple[float, str, bool]  # (midpoint seconds, normalised word, heard confidently)


@dataclass
class Verdict:
    bad_lines: set[int] = field(default_factory=set)
    bad_titles: set[int] = field(default_factory=set)
    heard_absent: set[str] = field(default_factory=set)
    read_absent: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    def why_not(self, d: Draft) -> str | None:
        """Why ``d`` cannot be kept, or None."""
        if d.lines & self.bad_lines:
            return f"lines {sorted(d.lines & self.bad_lines)} not recognised cleanly"
        if d.titles & self.bad_titles:
            return f"slides {sorted(d.titles & self.bad_titles)} not read by OCR"
        if d.absent_words & self.heard_absent:
            return f"absent word(s) {sorted(d.absent_words & self.heard_absent)} recognised in the audio"
        if d.absent_titles & self.read_absent:
            return f"absent title(s) {sorted(d.absent_titles & self.read_absent)} read on screen"
        return None

    def filter(self, drafts: list[Draft]) -> tuple[list[TemporalCase], dict[str, str]]:
        kept: list[TemporalCase] = []
        dropped: dict[str, str] = {}
        for d in drafts:
            why = self.why_not(d)
            if why is None:
                kept.append(d.case)
            else:
                dropped[d.case.id] = why
        return kept, dropped


def _window_words(words: list[HeardWord], start: float, end: float, *, sure: bool = False) -> str:
    return " ".join(w for t, w, ok in words if start - WINDOW_PAD_S <= t <= end + WINDOW_PAD_S and (ok or not sure))


def _count(text: str, word: str) -> int:
    import re

    return len(re.findall(rf"\b{re.escape(word)}(?:s|es)?\b", text))


def check_speech(words: list[HeardWord], timeline: Timeline, model: str, verdict: Verdict) -> None:
    """Mark the lines of ``timeline`` whose words ``model`` did not hear where (and only where) they are."""
    everything = " ".join(w for _, w, _ in words)
    for ln in timeline.lines:
        inside = _window_words(words, ln.start, ln.end)
        sure = _window_words(words, ln.start, ln.end, sure=True)
        problems = []
        for w in sorted({ln.topic, ln.key}):
            if not has_key(inside, w):
                problems.append(f"{w!r} not heard")
            elif not has_key(sure, w):
                problems.append(f"{w!r} heard without confidence")
        if _count(everything, ln.key) != 1:
            problems.append(f"{ln.key!r} heard {_count(everything, ln.key)} times in the video")
        expected_topic = len(timeline.repeat_lines) if ln.repeat else 1
        if _count(everything, ln.topic) != expected_topic:
            problems.append(f"{ln.topic!r} heard {_count(everything, ln.topic)} times, expected {expected_topic}")
        if problems:
            verdict.bad_lines.add(ln.index)
            verdict.failures.append(f"{model}: line {ln.index} ({inside!r}): {'; '.join(problems)}")
    if has_key(everything, timeline.absent_topic):
        verdict.heard_absent.add(timeline.absent_topic)
        verdict.failures.append(f"{model}: absent word {timeline.absent_topic!r} heard")


def _frame_at(video: Path, t: float) -> np.ndarray:
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-ss", f"{t:.3f}", "-i", str(video), "-frames:v", "1"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    w, h = 640, 360
    if proc.returncode != 0 or len(proc.stdout) < w * h * 3:
        raise VideoOpenError(f"could not decode a frame at {t:.2f}s of {video}: {proc.stderr[-300:]!r}")
    return np.frombuffer(proc.stdout[: w * h * 3], dtype=np.uint8).reshape(h, w, 3)


class Checker:
    """Runs the recogniser checks; models load once (through the process-wide model registry)."""

    def __init__(self, models: tuple[str, ...] = DEFAULT_CHECK_MODELS, ocr: bool = True):
        self.models, self.ocr = models, ocr
        self._asr: dict[str, Any] = {}

    def _transcriber(self, spec: str) -> Any:
        from vidreason.tools.speech.whisper import AsrOptions, WhisperTranscriber

        if spec not in self._asr:
            name, _, beam = spec.partition("@")
            try:
                options = AsrOptions(beam_size=int(beam or 5))
            except ValueError as e:
                raise ConfigError(f"check model {spec!r} must look like MODEL[@BEAM], e.g. tiny.en@1") from e
            self._asr[spec] = WhisperTranscriber(name, device="cpu", options=options)
        return self._asr[spec]

    def heard(self, video: Path, model: str) -> list[HeardWord]:
        transcript = self._transcriber(model).transcribe(video)
        out: list[HeardWord] = []
        for seg in transcript.segments:
            steady = seg.avg_logprob is None or seg.avg_logprob >= MIN_SEGMENT_LOGPROB
            for w in seg.words:
                for token in normalize(w.text).split():
                    sure = steady and (w.probability is None or w.probability >= MIN_WORD_PROB)
                    out.append(((w.start + w.end) / 2, token, sure))
        return out

    def check(self, video: Path, timeline: Timeline) -> Verdict:
        verdict = Verdict()
        for model in self.models:
            check_speech(self.heard(video, model), timeline, model, verdict)
        if self.ocr:
            from vidreason.tools.ocr.rapid import read_frame

            for s in timeline.slides:
                frame = _frame_at(video, (s.start + s.end) / 2)
                text = normalize(" ".join(d.text for d in read_frame(frame, min_score=0.5)))
                if not has_key(text, s.title.lower()):
                    verdict.bad_titles.add(s.index)
                    verdict.failures.append(f"ocr: slide {s.index} read {text!r}, expected {s.title!r}")
                if has_key(text, timeline.absent_title.lower()):
                    verdict.read_absent.add(timeline.absent_title)
        return verdict
