"""Voice activity detection (Silero, as bundled with faster-whisper) over audio that arrives in blocks.

:class:`RegionStream` takes the audio block by block and returns the speech regions that can no longer change;
a region still open at a block edge (speech running on, or too little silence after it to end it) is carried:
its audio is kept and scanned again with the next block. Memory is one block plus the open region, whatever the
length of the audio, and the regions equal a one-pass scan's up to the detector's state at the restart points.

    stream = RegionStream(VadParams(threshold=0.35))
    for block in blocks:
        for region in stream.feed(block):
            ...
    for region in stream.close():
        ...
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vidreason.tools.core.media import Span

SAMPLE_RATE = 16000


class VadParams(BaseModel):
    """Silero options (milliseconds as faster-whisper names them) plus the longest region returned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(0.5, gt=0, lt=1, description="speech probability threshold")
    min_silence_ms: int = Field(700, ge=50, description="silence that ends a speech region")
    speech_pad_ms: int = Field(200, ge=0, le=1000, description="padding added around each region")
    min_speech_ms: int = Field(150, ge=0, description="regions shorter than this are dropped")
    max_region_s: float = Field(30.0, gt=1, description="longer regions are cut (at a pause when there is one)")

    @property
    def settle_s(self) -> float:
        """Audio after a region's end that the detector must have seen before the region is final."""
        return (self.min_silence_ms + 2 * self.speech_pad_ms) / 1000 + 0.5


def split_span(span: Span, max_s: float) -> list[Span]:
    """``span`` cut into equal pieces no longer than ``max_s``."""
    n = max(1, math.ceil(span.duration / max_s - 1e-9))
    step = span.duration / n
    return [
        Span(start=span.start + i * step, end=span.end if i == n - 1 else span.start + (i + 1) * step) for i in range(n)
    ]


def detect(audio: np.ndarray, params: VadParams, offset: float = 0.0) -> list[Span]:
    """Speech regions of one array (seconds from ``offset``), each at most ``params.max_region_s`` long."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if len(audio) == 0:
        return []
    options = VadOptions(
        threshold=params.threshold,
        min_silence_duration_ms=params.min_silence_ms,
        speech_pad_ms=params.speech_pad_ms,
        min_speech_duration_ms=params.min_speech_ms,
        max_speech_duration_s=params.max_region_s,
    )
    out: list[Span] = []
    for c in get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE):
        if c["end"] > c["start"]:
            span = Span(start=offset + c["start"] / SAMPLE_RATE, end=offset + c["end"] / SAMPLE_RATE)
            out.extend(split_span(span, params.max_region_s))
    return out


class RegionStream:
    """Speech regions of audio fed in blocks (see the module doc). ``kept_from`` is the earliest time (s)
    whose audio the stream still holds: no region returned later starts before it."""

    def __init__(self, params: VadParams) -> None:
        self.params = params
        self._buf = np.zeros(0, dtype=np.float32)
        self._t0 = 0.0  # time of self._buf[0]
        self._last_end = 0.0

    @property
    def kept_from(self) -> float:
        return self._t0

    @property
    def end(self) -> float:
        """Time (s) of the end of the audio fed so far."""
        return self._t0 + len(self._buf) / SAMPLE_RATE

    def feed(self, block: np.ndarray) -> list[Span]:
        """Add ``block`` (float32 16 kHz mono); returns the regions that became final."""
        self._buf = np.concatenate([self._buf, np.asarray(block, dtype=np.float32)])
        return self._scan(final=False)

    def close(self) -> list[Span]:
        """The end of the audio: every region still open is final."""
        return self._scan(final=True)

    def _scan(self, final: bool) -> list[Span]:
        found = [r for r in detect(self._buf, self.params, self._t0) if r.end > self._last_end]
        end = self.end
        if final:
            done, keep = found, end
        else:
            limit = end - self.params.settle_s
            done = []
            for r in found:
                if r.end > limit:
                    break
                done.append(r)
            rest = found[len(done) :]
            keep = rest[0].start if rest else max(self._t0, limit, done[-1].end if done else 0.0)
        if done:
            self._last_end = done[-1].end
        cut = min(len(self._buf), max(0, round((keep - self._t0) * SAMPLE_RATE)))
        self._buf = self._buf[cut:].copy()
        self._t0 += cut / SAMPLE_RATE
        return done


def stream_regions(blocks: Iterable[np.ndarray], params: VadParams) -> Iterator[Span]:
    """Every speech region of the audio ``blocks`` make up, in order."""
    stream = RegionStream(params)
    for block in blocks:
        yield from stream.feed(block)
    yield from stream.close()


__all__ = ["SAMPLE_RATE", "RegionStream", "VadParams", "detect", "split_span", "stream_regions"]
