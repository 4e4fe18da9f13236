"""Audio decoding: the first audio stream as mono float32 blocks at a fixed rate, so callers hold one block at a
time whatever the length (``iter_audio``), or as one array (``extract_audio``).

Some files carry a compressed stream whose packets are not aligned to the codec's frames (an AVI whose AC3
packets start with the tail of a frame): the decoder rejects every packet and the stream "decodes to nothing".
For AC3 / E-AC3 the raw packets are then written to a temporary elementary stream, re-synchronised on the first
frame sync word (``0x0B77``) and decoded again.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vidreason.tools.core.errors import NoAudioStream, VideoOpenError
from vidreason.tools.media.inputs import check_file

log = logging.getLogger(__name__)

BLOCK_S = 30.0  # default block length of iter_audio (seconds)
_RESYNC = {"ac3": (b"\x0b\x77", "ac3"), "eac3": (b"\x0b\x77", "eac3")}  # codec -> (sync word, demuxer)


def _open(path: str | Path, fmt: str | None = None) -> Any:
    import av

    p = check_file(path)
    try:
        return av.open(str(p), format=fmt, metadata_errors="ignore")
    except Exception as e:  # av raises many error classes (InvalidDataError, OSError subclasses, ...)
        raise VideoOpenError(f"{p}: cannot open as a media file ({type(e).__name__}: {e})") from e


class _Blocks:
    """Collects resampled samples and hands them out in blocks of ``size`` samples."""

    def __init__(self, size: int, rate: int) -> None:
        self.size = size
        self.rate = rate
        self.parts: list[np.ndarray] = []
        self.held = 0
        self.total = 0

    def put(self, frames: list[Any]) -> Iterator[np.ndarray]:
        for out in frames:
            samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            self.parts.append(samples)
            self.held += len(samples)
            self.total += len(samples)
            while self.held >= self.size:
                yield self.take(self.size)

    def take(self, n: int) -> np.ndarray:
        joined = np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0]
        block, rest = joined[:n], joined[n:]
        self.parts = [rest] if len(rest) else []
        self.held = len(rest)
        return np.array(block, dtype=np.float32)  # a copy: the joined buffer is not kept alive

    def rest(self) -> Iterator[np.ndarray]:
        if self.held:
            yield self.take(self.held)


def _decode(container: Any, stream: Any, blocks: _Blocks, path: str | Path) -> Iterator[np.ndarray]:
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=blocks.rate)
    try:
        for frame in container.decode(stream):
            yield from blocks.put(resampler.resample(frame))
        yield from blocks.put(resampler.resample(None))
    except av.error.FFmpegError as e:
        log.warning("%s: audio decoding stopped early: %s", path, e)
    yield from blocks.rest()


def _resynced(path: str | Path, codec: str, blocks: _Blocks) -> Iterator[np.ndarray]:
    """The stream's raw packets written out, cut at the first sync word and decoded as an elementary stream."""
    sync, demuxer = _RESYNC[codec]
    with tempfile.TemporaryDirectory(prefix="vidreason-audio-") as tmp:
        raw = Path(tmp) / f"stream.{demuxer}"
        head = b""
        found = False
        with _open(path) as container, open(raw, "wb") as out:
            stream = container.streams.audio[0]
            for packet in container.demux(stream):
                data = bytes(packet)
                if not found:
                    head += data
                    at = head.find(sync)
                    if at < 0:
                        head = head[-1:]
                        continue
                    data, found = head[at:], True
                out.write(data)
        if not found:
            return
        log.warning("%s: %s packets are not frame-aligned; decoding re-synchronised on the sync word", path, codec)
        with _open(raw, demuxer) as container:
            if container.streams.audio:
                yield from _decode(container, container.streams.audio[0], blocks, path)


def iter_audio(path: str | Path, sample_rate: int = 16000, block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
    """The first audio stream as mono float32 blocks of ``block_s`` seconds at ``sample_rate`` (the last one
    shorter). Raises ``NoAudioStream`` when the file has no audio stream (at once) or the stream decodes to no
    samples (when the blocks run out), ``VideoOpenError`` when the file cannot be opened."""
    container = _open(path)
    if not container.streams.audio:
        container.close()
        raise NoAudioStream(f"{path}: no audio stream")
    return _iter_audio(container, path, sample_rate, max(1, round(block_s * sample_rate)))


def _iter_audio(container: Any, path: str | Path, sample_rate: int, size: int) -> Iterator[np.ndarray]:
    blocks = _Blocks(size, sample_rate)
    with container:
        stream = container.streams.audio[0]
        codec = stream.codec_context.name
        yield from _decode(container, stream, blocks, path)
    if blocks.total == 0 and codec in _RESYNC:
        yield from _resynced(path, codec, blocks)
    if blocks.total == 0:
        raise NoAudioStream(f"{path}: the audio stream decodes to no samples")


def extract_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """The first audio stream decoded to one mono float32 array at ``sample_rate`` (see :func:`iter_audio`;
    prefer the blocks for long media: this holds the whole audio)."""
    parts = list(iter_audio(path, sample_rate))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


__all__ = ["BLOCK_S", "extract_audio", "iter_audio"]
