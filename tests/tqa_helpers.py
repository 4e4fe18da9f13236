"""A generated meeting clip for temporal-QA tests: three coloured scenes with hard cuts, slides of on-screen text
at known times (ffmpeg drawtext) and speech lines at known times (espeak-ng), with the true span of each line."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from media import has_espeak, has_ffmpeg, make_speech_audio

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
DURATION = 27.0
SCENES = [("0x8b1a1a", 0.0, 9.0), ("0x1a3a8b", 9.0, 18.0), ("0x1a6b2a", 18.0, 27.0)]  # hard cuts at 9 and 18 s
SLIDES = [("BUDGET 2027", 4.5, 9.0), ("BERLIN OFFICE", 10.5, 16.0), ("THANK YOU", 22.0, 27.0)]
LINES = [
    (0.5, "Welcome to the quarterly meeting."),
    (5.0, "The budget for next year is ready."),
    (10.5, "Next we will open a new office in Berlin."),
    (16.5, "Berlin is a great city for our team."),
    (22.5, "Thank you all for listening."),
]


def has_font() -> bool:
    return FONT.is_file()


def _ffmpeg(cmd: list[str]) -> None:
    subprocess.run(["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", *cmd], check=True)


def make_meeting(folder: Path) -> tuple[Path, dict[str, tuple[float, float]]]:
    """The clip and the true span of each spoken line (keyed by its text)."""
    if not (has_ffmpeg() and has_espeak()):
        pytest.skip("ffmpeg and espeak-ng are needed to generate the meeting clip")
    if not has_font():
        pytest.skip(f"the font {FONT} (Debian: fonts-dejavu-core) is needed for on-screen text")
    wav = folder / "speech.wav"
    words = make_speech_audio(wav, LINES, DURATION, wpm=175, word_gap=0.08)
    spans: dict[str, tuple[float, float]] = {}
    for start, text in LINES:
        mine = [w for w in words if w.start >= start - 1e-6][: len(text.split())]
        spans[text] = (mine[0].start, mine[-1].end)
    inputs: list[str] = []
    for colour, a, b in SCENES:
        inputs += ["-f", "lavfi", "-i", f"color=c={colour}:s=640x360:r=25:d={b - a}"]
    chain = "".join(f"[{k}:v]" for k in range(len(SCENES))) + f"concat=n={len(SCENES)}:v=1:a=0[bg]"
    last = "bg"
    for k, (text, a, b) in enumerate(SLIDES):
        chain += (
            f";[{last}]drawtext=fontfile={FONT}:text='{text}':fontsize=54:fontcolor=white:"
            f"x=(w-text_w)/2:y=(h-text_h)/2:enable='between(t,{a},{b})'[s{k}]"
        )
        last = f"s{k}"
    out = folder / "meeting.mp4"
    _ffmpeg(
        [
            *inputs,
            "-i",
            str(wav),
            "-filter_complex",
            chain,
            "-map",
            f"[{last}]",
            "-map",
            f"{len(SCENES)}:a",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-t",
            str(DURATION),
            str(out),
        ]
    )
    return out, spans


_SHARED: dict[str, Any] = {}


def shared_meeting() -> tuple[Path, dict[str, tuple[float, float]], Path]:
    """The meeting clip, its line spans and an index cache with it built, once per test process."""
    if "clip" not in _SHARED:
        import atexit

        folder = Path(tempfile.mkdtemp(prefix="vidreason-tqa-"))
        atexit.register(shutil.rmtree, folder, True)
        path, spans = make_meeting(folder)
        _SHARED["clip"] = (path, spans, folder / "cache")
    return _SHARED["clip"]  # type: ignore[no-any-return]
