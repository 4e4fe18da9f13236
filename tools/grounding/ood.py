"""Out-of-distribution evaluation: prepend seconds of noise and shift ground truth
(spec: ../shared/docs/tfvtg-algorithm.md, section 5, last item). Unlike the reference, the noise is seeded."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from vidreason.tools.core.errors import ConfigError

#: Spread of the cosine similarity between a random direction and a fixed one in 256 dimensions (the
#: BLIP-2 ITC embedding size): the curve a noise frame would produce.
NOISE_CURVE_STD = 1.0 / math.sqrt(256)


def pad_frames(n_frames: int, duration: float, pad_sec: float) -> int:
    """Number of noise frames for ``pad_sec`` seconds: ``round(n_frames / duration * pad_sec)``."""
    if not (duration > 0 and math.isfinite(duration)):
        raise ConfigError(f"duration must be a positive number of seconds; got {duration!r}")
    if not (pad_sec >= 0 and math.isfinite(pad_sec)):
        raise ConfigError(f"pad_sec must be >= 0 seconds; got {pad_sec!r}")
    return round(n_frames / duration * pad_sec)


def pad_features(features: np.ndarray, duration: float, pad_sec: float, *, seed: int) -> tuple[np.ndarray, float]:
    """Prepend standard-normal noise frames (same trailing shape and dtype) worth ``pad_sec`` seconds to
    per-frame features ``[T, ...]``; returns the padded features and the new duration (``+ pad_sec``)."""
    feats = np.asarray(features)
    n = pad_frames(feats.shape[0], duration, pad_sec)
    noise = np.random.default_rng(seed).standard_normal((n, *feats.shape[1:])).astype(feats.dtype, copy=False)
    return np.concatenate([noise, feats], axis=0), duration + pad_sec


def pad_curve(
    curve: np.ndarray,
    duration: float,
    pad_sec: float,
    *,
    seed: int,
    mean: float = 0.0,
    std: float = NOISE_CURVE_STD,
) -> tuple[np.ndarray, float]:
    """Prepend ``pad_sec`` seconds of Gaussian noise ``N(mean, std)`` to a similarity curve; returns the
    padded curve (input dtype) and the new duration. The default noise mimics the similarity of noise
    features, mostly under TFVTG's 0.2 mask."""
    c = np.asarray(curve)
    n = pad_frames(c.shape[0], duration, pad_sec)
    noise = np.random.default_rng(seed).normal(mean, std, size=(n, *c.shape[1:])).astype(c.dtype, copy=False)
    return np.concatenate([noise, c], axis=0), duration + pad_sec


def shift_spans(spans: Sequence[Sequence[float]], pad_sec: float) -> list[tuple[float, float]]:
    """Ground-truth ``(start, end)`` spans moved by the padding."""
    return [(float(s) + pad_sec, float(e) + pad_sec) for s, e, *_ in spans]
