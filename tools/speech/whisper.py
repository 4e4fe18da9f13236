"""Speech recognition with faster-whisper, placed in time by voice activity detection, streamed in blocks.

Whisper's own timestamps drift across long silences (a segment can start tens of seconds before its words), so
the audio is first split into VAD speech regions (Silero, as bundled with faster-whisper); nearby regions are
grouped into windows and windows are packed into Whisper calls with a short fixed silence between them
(:mod:`~vidreason.tools.speech.windows`); every recognised word is mapped back to its own window by its
midpoint, clipped into the speech region it overlaps (or moved into the nearest one), and segments are split
where their words fall into different windows, so segment times come from words and never span a removed
silence.

The audio streams through in blocks (decoder -> VAD -> windows -> Whisper): a speech region still open at a
block edge is carried into the next block, and only the audio of windows not yet decoded is held, so memory
does not grow with the length of the media. Finished segments are held as JSON until the transcript is made
(their pydantic objects take ~10 MB per hour of continuous speech, their JSON ~1 MB).

An English-only model (``tiny.en``) turns other languages into confident-sounding English nonsense. A pack
whose words have a low mean probability is checked with a multilingual model's language detection; speech in
another language is then decoded by the multilingual model (``language_check="switch"``) or left out and the
transcript marked degraded (``"drop"``). A check that hears English (the usual case: noise, music, unclear
speech) lets the multilingual model go again, so it does not sit in memory for the rest of a long video; it stays
loaded once another language has been heard. Given ``checks_after`` (an event; the index build sets it when its
frame pass ends), checks wait for it and for the end of the audio, queued with their audio (at most
``MAX_WAITING_CHECKS`` packs, then they run at once), and the English-only model is let go before the checking
model loads: its ~0.3 GB at load (0.2 GB once loaded) adds neither to the image model's busiest moment nor to
the English model (benchmarks/index_speed.py, 180 minutes capped at AVX2: one low-confidence pack, checked at
the end, made the build's peak, 1.42 GB).

    transcriber = load_transcriber(settings.speech, models)  # weights loaded once per registry
    transcript = transcriber.transcribe("talk.mp4")            # or a float32 16 kHz mono array
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from vidreason.tools.core.configs import SpeechConfig
from vidreason.tools.core.errors import ConfigError, ModelUnavailable, NoAudioStream
from vidreason.tools.core.media import Span, Transcript, TranscriptSegment
from vidreason.tools.core.memory import release_memory
from vidreason.tools.core.models import ModelKey, ModelRegistry, default_registry
from vidreason.tools.core.settings import default_cache_dir
from vidreason.tools.speech.decode import decode_pack, mean_probability
from vidreason.tools.speech.options import AsrOptions
from vidreason.tools.speech.vad import SAMPLE_RATE, RegionStream, detect
from vidreason.tools.speech.whisper_models import (
    ResolvedWhisper,
    load_whisper,
    resolve_whisper_model,
    whisper_compute_type,
    whisper_device,
)
from vidreason.tools.speech.windows import AudioTape, Window, WindowStream

log = logging.getLogger(__name__)

_SILENT_PEAK = 1e-4  # peak amplitude below which audio counts as digital silence
BLOCK_S = 30.0  # audio streams through VAD and Whisper in blocks of this many seconds
#: packs of an English-only model whose mean word probability is below this get a language check (measured:
#: German/Mandarin read as English 0.34-0.58, English speech 0.66-0.99 on the benchmark, README "Speech")
LANGUAGE_CHECK_BELOW = 0.65
#: low-confidence packs held (with their audio, <= 30 s each) while checks wait for ``checks_after`` and the end
MAX_WAITING_CHECKS = 8
_SEGMENTS = TypeAdapter(list[TranscriptSegment])  # a pack's segments <-> JSON (see the module doc)


def speech_regions(audio: np.ndarray, options: AsrOptions) -> list[Span]:
    """VAD speech regions (seconds) of a whole array, each at most ``options.max_window_s`` long."""
    return detect(audio, options.vad)


def audio_blocks(media: str | Path | np.ndarray, block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
    """Float32 16 kHz mono blocks of a media path (first audio stream) or of an array given as is. Raises
    ``NoAudioStream`` (no audio stream, or it decodes to nothing) and ``VideoOpenError`` (unreadable file)."""
    if isinstance(media, np.ndarray):
        if media.ndim != 1:
            raise ConfigError(f"audio array must be mono 1-D, got shape {media.shape}")
        size = round(block_s * SAMPLE_RATE)
        return (np.asarray(media[i : i + size], dtype=np.float32) for i in range(0, len(media), size))
    from vidreason.tools.media.audio import iter_audio

    return iter_audio(media, sample_rate=SAMPLE_RATE, block_s=block_s)


def load_audio(media: str | Path | np.ndarray) -> np.ndarray:
    """The whole audio as one float32 16 kHz mono array (tests and short clips; transcription streams)."""
    parts = list(audio_blocks(media))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


class WhisperTranscriber:
    """faster-whisper with VAD-placed word timestamps; see the module doc. Cheap to build again: the model
    itself is cached per (weights folder, device, compute type) in the model registry."""

    block_s: float = BLOCK_S  # seconds of audio streamed through VAD and Whisper at a time

    def __init__(
        self,
        model: str = "tiny.en",
        *,
        device: str = "auto",
        compute_type: str = "auto",
        language: str | None = None,
        cache_dir: Path | None = None,
        options: AsrOptions | None = None,
        models: ModelRegistry | None = None,
    ) -> None:
        self.language = language.strip().lower() if language else None
        self.options = options or AsrOptions()
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.resolved: ResolvedWhisper = resolve_whisper_model(model, language=self.language, cache_dir=self.cache_dir)
        self.device = whisper_device(device)
        self.compute_type = whisper_compute_type(compute_type, self.device)
        self._registry = models or default_registry()
        self._main: Any = self._load(self.resolved)
        self.multilingual = bool(self._main.model.is_multilingual)
        self._fallback: tuple[ResolvedWhisper | None, Any] | None = None  # the checking model, once loaded (see above)
        if self.language not in (None, "en") and not self.multilingual:
            raise ConfigError(
                f"Whisper model {self.model_id} is English-only; language {self.language!r} needs a "
                "multilingual model (e.g. 'base' or 'large-v3')"
            )

    def _load(self, resolved: ResolvedWhisper) -> Any:
        key = ModelKey("whisper", resolved.path, self.device, self.compute_type)
        return self._registry.get(key, lambda: load_whisper(resolved.path, self.device, self.compute_type))

    @classmethod
    def from_config(
        cls, config: SpeechConfig, models: ModelRegistry | None = None, options: AsrOptions | None = None
    ) -> WhisperTranscriber:
        """Built from a ``SpeechConfig`` (model, language, compute type, beam size, best-of, language check,
        device)."""
        if options is None:
            extra: dict[str, Any] = {"language_check": config.language_check}
            if config.beam_size is not None:
                extra["beam_size"] = config.beam_size
            if config.best_of is not None:
                extra["best_of"] = config.best_of
            options = AsrOptions(**extra)
        return cls(
            config.model,
            device=config.device,
            compute_type=config.compute_type,
            language=config.language,
            cache_dir=config.cache_dir,
            options=options,
            models=models,
        )

    @property
    def model_id(self) -> str:
        return self.resolved.model_id

    @property
    def _model(self) -> Any:
        """The configured model (loaded again after :meth:`_release_model`)."""
        if self._main is None:
            self._main = self._load(self.resolved)
        return self._main

    def _release_model(self) -> None:
        """Drop the configured model (from this transcriber and the registry): a run has decoded its speech and
        only language checks are left. The next transcription loads it again."""
        self._main = None
        self._registry.release("whisper", self.resolved.path)

    def _multilingual(self) -> tuple[str, Any] | None:
        """The multilingual model that checks (and, with ``switch``, decodes) other languages; None if none."""
        if self._fallback is None:
            try:
                base = resolve_whisper_model("base", language="de", cache_dir=self.cache_dir)
                self._fallback = (base, self._load(base))
            except ModelUnavailable as e:
                log.warning("no multilingual Whisper model for the language check: %s", e)
                self._fallback = (None, None)
        found, model = self._fallback
        return (found.model_id, model) if found is not None else None

    def _release_multilingual(self) -> None:
        """Drop the checking model (from this transcriber and the registry); the next check loads it again."""
        resolved = self._fallback[0] if self._fallback is not None else None
        if resolved is not None:
            self._fallback = None
            self._registry.release("whisper", resolved.path)

    def _empty(self, duration: float, reason: str, regions: list[Span] | None = None) -> Transcript:
        log.info("empty transcript: %s", reason)
        notes = [self.resolved.note] if self.resolved.note else []
        return Transcript(
            model=self.model_id, duration=duration, speech_regions=regions or [], reason=reason, notes=notes
        )

    def transcribe(self, media: str | Path | np.ndarray, *, checks_after: threading.Event | None = None) -> Transcript:
        """Transcribe a media file or a float32 16 kHz mono array into a :class:`Transcript`, streaming it.

        No audio stream, audio that decodes to nothing, digital silence and audio without detected speech give
        an empty transcript whose ``reason`` says which. Unreadable files raise ``VideoOpenError``. Language
        checks wait for ``checks_after`` when given, and for the end of the audio (module doc).
        """
        t0 = time.perf_counter()
        run = _Run(self, checks_after)
        try:
            for block in audio_blocks(media, self.block_s):
                run.feed(block)
        except NoAudioStream as e:
            return self._empty(0.0, f"no audio: {e}")
        run.finish()
        duration = run.samples / SAMPLE_RATE
        if run.samples == 0:
            return self._empty(0.0, "no audio: the audio holds no samples")
        if run.peak < _SILENT_PEAK:
            return self._empty(duration, f"silent audio (peak amplitude {run.peak:.1e})")
        if not run.regions:
            return self._empty(duration, "no speech detected by voice activity detection")
        transcript = run.transcript(duration)
        wall = time.perf_counter() - t0
        log.info(
            "transcribed %.1f s of audio (%d speech regions, %d segments) in %.1f s (%.1fx realtime)",
            duration,
            len(run.regions),
            len(transcript.segments),
            wall,
            duration / wall if wall else float("inf"),
        )
        return transcript


@dataclass
class _Check:
    """A low-confidence pack waiting for its language check: where its segments go, and what it decoded."""

    slot: int
    pack: list[Window]
    found: list[TranscriptSegment]
    spoken: float


class _Run:
    """One streaming transcription: blocks in, segments collected as packs finish."""

    def __init__(self, tr: WhisperTranscriber, checks_after: threading.Event | None = None) -> None:
        self.tr = tr
        self.checks_after = checks_after
        self.waiting: list[_Check] = []
        self.other_heard = False  # another language was heard: the multilingual model stays
        opts = tr.options
        self.vad = RegionStream(opts.vad)
        self.tape = AudioTape()
        self.windows = WindowStream(opts.max_window_s, opts.max_gap_s, opts.pack_gap_s)
        self.regions: list[Span] = []
        self.parts: list[bytes] = []  # each pack's segments as JSON, in time order
        self.samples = 0
        self.peak = 0.0
        self.lang_time: dict[str, float] = defaultdict(float)
        self.lang_prob: dict[str, float] = defaultdict(float)
        self.notes: dict[str, float] = defaultdict(float)  # note template -> seconds of speech
        self.dropped: dict[str, float] = defaultdict(float)

    def feed(self, block: np.ndarray) -> None:
        if not np.isfinite(block).all():
            block = np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
        self.samples += len(block)
        if len(block):
            self.peak = max(self.peak, float(np.abs(block).max()))
        self.tape.append(block)
        self._regions(self.vad.feed(block), final=False)

    def finish(self) -> None:
        self._regions(self.vad.close(), final=True)
        if self.waiting and self.checks_after is not None:
            self.checks_after.wait()
            self.tr._release_model()  # its speech is decoded: the checking model does not join it (module doc)
            release_memory()
        self._run_checks()

    def _regions(self, regions: list[Span], final: bool) -> None:
        for r in regions:
            self.regions.append(r)
            self.windows.add(r, self.tape)
        if not final:
            self.windows.settle(self.vad.kept_from, self.tape)
        for pack in self.windows.ready(self.tape, final=final):
            self._decode(pack)
        open_start = self.windows.open_start()
        self.tape.trim(min(self.vad.kept_from, open_start) if open_start is not None else self.vad.kept_from)

    def _decode(self, pack: list[Window]) -> None:
        tr, opts = self.tr, self.tr.options
        language = tr.language if tr.multilingual else "en"
        found, lang, prob = decode_pack(tr._model, pack, opts, language)
        if len(pack) > 1:  # a window left empty in a packed call is decoded alone (see _retry_empty)
            found = _retry_empty(tr._model, pack, found, opts, language)
        spoken = sum(r.duration for w in pack for r in w.regions)
        check = not tr.multilingual and opts.language_check != "off" and bool(found)
        if check and mean_probability(found) < LANGUAGE_CHECK_BELOW:
            self.parts.append(b"")  # filled in by its check
            self.waiting.append(_Check(len(self.parts) - 1, pack, found, spoken))
            if self.checks_after is None or self.other_heard or len(self.waiting) >= MAX_WAITING_CHECKS:
                self._run_checks()
            return
        self.parts.append(_SEGMENTS.dump_json(found))
        self._count(lang, prob, spoken)

    def _count(self, lang: str, prob: float, spoken: float) -> None:
        self.lang_time[lang] += spoken
        self.lang_prob[lang] += prob * spoken

    def _run_checks(self) -> None:
        """Check the waiting packs, then let the multilingual model go unless another language was heard."""
        for c in self.waiting:
            found, lang, prob = self._check_language(c.pack, c.found, c.spoken)
            self.parts[c.slot] = _SEGMENTS.dump_json(found)
            self._count(lang, prob, c.spoken)
        if self.waiting and not self.other_heard:
            self.tr._release_multilingual()  # ~0.15 GB held for nothing otherwise (module doc)
        self.waiting.clear()

    def _check_language(
        self, pack: list[Window], found: list[TranscriptSegment], spoken: float
    ) -> tuple[list[TranscriptSegment], str, float]:
        """Detect the pack's language with the multilingual model; another language is decoded by it
        (``switch``) or left out (``drop``)."""
        other = self.tr._multilingual()
        if other is None:
            self.notes["low-confidence speech not checked for its language: no multilingual model"] += spoken
            return found, "en", 0.0
        name, model = other
        audio = np.concatenate([w.audio for w in pack if w.audio is not None])
        lang, prob, _ = model.detect_language(audio=audio)
        if lang == "en" or prob < 0.5:
            return found, "en", float(prob) if lang == "en" else 0.0
        self.other_heard = True
        if self.tr.options.language_check == "switch":
            self.notes[f"speech in {lang} transcribed with the multilingual {name}"] += spoken
            segs, lang2, prob2 = decode_pack(model, pack, self.tr.options, None)
            return segs, lang2, prob2
        self.dropped[lang] += spoken
        return [], lang, float(prob)

    def transcript(self, duration: float) -> Transcript:
        tr = self.tr
        language = max(self.lang_time, key=self.lang_time.__getitem__) if self.lang_time else None
        weight = self.lang_time.get(language or "", 0.0)
        notes = [tr.resolved.note] if tr.resolved.note else []
        notes += [f"{note} ({secs:.1f} s)" for note, secs in self.notes.items()]
        degraded = None
        if self.dropped:
            parts = ", ".join(f"{secs:.1f} s in {lang}" for lang, secs in self.dropped.items())
            degraded = f"speech left out ({parts}): the English-only {tr.model_id} cannot transcribe it"
        segments = [s for part in self.parts for s in _SEGMENTS.validate_json(part)]
        for i, seg in enumerate(segments):
            seg.id = i
        return Transcript(
            model=tr.model_id,
            language=language,
            language_probability=round(self.lang_prob[language] / weight, 4) if language and weight else None,
            duration=duration,
            segments=segments,
            speech_regions=self.regions,
            reason=None if segments else f"no words recognised in {len(self.regions)} speech region(s)",
            notes=notes,
            languages={k: round(v, 2) for k, v in self.lang_time.items()},
            degraded=degraded,
        )


def _retry_empty(
    model: Any, pack: list[Window], found: list[TranscriptSegment], opts: AsrOptions, language: str | None
) -> list[TranscriptSegment]:
    """Windows of a packed call that got no words, decoded one by one. Whisper can drop a whole 30 s call whose
    text looks like a repetition loop (the same line said in several windows: compression-ratio fallback), and
    windows it skips would otherwise be lost; a window with no speech at all costs one short extra call."""
    empty = [w for w in pack if not any(w.start - 0.05 <= (s.start + s.end) / 2 <= w.end + 0.05 for s in found)]
    if not empty:
        return found
    log.debug("%d of %d packed windows came back empty: decoding them alone", len(empty), len(pack))
    extra = [seg for w in empty for seg in decode_pack(model, [w], opts, language)[0]]
    return sorted(found + extra, key=lambda seg: (seg.start, seg.end))


def load_transcriber(config: SpeechConfig, models: ModelRegistry | None = None) -> WhisperTranscriber:
    """The speech recogniser ``config`` names (its weights loaded once per registry)."""
    return WhisperTranscriber.from_config(config, models)


__all__ = [
    "BLOCK_S",
    "LANGUAGE_CHECK_BELOW",
    "MAX_WAITING_CHECKS",
    "AsrOptions",
    "WhisperTranscriber",
    "audio_blocks",
    "load_audio",
    "load_transcriber",
    "speech_regions",
]
