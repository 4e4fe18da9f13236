"""Frame-accurate shot boundaries: a local full-rate look around each boundary a detector found on its
(sparser) analysis grid.

For each candidate, every native frame between the analysis frames that bracket the change is decoded
(:func:`~vidreason.tools.media.video.decode_windows`: a seek and a few frames, small) and the change between
consecutive frames measured with the content detector's features. When one step carries most of the change
(a hard cut), the boundary is the first frame after it; otherwise (a fade or a dissolve) it is the frame by
which half of the change has happened. The boundary time is that frame's presentation time: the first frame
of the new shot.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vidreason.tools.core.errors import VidreasonError
from vidreason.tools.shots.base import Candidate
from vidreason.tools.shots.content import feature_distance, frame_features

log = logging.getLogger(__name__)

#: one step holding at least this share of the window's change is a hard cut
CUT_SHARE = 0.5
#: windows longer than this (seconds) are cut down around the candidate's grid time
MAX_WINDOW = 4.0
#: short side of the decoded frames (the features average them down to 36x64 anyway)
SHORT_SIDE = 72


def boundary_in(frames: np.ndarray, pts: np.ndarray) -> float | None:
    """The first frame of the new shot in ``frames`` (native rate, with ``pts``), or None when nothing
    changes."""
    if len(frames) < 2:
        return None
    hist, thumb = frame_features(frames)
    steps = feature_distance(hist[1:], thumb[1:], hist[:-1], thumb[:-1]).astype(np.float64)
    total = float(steps.sum())
    if total <= 0:
        return None
    top = int(np.argmax(steps))
    if steps[top] >= CUT_SHARE * total:
        return float(pts[top + 1])
    half = int(np.searchsorted(np.cumsum(steps), total / 2))
    return float(pts[min(half + 1, len(pts) - 1)])


def _window(c: Candidate) -> tuple[float, float]:
    lo, hi = min(c.lo, c.time), max(c.hi, c.time)
    if hi - lo > MAX_WINDOW:
        lo, hi = max(lo, c.time - MAX_WINDOW / 2), min(hi, c.time + MAX_WINDOW / 2)
    return lo, hi


def refine_boundaries(path: str | Path, candidates: Sequence[Candidate]) -> list[float | None]:
    """Frame-accurate time of each candidate (None where the look fails or sees no change: the grid time
    stays). A video that cannot be decoded again leaves every candidate unrefined, with a warning."""
    from vidreason.tools.media.video import decode_windows

    out: list[float | None] = [None] * len(candidates)
    try:
        for i, frames, pts in decode_windows(path, [_window(c) for c in candidates], short_side=SHORT_SIDE):
            out[i] = boundary_in(frames, pts)
    except (VidreasonError, OSError, ValueError) as e:
        log.warning("%s: shot boundaries left on the analysis grid: %s", path, e)
    except Exception as e:  # a decoder failure (PyAV raises its own errors): keep the grid times
        log.warning("%s: shot boundaries left on the analysis grid: %s: %s", path, type(e).__name__, e)
    return out


class Refiner:
    """``refine`` argument of :meth:`ShotDetector.finalize` for one video file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __call__(self, candidates: Sequence[Candidate]) -> list[float | None]:
        return refine_boundaries(self.path, candidates)
