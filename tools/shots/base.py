"""The shot-detector interface and the helpers every detector shares (boundary selection, shot tiling)."""

from __future__ import annotations

import itertools
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar, NamedTuple

import numpy as np

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.media import FrameChunk, Shot, ShotBoundaries

log = logging.getLogger(__name__)


class Candidate(NamedTuple):
    """A boundary a detector proposes: ``time`` on its analysis grid, ``strength`` (for suppression), and the
    analysis-frame times ``lo`` < ``hi`` between which the change happened (where refinement looks)."""

    time: float
    strength: float
    lo: float
    hi: float


#: ``refine(candidates) -> times``: each candidate's frame-accurate time, or None to keep its grid time.
Refiner = Callable[[Sequence[Candidate]], Sequence[float | None]]


class ShotDetector(ABC):
    """Streaming shot detector.

    Call :meth:`update` with consecutive chunks of analysis frames (uint8 ``[N, H, W, 3]`` RGB and their
    timestamps in seconds, strictly increasing across calls), then :meth:`finalize` once. Detectors keep only
    a bounded window of frames plus a few floats per analysed frame. A detector with an analysis rate
    (``fps``) looks only at the frames of its own grid when it is fed a denser one, so every detector sees
    the video at its own rate whatever the decode grid.
    """

    name: ClassVar[str]

    def __init__(self, *, min_shot_len: float = 0.5, fps: float | None = None) -> None:
        if min_shot_len < 0:
            raise ConfigError(f"min_shot_len must be >= 0 seconds, got {min_shot_len}")
        if fps is not None and not 0 < fps <= 1000:
            raise ConfigError(f"{self.name}: fps={fps} is outside (0, 1000]")
        self.min_shot_len = float(min_shot_len)
        self.fps = fps
        self._times: list[float] = []
        self._finalized = False
        self._grid_k = 0  # next point k / fps of the detector's own grid
        self._last_in: float | None = None  # time of the last frame received (selected or not)
        self._spacing: float | None = None  # running estimate of the incoming frame spacing (seconds)

    # -- streaming input -------------------------------------------------------------------------------------
    def update(self, frames: np.ndarray, timestamps: np.ndarray) -> None:
        """Feed the next chunk of analysis frames."""
        frames, timestamps = self._check_chunk(frames, timestamps)
        if self.fps is not None and len(timestamps):
            keep = self._on_grid(timestamps)
            if not keep.all():
                frames, timestamps = frames[keep], timestamps[keep]
        if len(timestamps):
            self._times.extend(timestamps.tolist())
            self._update(frames, timestamps)

    def _on_grid(self, timestamps: np.ndarray) -> np.ndarray:
        """Which frames to look at: all of them when they arrive at about the detector's rate or slower;
        from a clearly denser stream, the first frame at or after each grid time ``k / fps`` (within half the
        incoming spacing before it: the decoder's own rule, one level up)."""
        assert self.fps is not None
        period = 1.0 / self.fps
        steps = np.diff(timestamps if self._last_in is None else np.r_[self._last_in, timestamps])
        if len(steps):
            median = float(np.median(steps))
            self._spacing = median if self._spacing is None else 0.8 * self._spacing + 0.2 * median
        self._last_in = float(timestamps[-1])
        if self._spacing is None or self._spacing >= 0.6 * period:
            self._grid_k = math.floor(self._last_in / period) + 1
            return np.ones(len(timestamps), dtype=bool)
        tol = 0.5 * self._spacing
        keep = np.zeros(len(timestamps), dtype=bool)
        for i, t in enumerate(timestamps.tolist()):
            if t >= self._grid_k * period - tol:
                keep[i] = True
                self._grid_k = max(self._grid_k + 1, math.floor((t + tol) / period) + 1)
        return keep

    def feed(self, chunk: FrameChunk) -> None:
        """:meth:`update` with the analysis frames of a decoded chunk (``chunk.analysis()``)."""
        part = chunk.analysis()
        self.update(part.frames, part.timestamps)

    def finalize(self, frame_times: np.ndarray, duration: float, *, refine: Refiner | None = None) -> ShotBoundaries:
        """Shots tiling ``[0, duration]``; ``frame_times`` is the index's sampled-frame table (seconds).

        ``refine`` moves each candidate boundary onto the exact frame (see :mod:`.refine`) before
        ``min_shot_len`` is applied, so a cut is kept or merged by its true position, not its grid one."""
        if self._finalized:
            raise RuntimeError(f"{self.name} detector already finalized; create a new one per video")
        self._finalized = True
        times = np.asarray(self._times, dtype=np.float64)
        scores, candidates, threshold = self._finalize(times)
        if refine is not None and candidates:
            refined = refine(candidates)
            candidates = [
                c if t is None else c._replace(time=float(t)) for c, t in zip(candidates, refined, strict=True)
            ]
        duration = float(max(duration, times[-1] if len(times) else 0.0))
        bounds = select_boundaries(candidates, duration, self.min_shot_len)
        shots = tile_shots(bounds, np.asarray(frame_times, dtype=np.float64), duration)
        log.info("%s: %d shots from %d analysed frames", self.name, len(shots), len(times))
        return ShotBoundaries(
            detector=self.name,
            shots=shots,
            score_times=[round(float(t), 6) for t in times],
            scores=[round(float(np.clip(s, 0.0, 1.0)), 6) for s in scores],
            threshold=threshold,
        )

    # -- implemented by detectors ----------------------------------------------------------------------------
    @abstractmethod
    def _update(self, frames: np.ndarray, timestamps: np.ndarray) -> None:
        """Consume a validated, non-empty chunk."""

    @abstractmethod
    def _finalize(self, times: np.ndarray) -> tuple[np.ndarray, list[Candidate], float | None]:
        """Per-frame scores [N], candidate boundaries and the threshold used."""

    # -- helpers ---------------------------------------------------------------------------------------------
    def _check_chunk(self, frames: np.ndarray, timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._finalized:
            raise RuntimeError(f"{self.name} detector already finalized; create a new one per video")
        frames = np.asarray(frames)
        timestamps = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ConfigError(f"frames must be uint8 [N, H, W, 3], got {frames.dtype} {frames.shape}")
        if len(frames) != len(timestamps):
            raise ConfigError(f"{len(frames)} frames but {len(timestamps)} timestamps")
        if len(timestamps) and (np.any(np.diff(timestamps) <= 0) or (self._times and timestamps[0] <= self._times[-1])):
            raise ConfigError("timestamps must be strictly increasing across update() calls")
        return frames, timestamps


def cut_time(times: np.ndarray, i: int) -> float:
    """Boundary time before analysed frame ``i``: midway between frames ``i - 1`` and ``i``."""
    return float((times[i - 1] + times[i]) / 2) if i > 0 else float(times[0])


#: slack on ``min_shot_len`` comparisons: a cut exactly ``min_shot_len`` after another one is kept
_LEN_EPS = 1e-6


def select_boundaries(candidates: Sequence[Sequence[float]], duration: float, min_shot_len: float) -> list[float]:
    """Greedy non-maximum suppression over ``(time, strength, ...)`` candidates: strongest first, each kept
    only if it is at least ``min_shot_len`` from every kept boundary and from both ends of the video. Returns
    sorted times."""
    kept: list[float] = []
    shortest = min_shot_len - _LEN_EPS
    for c in sorted(candidates, key=lambda c: (-c[1], c[0])):
        t = float(c[0])
        if t < shortest or t > duration - shortest or t <= 0 or t >= duration:
            continue
        if all(abs(t - k) >= shortest for k in kept):
            kept.append(t)
    return sorted(kept)


def tile_shots(boundaries: Sequence[float], frame_times: np.ndarray, duration: float) -> list[Shot]:
    """Shots ``[b_i, b_{i+1})`` tiling ``[0, duration]`` with inclusive frame-table index ranges.

    A shot gets the table frames whose time lies in it (the last shot also takes any frame past ``duration``);
    a shot too short to hold a table frame gets the nearest one (so ``start_frame <= end_frame`` always holds
    when the table is non-empty; with an empty table both are -1).
    """
    edges = [0.0, *sorted(b for b in boundaries if 0 < b < duration), float(duration)]
    n = len(frame_times)
    shots = []
    for i, (s, e) in enumerate(itertools.pairwise(edges)):
        last = i == len(edges) - 2
        i0 = int(np.searchsorted(frame_times, s, side="left"))
        i1 = n - 1 if last else int(np.searchsorted(frame_times, e, side="left")) - 1
        if n == 0:
            i0 = i1 = -1
        elif i1 < i0:
            i0 = i1 = int(np.argmin(np.abs(frame_times - (s + e) / 2)))
        shots.append(Shot(index=i, start=round(s, 6), end=round(e, 6), start_frame=i0, end_frame=i1))
    return shots
