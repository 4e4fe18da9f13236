"""One Whisper call on a pack of windows, with every word mapped back to its own window and speech region."""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Any

import numpy as np

from vidreason.tools.core.media import TranscriptSegment, Word
from vidreason.tools.speech.options import AsrOptions
from vidreason.tools.speech.vad import SAMPLE_RATE
from vidreason.tools.speech.windows import Window, place_in_regions


def mean_probability(segments: list[TranscriptSegment]) -> float:
    """Mean probability of all words of ``segments`` (0 when there are none)."""
    probs = [w.probability for s in segments for w in s.words if w.probability is not None]
    return float(np.mean(probs)) if probs else 0.0


def decode_pack(
    model: Any, pack: list[Window], options: AsrOptions, language: str | None
) -> tuple[list[TranscriptSegment], str, float]:
    """One Whisper call on the windows of ``pack`` joined with short silences; every word is mapped back to its
    own window (by its midpoint), placed into that window's speech regions, and segments are split where their
    words fall into different windows, so no segment spans a removed silence. Returns the segments (ids from
    0), the detected language and its probability."""
    gap = max(0.0, options.pack_gap_s)
    spacer = np.zeros(round(gap * SAMPLE_RATE), dtype=np.float32)
    pieces: list[np.ndarray] = []
    starts: list[float] = []  # start of each window in the joined audio (s)
    pos = 0.0
    for k, window in enumerate(pack):
        if window.audio is None:
            raise ValueError("a window is decoded before its audio was taken")
        if k:
            pieces.append(spacer)
            pos += len(spacer) / SAMPLE_RATE
        starts.append(pos)
        pieces.append(window.audio)
        pos += len(window.audio) / SAMPLE_RATE
    raw, info = model.transcribe(
        np.concatenate(pieces),
        language=language,
        beam_size=options.beam_size,
        best_of=options.best_of,
        word_timestamps=True,
        vad_filter=False,
        condition_on_previous_text=False,
        no_speech_threshold=options.no_speech_threshold,
        log_prob_threshold=options.log_prob_threshold,
    )

    def window_of(t: float) -> int:
        return max(0, bisect.bisect_right(starts, t + gap / 2) - 1)

    out: list[TranscriptSegment] = []
    last_start = 0.0
    for seg in raw:
        by_window: dict[int, list[tuple[str, Word]]] = defaultdict(list)
        for w in seg.words or []:
            if not w.word.strip():
                continue
            k = window_of((w.start + w.end) / 2)
            shift = pack[k].start - starts[k]
            start, end = place_in_regions(w.start + shift, w.end + shift, pack[k].regions)
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
            shift = pack[k].start - starts[k]
            s0, s1 = place_in_regions(seg.start + shift, seg.end + shift, pack[k].regions)
            out.append(_segment(len(out), s0, s1, seg.text.strip(), [], seg, info))
        for k in sorted(by_window):
            items = by_window[k]
            words = [wd for _, wd in items]
            text = "".join(raw_text for raw_text, _ in items).strip()
            out.append(_segment(len(out), words[0].start, words[-1].end, text, words, seg, info))
    return out, str(info.language), float(info.language_probability)


def _segment(
    idx: int, start: float, end: float, text: str, words: list[Word], seg: Any, info: Any
) -> TranscriptSegment:
    probs = [w.probability for w in words if w.probability is not None]
    return TranscriptSegment(
        id=idx,
        start=round(start, 3),
        end=round(max(end, start), 3),
        text=text,
        words=words,
        avg_logprob=round(float(seg.avg_logprob), 4),
        no_speech_prob=round(float(seg.no_speech_prob), 4),
        language=info.language,
        confidence=round(float(np.mean(probs)), 4) if probs else None,
    )


__all__ = ["decode_pack", "mean_probability"]
