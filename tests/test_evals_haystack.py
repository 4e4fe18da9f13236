"""make-haystack: seeded placement, frame-exact shifted times, annotations in Charades-STA format, CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from vidreason.evals.cli import main as cli_main
from vidreason.evals.datasets import load_dataset
from vidreason.evals.haystack import Needle, load_needles, make_haystack, probe_media
from vidreason.tools.core.errors import ConfigError, DatasetError

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def _tone(path: Path, seconds: float, freq: int) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={freq}:duration={seconds}",
            str(path),
        ],
        check=True,
    )
    return path


def _colour_clip(path: Path, seconds: float, colour: str) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"color=c={colour}:s=100x60:r=10:d={seconds}",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )
    return path


def test_haystack_times_are_exact_and_seeded(tmp_path: Path) -> None:
    a = _tone(tmp_path / "a.wav", 1.5, 440)  # audio only: shown over a colour background
    b = _colour_clip(tmp_path / "b.mp4", 2.0, "red")  # video only: gets silence
    needles = [Needle(clip=a, query="tone a"), Needle(clip=b, query="red part", start=0.5, end=1.5)]
    r = make_haystack(needles, tmp_path / "out", seed=5, fps=10, size=(64, 36), filler_ratio=2.0)
    info = probe_media(Path(r.video))
    assert info.has_video and info.has_audio
    assert info.duration == pytest.approx(r.duration, abs=0.06)
    assert r.duration == pytest.approx(3.5 * 3, abs=0.2)
    segs = {s.source: s for s in r.segments if s.kind == "clip"}
    q = dict((name, (s, e)) for name, s, e in r.queries)
    assert q["tone a"] == pytest.approx((segs[str(a)].start, segs[str(a)].start + 1.5))
    assert q["red part"] == pytest.approx((segs[str(b)].start + 0.5, segs[str(b)].start + 1.5))
    assert all(abs(s.start * 10 - round(s.start * 10)) < 1e-9 for s in r.segments)  # whole frames
    # The red clip is where the annotation says: decode one frame in the middle of it.
    mid = segs[str(b)].start + 1.0
    rgb = subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-ss",
            f"{mid}",
            "-i",
            r.video,
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    centre = (18 * 64 + 32) * 3  # letterboxing pads the sides, the centre is the clip
    assert rgb[centre] > 200 and rgb[centre + 1] < 60 and rgb[0] < 30
    # Annotations: Charades-STA text + durations CSV + TFVTG json, all loadable.
    txt = load_dataset("haystack", r.annotations, durations_csv=r.durations_csv)
    assert [(s.query, s.gt_spans[0]) for s in txt] == [(n, pytest.approx((s, e), abs=0.006)) for n, s, e in r.queries]
    assert txt[0].duration == pytest.approx(r.duration)
    js = load_dataset("charades-sta", r.sidecar)
    assert js[0].duration == pytest.approx(r.duration, abs=1e-3)
    assert json.loads(Path(r.sidecar).read_text())["haystack"]["haystack"]["seed"] == 5
    # Same seed, same layout; another seed, another layout.
    r2 = make_haystack(needles, tmp_path / "out2", seed=5, fps=10, size=(64, 36), filler_ratio=2.0)
    r3 = make_haystack(needles, tmp_path / "out3", seed=6, fps=10, size=(64, 36), filler_ratio=2.0)
    assert r2.queries == r.queries and r3.queries != r.queries


def test_needle_files_and_errors(tmp_path: Path) -> None:
    a = _tone(tmp_path / "a.wav", 1.0, 300)
    spec = tmp_path / "needles.json"
    spec.write_text(json.dumps([{"clip": "a.wav", "query": "low  tone", "start": 0.1, "end": 0.9}]))
    (n,) = load_needles(spec)
    assert n.clip == a and n.query == "low tone"
    sta = tmp_path / "needles.txt"
    sta.write_text("a 0.2 0.8##low tone\n")
    assert load_needles(sta, tmp_path)[0].clip == a
    with pytest.raises(ConfigError, match="--clips"):
        load_needles(sta)
    sta.write_text("zzz 0.2 0.8##nothing\n")
    with pytest.raises(DatasetError, match="no clip named 'zzz'"):
        load_needles(sta, tmp_path)
    spec.write_text(json.dumps([{"clip": "a.wav", "query": "bad##query"}]))
    with pytest.raises(DatasetError, match="must not contain"):
        load_needles(spec)
    with pytest.raises(DatasetError, match="not inside clip"):
        make_haystack([Needle(clip=a, query="q", start=0.5, end=3.0)], tmp_path / "o")
    with pytest.raises(ConfigError, match="shorter than the clips"):
        make_haystack([Needle(clip=a, query="q")], tmp_path / "o", total_duration=0.5)
    with pytest.raises(ConfigError, match="even"):
        make_haystack([Needle(clip=a, query="q")], tmp_path / "o", size=(63, 36))


def test_cli_make_haystack_with_clip_filler(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _tone(tmp_path / "a.wav", 1.0, 500)
    fill = tmp_path / "fill"
    fill.mkdir()
    _colour_clip(fill / "blue.mp4", 0.7, "blue")  # shorter than the gaps: looped
    (tmp_path / "n.json").write_text(json.dumps([{"clip": "a.wav", "query": "beep"}]))
    rc = cli_main(
        [
            "eval",
            "make-haystack",
            "--needles",
            str(tmp_path / "n.json"),
            "--out",
            str(tmp_path / "o"),
            "--duration",
            "6",
            "--filler",
            "clips",
            "--filler-clips",
            str(fill),
            "--fps",
            "10",
            "--size",
            "64x36",
            "--name",
            "hs1",
        ]
    )
    assert rc == 0
    assert "vidreason eval haystack --annotations" in capsys.readouterr().out
    meta = json.loads((tmp_path / "o" / "hs1.json").read_text())["hs1"]
    assert meta["duration"] == pytest.approx(6.0, abs=0.11)
    assert {s["source"] for s in meta["haystack"]["segments"] if s["kind"] == "filler"} == {str(fill / "blue.mp4")}
    assert probe_media(tmp_path / "o" / "hs1.mp4").duration == pytest.approx(6.0, abs=0.11)


@pytest.mark.slow
@pytest.mark.shared_data
def test_haystack_from_real_clips(shared_data: Path, tmp_path: Path) -> None:
    """Two video streams (nasa) and non-square pixels (documentary) are normalised to one size."""
    nasa = shared_data / "videos" / "nasa_13013.mp4"
    doc = shared_data / "videos" / "scenedetect_documentary_speech.mp4"
    if not (nasa.is_file() and doc.is_file()):
        pytest.skip("real clips not present")
    needles = [Needle(clip=nasa, query="telescope", start=2.0, end=6.0), Needle(clip=doc, query="narration")]
    r = make_haystack(needles, tmp_path, seed=0, fps=5, size=(96, 54), filler_ratio=0.2)
    assert probe_media(Path(r.video)).duration == pytest.approx(r.duration, abs=0.25)
    assert r.duration == pytest.approx((16.6 + 25.1) * 1.2, abs=0.6)
