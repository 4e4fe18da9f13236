"""Scoring for the speech benchmarks: word error rate (jiwer), missed and hallucinated lines, DER
(pyannote.metrics), RTTM reading, and the machine/load record every result carries.

    pip install 'vidreason[bench]'      # jiwer, pyannote.metrics
"""

from __future__ import annotations

import os
import platform
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speech_data import normalize

MISS_TOL = 0.1  # a reference line counts as heard when a recognised word overlaps it within this (s)
HALL_TOL = 0.3  # a recognised line overlapping no reference line within this (s) is a hallucination


@dataclass
class Line:
    start: float
    end: float
    text: str
    language: str = "en"
    speaker: str | None = None


@dataclass
class Hyp:
    """A recognised line: words as (start, end, text, probability)."""

    start: float
    end: float
    text: str
    words: list[tuple[float, float, str, float]]

    @property
    def confidence(self) -> float:
        return sum(w[3] for w in self.words) / len(self.words) if self.words else 0.0


def _overlap(a0: float, a1: float, b0: float, b1: float, tol: float) -> bool:
    return a0 < b1 + tol and b0 - tol < a1


def heard(line: Line, hyps: list[Hyp]) -> bool:
    return any(_overlap(w[0], w[1], line.start, line.end, MISS_TOL) for h in hyps for w in h.words)


def hallucinated(h: Hyp, lines: list[Line]) -> bool:
    if not normalize(h.text):
        return False
    words = h.words or [(h.start, h.end, h.text, 0.0)]
    return not any(_overlap(w[0], w[1], ln.start, ln.end, HALL_TOL) for w in words for ln in lines)


def hyp_text(hyps: list[Hyp], t0: float = -1.0, t1: float = 1e12) -> str:
    """Recognised words whose midpoint lies in ``[t0, t1)``, normalised."""
    return normalize(" ".join(w[2] for h in hyps for w in h.words if t0 <= (w[0] + w[1]) / 2 < t1))


def word_errors(ref: str, hyp: str) -> tuple[int, int]:
    """(reference words, substitutions + deletions + insertions); an empty reference counts every word."""
    import jiwer

    if not ref.split():
        return 0, len(hyp.split())
    out = jiwer.process_words(ref, hyp if hyp.strip() else "")
    return len(ref.split()), out.substitutions + out.deletions + out.insertions


def read_rttm(path: Path) -> list[tuple[float, float, str]]:
    out = []
    for row in path.read_text().splitlines():
        f = row.split()
        if f and f[0] == "SPEAKER":
            out.append((float(f[3]), float(f[3]) + float(f[4]), f[7]))
    return out


def der(
    reference: list[tuple[float, float, str]], hypothesis: list[tuple[float, float, str]], duration: float
) -> dict[str, float]:
    """pyannote.metrics diarization error rate, collar 0.25 s, overlap scored; components as fractions of the
    reference speech."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(turns: list[tuple[float, float, str]]) -> Annotation:
        a = Annotation()
        for i, (s, e, spk) in enumerate(turns):
            a[Segment(s, e), i] = spk
        return a

    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    d = metric(annotation(reference), annotation(hypothesis), uem=Timeline([Segment(0, duration)]), detailed=True)
    total = d["total"] or 1.0
    return {
        "der": d["diarization error rate"],
        "miss": d["missed detection"] / total,
        "false_alarm": d["false alarm"] / total,
        "confusion": d["confusion"] / total,
        "total": d["total"],
    }


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def cpu_record() -> dict[str, Any]:
    """CPU model, flags that matter for inference, core count and the load when measured."""
    model, flags = platform.processor() or "?", set()
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name") and model in ("?", "x86_64", ""):
                model = row.split(":", 1)[1].strip()
            if row.startswith("flags"):
                flags = set(row.split(":", 1)[1].split())
                break
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8", "fma")
    return {
        "cpu": model,
        "flags": [f for f in wanted if f in flags],
        "cores": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 2),
    }
