"""Speech regions grouped into Whisper windows and packed into Whisper calls, as the audio streams in.

Nearby regions are grouped into *windows* (at most ``max_window_s`` long, no silence longer than ``max_gap_s``
inside); consecutive windows are packed into one Whisper call with a short fixed silence between them (long
silences never reach the model). Both steps are greedy, so on a growing list of regions every pack but the last
is final: :class:`WindowStream` hands out finished packs while the audio still streams, holding only the audio
of windows not yet decoded (at most one pack, ``max_window_s`` seconds) and of the window still open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vidreason.tools.core.media import Span
from vidreason.tools.speech.vad import SAMPLE_RATE


def group_regions(regions: Sequence[Span], max_window_s: float, max_gap_s: float) -> list[list[Span]]:
    """Consecutive regions grouped into windows no longer than ``max_window_s`` with gaps <= ``max_gap_s``."""
    groups: list[list[Span]] = []
    for r in regions:
        if groups and _fits(groups[-1], r, max_window_s, max_gap_s):
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def _fits(group: Sequence[Span], r: Span, max_window_s: float, max_gap_s: float) -> bool:
    return r.start - group[-1].end <= max_gap_s and r.end - group[0].start <= max_window_s


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


class AudioTape:
    """The most recent audio of a stream: appended block by block, trimmed from the front."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self._t0 = 0.0  # time of the first kept sample
        self._n = 0

    @property
    def start(self) -> float:
        """Time (s) of the first sample still held."""
        return self._t0

    def append(self, block: np.ndarray) -> None:
        self._parts.append(block)
        self._n += len(block)

    def slice(self, start: float, end: float) -> np.ndarray:
        """A copy of ``[start, end)`` (seconds); must lie in what the tape still holds."""
        joined = self._joined()
        a = max(0, round((start - self._t0) * SAMPLE_RATE))
        b = max(a, round((end - self._t0) * SAMPLE_RATE))
        return np.array(joined[a:b], dtype=np.float32)

    def trim(self, before: float) -> None:
        """Forget the audio before ``before`` (seconds)."""
        joined = self._joined()
        cut = min(len(joined), max(0, round((before - self._t0) * SAMPLE_RATE)))
        if cut:
            self._parts = [joined[cut:].copy()] if cut < len(joined) else []
            self._t0 += cut / SAMPLE_RATE
            self._n -= cut

    def _joined(self) -> np.ndarray:
        if len(self._parts) != 1:
            self._parts = [np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.float32)]
        return self._parts[0]


@dataclass
class Window:
    """Regions decoded together; ``audio`` (from the first region's start to the last one's end) is set once
    the window can no longer grow."""

    regions: list[Span]
    audio: np.ndarray | None = field(default=None, repr=False)

    @property
    def start(self) -> float:
        return self.regions[0].start

    @property
    def end(self) -> float:
        return self.regions[-1].end


class WindowStream:
    """Regions in (in time order), finished packs of windows out; see the module doc."""

    def __init__(self, max_window_s: float, max_gap_s: float, pack_gap_s: float) -> None:
        self.max_window_s = max_window_s
        self.max_gap_s = max_gap_s
        self.pack_gap_s = pack_gap_s
        self.pending: list[Window] = []

    def add(self, region: Span, tape: AudioTape) -> None:
        last = self.pending[-1] if self.pending else None
        if last is not None and last.audio is None and _fits(last.regions, region, self.max_window_s, self.max_gap_s):
            last.regions.append(region)
            return
        self._close(tape)
        self.pending.append(Window([region]))

    def settle(self, earliest_next: float, tape: AudioTape) -> None:
        """Close the open window when no region starting at ``earliest_next`` or later could join it."""
        last = self.pending[-1] if self.pending else None
        stale = last is not None and (
            earliest_next - last.end > self.max_gap_s or earliest_next - last.start >= self.max_window_s
        )
        if stale:
            self._close(tape)

    def open_start(self) -> float | None:
        """Start of the window still open (its audio is still on the tape), if any."""
        last = self.pending[-1] if self.pending else None
        return last.start if last is not None and last.audio is None else None

    def ready(self, tape: AudioTape, final: bool = False) -> list[list[Window]]:
        """Packs that can no longer change (every pack when ``final``), removed from the pending windows."""
        if final:
            self._close(tape)
        packs = pack_windows([w.regions for w in self.pending], self.max_window_s, self.pack_gap_s)
        done = packs if final else packs[:-1]
        n = sum(len(p) for p in done)
        windows, self.pending = self.pending[:n], self.pending[n:]
        out: list[list[Window]] = []
        for p in done:
            out.append(windows[: len(p)])
            windows = windows[len(p) :]
        return out

    def _close(self, tape: AudioTape) -> None:
        last = self.pending[-1] if self.pending else None
        if last is not None and last.audio is None:
            last.audio = tape.slice(last.start, last.end)


__all__ = [
    "AudioTape",
    "Window",
    "WindowStream",
    "group_regions",
    "pack_windows",
    "place_in_regions",
]
