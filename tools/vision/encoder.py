"""The visual channel's encoder interface and the helpers its implementations share (frame preprocessing,
precision choice, a text-embedding LRU). The factory is ``vision.factory.load_visual_encoder``::

    img = enc.encode_images(frames)                # uint8 [N, H, W, 3] -> float32 [N, D] (BLIP-2: [N, Q, D])
    txt = enc.encode_texts(["a dog runs"])         # float32 [M, D], L2-normalised, LRU-cached per text
    sim = enc.similarity(img, txt[0])              # [N] cosine scores
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from vidreason.tools.core.devices import cpu_supports_bf16
from vidreason.tools.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

RANDOM = "random"


@runtime_checkable
class VisualTextEncoder(Protocol):
    """What the grounding and hierarchy code needs from an image-text model."""

    model_id: str
    dim: int
    random_weights: bool

    def encode_images(self, frames: np.ndarray) -> np.ndarray: ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray: ...

    def similarity(self, image_feats: np.ndarray, text_feats: np.ndarray) -> np.ndarray: ...


def l2_normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` -> ``fp16`` on CUDA, ``bf16`` on a CPU with native bf16 instructions, else ``fp32``."""
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise ConfigError(f"embed precision {precision!r} not allowed; use auto, fp32, bf16 or fp16")
    if precision == "auto":
        if device.startswith("cuda"):
            return "fp16"
        return "bf16" if cpu_supports_bf16() else "fp32"
    if precision == "fp16" and not device.startswith("cuda"):
        raise ConfigError("fp16 embeddings need a CUDA device; use bf16 or fp32 on the CPU")
    return precision


def preprocess_frames(
    frames: np.ndarray, size: int, mean: Sequence[float], std: Sequence[float], mode: str, device: str
) -> torch.Tensor:
    """uint8 ``[N, H, W, 3]`` -> normalised float ``[N, 3, size, size]`` on ``device`` (bicubic, antialiased).

    ``mode``: ``shortest`` (resize the short side, centre crop, as CLIP), ``squash`` (resize to a square) or
    ``longest`` (resize the long side, pad).
    """
    import torch
    import torch.nn.functional as F

    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ConfigError(f"frames must be uint8 [N, H, W, 3], got {frames.dtype} {frames.shape}")
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device).permute(0, 3, 1, 2).float().div_(255.0)
    h, w = x.shape[-2:]
    if mode == "squash":
        x = F.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
    elif mode in ("shortest", "longest"):
        scale = size / (min(h, w) if mode == "shortest" else max(h, w))
        nh, nw = max(size if mode == "shortest" else 1, round(h * scale)), max(1, round(w * scale))
        if mode == "shortest":
            nw = max(size, nw)
        x = F.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False)
        if mode == "shortest":
            top, left = (nh - size) // 2, (nw - size) // 2
            x = x[..., top : top + size, left : left + size]
        else:
            pad_h, pad_w = size - nh, size - nw
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
    else:
        raise ConfigError(f"resize mode {mode!r} not allowed; use 'shortest', 'squash' or 'longest'")
    x = x.clamp_(0.0, 1.0)
    m = torch.tensor(mean, device=device).view(1, 3, 1, 1)
    s = torch.tensor(std, device=device).view(1, 3, 1, 1)
    return (x - m) / s


class TextCache:
    """A small LRU of text -> embedding."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, key: str) -> np.ndarray | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: np.ndarray) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def cached_text_encode(cache: TextCache, texts: Sequence[str], encode: Any) -> np.ndarray:
    """Embeddings for ``texts`` in order; only the ones not in ``cache`` go to ``encode(list) -> array``."""
    if isinstance(texts, str):
        raise ConfigError("encode_texts takes a list of strings, not a single string")
    missing = list(dict.fromkeys(t for t in texts if cache.get(t) is None))
    if missing:
        for text, vec in zip(missing, encode(missing), strict=True):
            cache.put(text, vec)
    got = [cache.get(t) for t in texts]
    if any(g is None for g in got):  # cache smaller than this batch: encode the evicted ones again
        return np.asarray(encode(list(texts)), dtype=np.float32)
    return np.stack([g for g in got if g is not None]) if got else np.zeros((0, 0), np.float32)


# ----------------------------------------------------------------------------------------------- open_clip


__all__ = [
    "RANDOM",
    "TextCache",
    "VisualTextEncoder",
    "cached_text_encode",
    "l2_normalize",
    "preprocess_frames",
    "resolve_precision",
]
