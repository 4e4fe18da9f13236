"""Speech recognition with faster-whisper, placed in time by voice activity detection.

Whisper's own timestamps drift across long silences (a segment can start tens of seconds before its words), so
the audio is first split into VAD speech regions (Silero, as bundled with faster-whisper); nearby regions are
grouped into *windows* (at most ``max_window_s`` long, no silence longer than ``max_gap_s`` inside); windows
are packed into Whisper calls with a short fixed silence between them (long silences never reach the model);
every recognised word is mapped back to its own window by its midpoint, clipped into the speech region it
overlaps (or moved into the nearest one), and segments are split where their words fall into different
windows, so segment times come from words and never span a removed silence.

    transcriber = load_transcriber(settings.speech, models)  # weights loaded once per registry
    transcript = transcriber.transcribe("talk.mp4")            # or a float32 16 kHz mono array
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vidreason.tools.core.configs import SpeechConfig
from vidreason.tools.core.errors import ConfigError, NoAudioStream
from vidreason.tools.core.media import Span, Transcript, TranscriptSegment, Word
from vidreason.tools.core.models import ModelKey, ModelRegistry, default_registry
from vidreason.tools.core.settings import default_cache_dir
from vidreason.tools.speech.whisper_models import (
    ResolvedWhisper,
    load_whisper,
    resolve_whisper_model,
    whisper_compute_type,
    whisper_device,
)

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
_SILENT_PEAK = 1e-4  # peak amplitude below which audio counts as digital silence
VAD_BLOCK_S = 300.0  # voice activity detection runs on blocks of this many seconds


class AsrOptions(BaseModel):
    """Decoding and VAD options (recorded with the index stage as provenance)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    beam_size: int = Field(5, ge=1, le=20)
    vad_threshold: float = Field(0.5, gt=0, lt=1, description="Silero speech probability threshold")
    min_silence_ms: int = Field(700, ge=50, description="silence that ends a VAD speech region")
    speech_pad_ms: int = Field(200, ge=0, le=1000, description="padding added around each speech region")
    min_speech_ms: int = Field(150, ge=0, description="speech regions shorter than this are dropped")
    max_window_s: float = Field(30.0, gt=1, le=30, description="longest audio given to Whisper in one call")
    max_gap_s: float = Field(2.0, ge=0, description="longest silence kept inside one Whisper window")
    pack_gap_s: float = Field(
        1.0,
        ge=-1,
        le=5,
        description="silence put between windows packed into one Whisper call (<0: no packing)",
    )
    no_speech_threshold: float = Field(0.6, ge=0, le=1)
    log_prob_threshold: float = -1.0


def speech_regions(audio: np.ndarray, options: AsrOptions) -> list[Span]:
    """VAD speech regions (seconds), each at most ``options.max_window_s`` long."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(
        threshold=options.vad_threshold,
        min_silence_duration_ms=options.min_silence_ms,
        speech_pad_ms=options.speech_pad_ms,
        min_speech_duration_ms=options.min_speech_ms,
        max_speech_duration_s=options.max_window_s,
    )
    block = round(VAD_BLOCK_S * SAMPLE_RATE)
    join_gap = options.min_silence_ms / 1000
    out: list[Span] = []
    for b0 in range(0, len(audio), block):  # blocks bound the VAD's working memory on long audio
        t0 = b0 / SAMPLE_RATE
        for c in get_speech_timestamps(audio[b0 : b0 + block], vad, sampling_rate=SAMPLE_RATE):
            if c["end"] <= c["start"]:
                continue
            span = Span(start=t0 + c["start"] / SAMPLE_RATE, end=t0 + c["end"] / SAMPLE_RATE)
            if out and b0 and span.start - t0 < join_gap and t0 - out[-1].end < join_gap:
                span = Span(start=out.pop().start, end=span.end)  # speech running across the block edge
            out.extend(_split(span, options.max_window_s))
    return out


def _split(span: Span, max_s: float) -> list[Span]:
    """``span`` cut into equal pieces no longer than ``max_s``."""
    n = max(1, math.ceil(span.duration / max_s - 1e-9))
    step = span.duration / n
    return [
        Span(start=span.start + i * step, end=span.end if i == n - 1 else span.start + (i + 1) * step) for i in range(n)
    ]


def group_regions(regions: Sequence[Span], max_window_s: float, max_gap_s: float) -> list[list[Span]]:
    """Consecutive regions grouped into windows no longer than ``max_window_s`` with gaps <= ``max_gap_s``."""
    groups: list[list[Span]] = []
    for r in regions:
        if groups:
            g = groups[-1]
            if r.start - g[-1].end <= max_gap_s and r.end - g[0].start <= max_window_s:
                g.append(r)
                continue
        groups.append([r])
    return groups


def pack_windows(windows: Sequence[list[Span]], max_window_s: float, gap_s: float) -> list[list[list[Span]]]:
    """Consecutive windows packed into Whisper calls: their lengths plus ``gap_s`` between them fit
    ``max_window_s`` (``gap_s < 0`` disables packing: one call per window)."""
    packs: list[list[list[Span]]] = []
    used = 0.0
    for w in windows:
        length = w[-1].end - w[0].start
        if packs and gap_s >= 0 and used + gap_s + length <= max_window_s:
            packs[-1].append(w)
            used += gap_s + length
        else:
            packs.append([w])
            used = length
    return packs


def place_in_regions(start: float, end: float, regions: Sequence[Span]) -> tuple[float, float]:
    """Clip ``[start, end]`` into the region it overlaps most, or move it into the nearest region."""
    end = max(end, start)
    best, best_overlap = None, -1.0
    for r in regions:
        if r.start <= end and start <= r.end:  # touches or overlaps
            overlap = min(end, r.end) - max(start, r.start)
            if overlap > best_overlap:
                best, best_overlap = r, overlap
    if best is not None:
        return max(start, best.start), min(end, best.end)
    dur = end - start
    nearest = min(regions, key=lambda r: min(abs(start - r.end), abs(end - r.start)))
    if end <= nearest.start:
        return nearest.start, min(nearest.end, nearest.start + dur)
    return max(nearest.start, nearest.end - dur), nearest.end


def load_audio(media: str | Path | np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A float32 mono array at 16 kHz from a media path (first audio stream) or an array given as is.

    Raises ``NoAudioStream`` (no audio stream, or it decodes to nothing) and ``VideoOpenError`` (unreadable
    file).
    """
    if isinstance(media, np.ndarray):
        if sample_rate != SAMPLE_RATE:
            raise ConfigError(f"audio arrays must be {SAMPLE_RATE} Hz for Whisper, got {sample_rate} Hz")
        if media.ndim != 1:
            raise ConfigError(f"audio array must be mono 1-D, got shape {media.shape}")
        return np.ascontiguousarray(media, dtype=np.float32)
    from vidreason.tools.media.video import extract_audio

    return extract_audio(media, sample_rate=SAMPLE_RATE)


class WhisperTranscriber:
    """faster-whisper with VAD-placed word timestamps; see the module doc. Cheap to build again: the model
    itself is cached per (weights folder, device, compute type)."""

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
        self.resolved: ResolvedWhisper = resolve_whisper_model(
            model, language=self.language, cache_dir=Path(cache_dir) if cache_dir else default_cache_dir()
        )
        self.device = whisper_device(device)
        self.compute_type = whisper_compute_type(compute_type, self.device)
        registry = models or default_registry()
        key = ModelKey("whisper", self.resolved.path, self.device, self.compute_type)
        self._model = registry.get(key, lambda: load_whisper(self.resolved.path, self.device, self.compute_type))
        self.multilingual = bool(self._model.model.is_multilingual)
        if self.language not in (None, "en") and not self.multilingual:
            raise ConfigError(
                f"Whisper model {self.model_id} is English-only; language {self.language!r} needs a "
                "multilingual model (e.g. 'base' or 'large-v3')"
            )

    @classmethod
    def from_config(
        cls, config: SpeechConfig, models: ModelRegistry | None = None, options: AsrOptions | None = None
    ) -> WhisperTranscriber:
        """Built from a ``SpeechConfig`` (model, language, compute type, beam size, device, cache dir)."""
        if options is None and config.beam_size is not None:
            options = AsrOptions(beam_size=config.beam_size)
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

    def _empty(self, duration: float, reason: str, regions: list[Span] | None = None) -> Transcript:
        log.info("empty transcript: %s", reason)
        notes = [self.resolved.note] if self.resolved.note else []
        return Transcript(
            model=self.model_id, duration=duration, speech_regions=regions or [], reason=reason, notes=notes
        )

    def transcribe(self, media: str | Path | np.ndarray) -> Transcript:
        """Transcribe a media file or a float32 16 kHz mono array into a :class:`Transcript`.

        No audio stream, audio that decodes to nothing, digital silence and audio without detected speech give
        an empty transcript whose ``reason`` says which. Unreadable files raise ``VideoOpenError``.
        """
        t0 = time.perf_counter()
        try:
            audio = load_audio(media)
        except NoAudioStream as e:
            return self._empty(0.0, f"no audio: {e}")
        duration = len(audio) / SAMPLE_RATE
        if audio.size == 0:
            return self._empty(0.0, "no audio: the audio holds no samples")
        if not np.isfinite(audio).all():
            audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
        block = round(VAD_BLOCK_S * SAMPLE_RATE)  # no full-length temporary copy
        peak = max(float(np.abs(audio[i : i + block]).max()) for i in range(0, len(audio), block))
        if peak < _SILENT_PEAK:
            return self._empty(duration, f"silent audio (peak amplitude {peak:.1e})")
        regions = speech_regions(audio, self.options)
        if not regions:
            return self._empty(duration, "no speech detected by voice activity detection")
        segments: list[TranscriptSegment] = []
        lang_time: dict[str, float] = defaultdict(float)
        lang_prob: dict[str, float] = defaultdict(float)
        windows = group_regions(regions, self.options.max_window_s, self.options.max_gap_s)
        for pack in pack_windows(windows, self.options.max_window_s, self.options.pack_gap_s):
            found, lang, prob = self._transcribe_pack(audio, pack, first_id=len(segments))
            segments.extend(found)
            spoken = sum(r.duration for group in pack for r in group)
            lang_time[lang] += spoken
            lang_prob[lang] += prob * spoken
        language = max(lang_time, key=lang_time.__getitem__)
        transcript = Transcript(
            model=self.model_id,
            language=language,
            language_probability=round(lang_prob[language] / lang_time[language], 4) if lang_time[language] else None,
            duration=duration,
            segments=segments,
            speech_regions=regions,
            reason=None if segments else f"no words recognised in {len(regions)} speech region(s)",
            notes=[self.resolved.note] if self.resolved.note else [],
        )
        wall = time.perf_counter() - t0
        log.info(
            "transcribed %.1f s of audio (%d speech regions, %d segments) in %.1f s (%.1fx realtime)",
            duration,
            len(regions),
            len(segments),
            wall,
            duration / wall if wall else float("inf"),
        )
        return transcript

    def _transcribe_pack(
        self, audio: np.ndarray, pack: list[list[Span]], first_id: int
    ) -> tuple[list[TranscriptSegment], str, float]:
        """One Whisper call on the windows of ``pack`` joined with short silences; every word is mapped back
        to its own window (by its midpoint), placed into that window's speech regions, and segments are split
        where their words fall into different windows, so no segment spans a removed silence."""
        spacer = np.zeros(round(max(0.0, self.options.pack_gap_s) * SAMPLE_RATE), dtype=np.float32)
        pieces: list[np.ndarray] = []
        starts: list[float] = []  # start of each window in the joined audio (s)
        pos = 0.0
        for k, group in enumerate(pack):
            if k:
                pieces.append(spacer)
                pos += len(spacer) / SAMPLE_RATE
            piece = audio[round(group[0].start * SAMPLE_RATE) : round(group[-1].end * SAMPLE_RATE)]
            starts.append(pos)
            pieces.append(piece)
            pos += len(piece) / SAMPLE_RATE
        opts = self.options
        raw, info = self._model.transcribe(
            np.concatenate(pieces),
            language=self.language if self.multilingual else "en",
            beam_size=opts.beam_size,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
            no_speech_threshold=opts.no_speech_threshold,
            log_prob_threshold=opts.log_prob_threshold,
        )
        half_gap = max(0.0, self.options.pack_gap_s) / 2

        def window_of(t: float) -> int:
            return max(0, bisect.bisect_right(starts, t + half_gap) - 1)

        out: list[TranscriptSegment] = []
        last_start = 0.0
        for seg in raw:
            by_window: dict[int, list[tuple[str, Word]]] = defaultdict(list)
            for w in seg.words or []:
                if not w.word.strip():
                    continue
                k = window_of((w.start + w.end) / 2)
                shift = pack[k][0].start - starts[k]
                start, end = place_in_regions(w.start + shift, w.end + shift, pack[k])
                start = max(start, last_start)
                last_start = start
                word = Word(
                    text=w.word.strip(),
                    start=round(start, 3),
                    end=round(max(end, start), 3),
                    probability=round(float(w.probability), 4),
                )
                by_window[k].append((w.word, word))
            if not by_window and seg.text.strip():  # no word timings: place the segment as a whole
                k = window_of((seg.start + seg.end) / 2)
                shift = pack[k][0].start - starts[k]
                s0, s1 = place_in_regions(seg.start + shift, seg.end + shift, pack[k])
                out.append(self._segment(first_id + len(out), s0, s1, seg.text.strip(), [], seg, info))
            for k in sorted(by_window):
                items = by_window[k]
                words = [wd for _, wd in items]
                text = "".join(raw_text for raw_text, _ in items).strip()
                out.append(self._segment(first_id + len(out), words[0].start, words[-1].end, text, words, seg, info))
        return out, str(info.language), float(info.language_probability)

    @staticmethod
    def _segment(
        idx: int, start: float, end: float, text: str, words: list[Word], seg: Any, info: Any
    ) -> TranscriptSegment:
        return TranscriptSegment(
            id=idx,
            start=round(start, 3),
            end=round(max(end, start), 3),
            text=text,
            words=words,
            avg_logprob=round(float(seg.avg_logprob), 4),
            no_speech_prob=round(float(seg.no_speech_prob), 4),
            language=info.language,
        )


def load_transcriber(config: SpeechConfig, models: ModelRegistry | None = None) -> WhisperTranscriber:
    """The speech recogniser ``config`` names (its weights loaded once per registry)."""
    return WhisperTranscriber.from_config(config, models)
