"""Keyframe selection with a near-duplicate filter: a static shot yields one keyframe, a busy one up to
``max_frames`` spread over the shot.

Two measures of "nearly the same frame":

* ``pixel`` (default, no model): mean absolute difference of 32x32 grey thumbnails, in [0, 1];
* ``embedding``: ``1 - cosine`` of frame embeddings (for example the CLIP embeddings the index already holds).

A frame is kept when its distance to the last *kept* frame exceeds ``threshold``. The selector works online
(frames can be streamed in chunks); it holds at most ``4 * max_frames`` candidate frames, thinning them evenly
when that bound is reached, and :meth:`KeyframeSelector.result` picks ``max_frames`` spread over the shot.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from vidreason.tools.core.errors import ConfigError

log = logging.getLogger(__name__)

Method = Literal["pixel", "embedding"]
_THUMB = 32


class KeyframeSelection(BaseModel):
    """Keyframes kept for one shot: frame-table indices, times and frames (uint8 arrays, not serialised)."""

    model_config = {"arbitrary_types_allowed": True}

    indices: list[int] = Field(default_factory=list, description="frame-table indices of the keyframes")
    timestamps: list[float] = Field(default_factory=list)
    frames: list[np.ndarray] = Field(default_factory=list, exclude=True, repr=False)
    seen: int = Field(0, description="frames offered to the selector")
    duplicates: int = Field(0, description="frames skipped as near-duplicates of the previous keyframe")

    @property
    def skipped(self) -> int:
        """Frames not sent to the captioner (duplicates plus those thinned away)."""
        return self.seen - len(self.indices)


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A 32x32 grey float32 thumbnail in [0, 1] (box-filtered: cheap and robust to noise)."""
    arr = np.asarray(frame)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ConfigError(f"frame must be [H, W, 3]; got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    grey = Image.fromarray(arr, mode="RGB").convert("L").resize((_THUMB, _THUMB), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float32) / 255.0


def frame_distance(a: np.ndarray, b: np.ndarray, method: Method = "pixel") -> float:
    """Distance in [0, 1] (pixel: mean abs thumbnail difference) or [0, 2] (embedding: 1 - cosine).

    ``a`` and ``b`` are thumbnails (pixel) or embedding vectors (embedding).
    """
    if method == "pixel":
        return float(np.abs(a - b).mean())
    if method == "embedding":
        na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
        if na == 0 or nb == 0:
            return 1.0
        return float(1.0 - np.dot(a, b) / (na * nb))
    raise ConfigError(f"method={method!r} is not allowed; allowed: ['pixel', 'embedding']")


def _spread(n: int, k: int) -> list[int]:
    """``k`` positions spread evenly over ``range(n)`` (first and last included when k >= 2)."""
    if n <= k:
        return list(range(n))
    if k == 1:
        return [n // 2]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


class KeyframeSelector:
    """Online near-duplicate filter for one shot (see the module docstring)."""

    def __init__(self, *, max_frames: int = 4, threshold: float = 0.04, method: Method = "pixel") -> None:
        if max_frames < 1:
            raise ConfigError(f"max_frames={max_frames} must be >= 1")
        if threshold < 0:
            raise ConfigError(f"threshold={threshold} must be >= 0")
        if method not in ("pixel", "embedding"):
            raise ConfigError(f"method={method!r} is not allowed; allowed: ['pixel', 'embedding']")
        self.max_frames, self.threshold, self.method = max_frames, threshold, method
        self._cap = 4 * max_frames
        self._kept: list[tuple[int, float, np.ndarray]] = []
        self._last_sig: np.ndarray | None = None
        self.seen = 0
        self.duplicates = 0

    def add(self, frame: np.ndarray, index: int, timestamp: float, embedding: np.ndarray | None = None) -> bool:
        """Offer one frame; returns whether it was kept as a candidate (not a near-duplicate)."""
        self.seen += 1
        if self.method == "embedding":
            if embedding is None:
                raise ConfigError("method='embedding' needs the frame's embedding; pass embedding=...")
            sig = np.asarray(embedding, dtype=np.float32).ravel()
        else:
            sig = thumbnail(frame)
        if self._last_sig is not None and frame_distance(sig, self._last_sig, self.method) <= self.threshold:
            self.duplicates += 1
            return False
        self._last_sig = sig
        self._kept.append((int(index), float(timestamp), frame))
        if len(self._kept) >= self._cap:  # thin evenly: keeps memory bounded for long busy shots
            self._kept = self._kept[::2]
        return True

    def result(self) -> KeyframeSelection:
        """The keyframes: at most ``max_frames`` candidates spread evenly over the shot, in time order."""
        chosen = [self._kept[i] for i in _spread(len(self._kept), self.max_frames)]
        return KeyframeSelection(
            indices=[c[0] for c in chosen],
            timestamps=[c[1] for c in chosen],
            frames=[c[2] for c in chosen],
            seen=self.seen,
            duplicates=self.duplicates,
        )


def select_keyframes(
    frames: np.ndarray | list[np.ndarray],
    indices: list[int] | np.ndarray | None = None,
    timestamps: list[float] | np.ndarray | None = None,
    *,
    max_frames: int = 4,
    threshold: float = 0.04,
    method: Method = "pixel",
    embeddings: np.ndarray | None = None,
) -> KeyframeSelection:
    """Keyframes of one shot given all its frames (``[N, H, W, 3]`` uint8); see :class:`KeyframeSelector`."""
    n = len(frames)
    idx = list(range(n)) if indices is None else [int(i) for i in indices]
    ts = [float(i) for i in idx] if timestamps is None else [float(t) for t in timestamps]
    if len(idx) != n or len(ts) != n or (embeddings is not None and len(embeddings) != n):
        raise ConfigError(f"{n} frames need as many indices/timestamps/embeddings")
    selector = KeyframeSelector(max_frames=max_frames, threshold=threshold, method=method)
    for i in range(n):
        selector.add(frames[i], idx[i], ts[i], None if embeddings is None else embeddings[i])
    return selector.result()


__all__ = ["KeyframeSelection", "KeyframeSelector", "frame_distance", "select_keyframes", "thumbnail"]
