"""Issue 19, items 5, 7 and 8 (inputs and errors): still images and one-frame "videos", rotation metadata,
symlink loops, undecodable questions, corrupt or unwritable caches all end in one clear line; traces keep the
absolute video path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from media import has_ffmpeg, make_cut_video
from PIL import Image
from reliability_helpers import cli_args, fast_settings

from vidreason.agent.cli import main
from vidreason.tools.core.errors import StillImage, VideoOpenError
from vidreason.tools.index.hierarchy_build import _merge_desc
from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.media.video import iter_frames, probe

pytestmark = pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg is needed to generate the test media")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", *args], check=True)


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    """The single error line a failed command printed (no traceback, nothing multi-line)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("vidreason:")]
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("vidreason: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("inputs") / "cuts.mp4"
    make_cut_video(p, [("red", 2.0), ("testsrc2", 2.0)])
    return p


# ------------------------------------------------------------------------------------------------ item 5
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_image_renamed_mp4_is_refused_clearly(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "holiday.mp4"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(image, format=fmt)
    with pytest.raises(StillImage, match="still image"):
        probe(image)  # was: a 0 s video whose graph stage divided by zero
    cache = tmp_path / "cache"
    assert main(["index", str(image), "--no-progress", *cli_args(cache)]) == 1
    line = _error(capsys)
    assert "holiday.mp4: a still image" in line and "ffmpeg -loop 1" in line
    assert not list(cache.glob("index/*/manifest.json"))


def test_single_frame_without_duration_is_a_still_image(tmp_path: Path) -> None:
    raw = tmp_path / "frame.h264"  # an elementary stream: one frame, no timestamps, no duration
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=25", "-frames:v", "1", "-c:v", "libx264", str(raw))
    with pytest.raises(StillImage, match="one frame, no duration"):
        probe(raw)


def test_headerless_frames_get_their_duration_from_the_packets(tmp_path: Path) -> None:
    mjpeg = tmp_path / "frames.mjpeg"  # concatenated JPEGs: no duration in any header, 50 frames at 25 fps
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=25:d=2", "-c:v", "mjpeg", "-f", "mjpeg", str(mjpeg))
    info = probe(mjpeg)
    assert info.duration == pytest.approx(2.0, abs=0.05) and info.frame_count == 50  # was 0.0 s


def test_one_frame_video_with_a_duration_indexes(tmp_path: Path) -> None:
    one = tmp_path / "one.mp4"
    _ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x48:r=25", "-frames:v", "1", "-c:v", "libx264", str(one))
    index = VideoIndex.build(one, fast_settings(tmp_path / "cache"))
    assert len(index.frame_times) == 1 and index.manifest.stages["graph"].status == "ok"
    assert index.get("graph").nodes("shot")


def test_graph_merges_zero_length_shots() -> None:
    merged = _merge_desc([np.ones(8), np.full(8, 3.0)], [0.0, 0.0], "histograms")  # was ZeroDivisionError
    assert merged is not None and np.all(np.isfinite(merged))


@pytest.mark.parametrize("rotate", [90, 270])
@pytest.mark.parametrize("decoder", ["pyav", "decord"])
def test_rotation_metadata_is_applied_to_frames_and_sizes(tmp_path: Path, rotate: int, decoder: str) -> None:
    plain, phone = tmp_path / "plain.mp4", tmp_path / "phone.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x90:r=10:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(plain))
    _ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v", f"rotate={rotate}", str(phone))
    shown = tmp_path / "shown.png"  # what ffmpeg (and players) display: the frame turned by the display matrix
    _ffmpeg("-i", str(phone), "-frames:v", "1", str(shown))
    reference = np.asarray(Image.open(shown).convert("RGB"), dtype=np.int16)
    info = probe(phone)
    assert (info.width, info.height, info.rotation) == (90, 160, rotate)  # was 160x90, rotation ignored
    frame = next(iter_frames(phone, 1.0, decoder=decoder)).frames[0]
    assert frame.shape == reference.shape == (160, 90, 3)
    assert np.abs(frame.astype(np.int16) - reference).mean() < 6


def test_rotated_video_index_has_upright_thumbnails(tmp_path: Path) -> None:
    plain, phone = tmp_path / "plain.mp4", tmp_path / "phone.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(plain))
    _ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v", "rotate=90", str(phone))
    index = VideoIndex.build(phone, fast_settings(tmp_path / "cache"))
    thumb = index.thumbnail(0)
    assert thumb is not None
    width, height = Image.open(thumb).size
    assert height > width and index.info.height == 320


# ------------------------------------------------------------------------------------------------ item 7
@pytest.mark.parametrize("command", ["index", "info", "ground", "ask"])
def test_symlink_loop_is_one_line(tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    extra = ["the red screen"] if command in ("ground", "ask") else []
    assert main([command, str(loop), *extra, *cli_args(tmp_path / "cache")]) == 1
    assert "loop.mp4: symlink loop" in _error(capsys)  # was "no such file" / "unexpected error: RuntimeError"


def test_invalid_utf8_question_is_one_line(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    question = b"what \xff\xfe happens".decode("utf-8", "surrogateescape")  # how Python passes such argv bytes
    assert main(["ask", str(clip), question, *cli_args(tmp_path / "cache")]) == 1
    assert "not valid UTF-8" in _error(capsys)  # was a multi-line pydantic error


def test_cache_clear_of_a_missing_video_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.mp4"
    assert main(["cache", "clear", str(missing), "--yes", *cli_args(tmp_path / "cache")]) == 1
    assert "missing.mp4: no such file" in _error(capsys)  # was FileNotFoundError


def test_cache_path_that_is_a_file_is_one_line(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    for command in (["index", str(clip), "--no-progress"], ["ask", str(clip), "when is it red?"]):
        assert main([*command, *cli_args(not_a_folder)]) == 1
        line = _error(capsys)
        assert str(not_a_folder) in line and "Not a directory" in line  # was NotADirectoryError
    assert main(["info", str(clip), *cli_args(not_a_folder)]) == 0  # reading needs no cache folder
    assert "not indexed yet" in capsys.readouterr().out


def test_os_errors_reaching_the_cli_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from vidreason.agent.cli import _error_line

    assert _error_line(PermissionError(13, "Permission denied", "/cache/x.lock")) == "/cache/x.lock: Permission denied"
    assert "\n" not in _error_line(VideoOpenError("a\nb"))


# ------------------------------------------------------------------------------------------------ item 8
def test_traces_store_the_absolute_video_path(clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reason_helpers import install_fast_matcher

    from vidreason.agent.reasoner import VideoReasoner

    settings = fast_settings(tmp_path / "cache")
    install_fast_matcher(settings)
    monkeypatch.chdir(clip.parent)
    reasoner = VideoReasoner(settings)
    answer = reasoner.ask(clip.name, "when is the screen red?")  # a path relative to this working directory
    assert reasoner.trace(answer.trace_id).video == str(clip.resolve())  # was "cuts.mp4"
