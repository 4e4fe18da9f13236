"""Video I/O on generated media (known durations, cuts, VFR, broken files) and the real clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from media import decode_frames, make_audio, make_cut_video, make_vfr_video

from vidreason.tools.core.errors import NoAudioStream, NoVideoStream, VideoOpenError
from vidreason.tools.media import video


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("v") / "clip.mp4"
    make_cut_video(p, [("red", 2.0), ("testsrc2", 2.0), ("blue", 2.0)], audio="tone", fps=25)
    return p


def test_probe_reports_streams_duration_and_rate(clip: Path) -> None:
    info = video.probe(clip)
    assert info.duration == pytest.approx(6.0, abs=0.1)
    assert info.fps == pytest.approx(25.0)
    assert info.frame_count == pytest.approx(150, abs=3)
    assert (info.width, info.height) == (320, 180)
    assert info.has_audio and not info.variable_frame_rate
    assert {s.kind for s in info.streams} == {"video", "audio"}


@pytest.mark.parametrize("decoder", ["pyav", "decord"])
def test_iter_frames_samples_at_fps_with_exact_timestamps(clip: Path, decoder: str) -> None:
    chunks = list(video.iter_frames(clip, 2.0, short_side=90, chunk=4, decoder=decoder))  # type: ignore[arg-type]
    assert all(len(c) <= 4 for c in chunks)
    times = np.concatenate([c.timestamps for c in chunks])
    indices = np.concatenate([c.indices for c in chunks])
    np.testing.assert_allclose(times, np.arange(12) * 0.5, atol=0.021)  # one native frame is 0.04 s
    assert indices.tolist() == list(range(12))
    frames = np.concatenate([c.frames for c in chunks])
    assert frames.shape[1:] == (90, 160, 3) and frames.dtype == np.uint8
    # the first segment is red, the last blue
    assert frames[0, ..., 0].mean() > 200 and frames[0, ..., 2].mean() < 50
    assert frames[-1, ..., 2].mean() > 200 and frames[-1, ..., 0].mean() < 50


def test_decoders_agree(clip: Path) -> None:
    a = np.concatenate([c.timestamps for c in video.iter_frames(clip, 3.0, decoder="pyav")])
    b = np.concatenate([c.timestamps for c in video.iter_frames(clip, 3.0, decoder="decord")])
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_extra_grid_shares_the_decode(clip: Path) -> None:
    chunks = list(video.iter_frames(clip, 1.0, extra_fps=4.0, chunk=8))
    table = np.concatenate([c.table().timestamps for c in chunks])
    extra = np.concatenate([c.analysis().timestamps for c in chunks])
    assert len(table) == 6 and len(extra) == 24
    assert set(np.round(table, 3)) <= set(np.round(extra, 3))
    assert np.concatenate([c.table().indices for c in chunks]).tolist() == list(range(6))


def test_variable_frame_rate_is_detected_and_sampled_by_time(tmp_path: Path) -> None:
    p = tmp_path / "vfr.mkv"
    make_vfr_video(p, [(25, 2.0), (5, 2.0), (25, 2.0)])
    info = video.probe(p)
    assert info.variable_frame_rate
    times = np.concatenate([c.timestamps for c in video.iter_frames(p, 2.0)])
    np.testing.assert_allclose(times, np.arange(len(times)) * 0.5, atol=0.11)
    assert times[-1] >= 5.4


def test_audio_is_mono_16k(clip: Path) -> None:
    audio = video.extract_audio(clip)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == pytest.approx(6 * 16000, rel=0.02)
    assert np.abs(audio).max() > 0.05  # a tone, not silence


def test_no_audio_stream(tmp_path: Path) -> None:
    p = tmp_path / "silent.mp4"
    make_cut_video(p, [("red", 1.0)])
    assert not video.probe(p).has_audio
    with pytest.raises(NoAudioStream):
        video.extract_audio(p)


def test_audio_only_file_is_not_a_video(tmp_path: Path) -> None:
    p = tmp_path / "tone.m4a"
    make_audio(p, 2.0)
    with pytest.raises(NoVideoStream):
        video.probe(p)
    assert len(video.extract_audio(p)) == pytest.approx(32000, rel=0.05)


@pytest.mark.parametrize(
    "content",
    [b"", b"this is a text file, not a video\n" * 20],
    ids=["zero-byte", "text-renamed-mp4"],
)
def test_broken_files_give_clear_errors(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "broken.mp4"
    p.write_bytes(content)
    with pytest.raises(VideoOpenError, match=r"broken\.mp4"):
        video.probe(p)
    with pytest.raises(VideoOpenError):
        list(video.iter_frames(p, 1.0))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(VideoOpenError, match="no such file"):
        video.probe(tmp_path / "nope.mp4")
    with pytest.raises(VideoOpenError, match="directory"):
        video.probe(tmp_path)


def test_truncated_file_decodes_what_is_there(clip: Path, tmp_path: Path) -> None:
    data = clip.read_bytes()
    p = tmp_path / "truncated.mp4"
    p.write_bytes(data[: len(data) // 2])
    try:
        times = np.concatenate([c.timestamps for c in video.iter_frames(p, 2.0)])
    except VideoOpenError as e:  # the moov atom may be at the end: then nothing is decodable
        assert "truncated.mp4" in str(e)
    else:
        assert 0 < len(times) <= 12


def test_unicode_path_and_tiny_resolution(tmp_path: Path) -> None:
    p = tmp_path / "vidéo 日本 😀.mp4"
    make_cut_video(p, [("green", 1.0)], size=(16, 10))
    info = video.probe(p)
    assert (info.width, info.height) == (16, 10)
    frames = np.concatenate([c.frames for c in video.iter_frames(p, 4.0, short_side=224)])
    assert frames.shape[0] == 4 and min(frames.shape[1:3]) == 224


def test_frames_match_reference_decode(clip: Path) -> None:
    ours = np.concatenate([c.frames for c in video.iter_frames(clip, 1.0)])
    ref, _ = decode_frames(clip, fps=1)
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(int) - ref.astype(int)).mean() < 8


def test_real_clips_probe_and_decode(shared_data: Path) -> None:
    for f in sorted((shared_data / "videos").iterdir()):
        info = video.probe(f)
        n = sum(len(c) for c in video.iter_frames(f, 1.0, short_side=64))
        assert n == pytest.approx(info.duration, abs=2.5), f.name
    multi = video.probe(shared_data / "videos" / "nasa_13013.mp4")
    assert sum(s.kind == "video" for s in multi.streams) == 2 and multi.video_stream == 0
    assert video.probe(shared_data / "videos" / "scenedetect_goldeneye-vfr-drop3.mp4").variable_frame_rate
