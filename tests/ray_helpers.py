"""Shared helpers of the Ray tests: small generated videos and a field-for-field comparison of two indexes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from media import make_cut_video

#: fields that measure time, not content: they differ between any two builds
TIMING_FIELDS = {"wall_s", "decode_s", "run_s", "updated"}


def make_videos(folder: Path) -> tuple[list[Path], Path]:
    """Three 3 s, 160x90 clips (one with a hard cut, one with silent audio) and a corrupt file."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = [
        ([("testsrc2", 1.5), ("red", 1.5)], None),
        ([("smptebars", 3.0)], "silence"),
        ([("mandelbrot", 1.0), ("blue", 2.0)], None),
    ]
    videos = []
    for i, (segments, audio) in enumerate(specs):
        p = folder / f"clip{i}.mp4"
        make_cut_video(p, segments, size=(160, 90), fps=10, audio=audio)
        videos.append(p)
    bad = folder / "corrupt.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    return videos, bad


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIMING_FIELDS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def assert_same_index(a: Path, b: Path, *, atol: float = 0.0) -> None:
    """Two index folders hold the same stage folders (same keys) and the same artefacts, file by file.

    Files are compared byte for byte, except JSON (compared without timing fields) and, with ``atol`` > 0,
    ``.npy`` arrays (compared numerically: float kernels may round differently under other thread counts).
    """
    assert a.name == b.name, "same content hash and fps -> same index folder name"
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and not p.name.startswith("."))
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert files_a == files_b
    assert {p.name for p in (a / "stages").iterdir()} == {p.name for p in (b / "stages").iterdir()}
    for rel in files_a:
        fa, fb = a / rel, b / rel
        if fa.suffix == ".json":
            ja, jb = _strip(json.loads(fa.read_text())), _strip(json.loads(fb.read_text()))
            assert ja == jb, f"{rel} differs"
        elif fa.suffix == ".npy" and atol > 0:
            np.testing.assert_allclose(np.load(fa), np.load(fb), atol=atol, err_msg=str(rel))
        else:
            assert fa.read_bytes() == fb.read_bytes(), f"{rel} differs"
