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

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.vision.accel import auto_cpu_precision

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


PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` -> ``fp16`` on CUDA; on a CPU ``bf16`` with AMX-BF16, ``int8`` where torch has an x86 quantised
    engine, else ``fp32`` (measured choice, see ``vision.accel``)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"embed precision {precision!r} not allowed; use {', '.join(PRECISIONS)}")
    cuda = device.startswith("cuda")
    if precision == "auto":
        return "fp16" if cuda else auto_cpu_precision()
    if precision == "fp16" and not cuda:
        raise ConfigError("fp16 embeddings need a CUDA device; use bf16, int8 or fp32 on the CPU")
    if precision == "int8" and cuda:
        raise ConfigError("int8 embeddings are a CPU path; use fp16 or bf16 on CUDA")
    return precision


def preprocess_frames(
    frames: np.ndarray, size: int, mean: Sequence[float], std: Sequence[float], mode: str, device: str
) -> torch.Tensor:
    """uint8 ``[N, H, W, 3]`` -> normalised float ``[N, 3, size, size]`` on ``device`` (bicubic, antialiased).

    ``mode``: ``shortest`` (resize the short side, centre crop, as CLIP), ``squash`` (resize to a square) or
    ``longest`` (resize the long side, pad). Frames already at the model's size (the index decodes them so)
    are only cropped and normalised: the resize would be the identity.
    """
    import torch
    import torch.nn.functional as F

    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ConfigError(f"frames must be uint8 [N, H, W, 3], got {frames.dtype} {frames.shape}")
    h, w = frames.shape[1:3]
    if mode not in ("shortest", "squash", "longest"):
        raise ConfigError(f"resize mode {mode!r} not allowed; use 'shortest', 'squash' or 'longest'")
    scale = size / (min(h, w) if mode == "shortest" else max(h, w))
    if mode == "squash":
        nh, nw = size, size
    else:
        nh, nw = max(size if mode == "shortest" else 1, round(h * scale)), max(1, round(w * scale))
        if mode == "shortest":
            nw = max(size, nw)
    m = torch.tensor(mean, device=device).view(1, 3, 1, 1)
    s = torch.tensor(std, device=device).view(1, 3, 1, 1)
    if (nh, nw) == (h, w) and mode != "longest":  # no resize (decoded at the model's size): crop, normalise
        top, left = (h - size) // 2, (w - size) // 2
        crop = np.ascontiguousarray(frames[:, top : top + size, left : left + size])
        x = torch.from_numpy(crop).to(device).permute(0, 3, 1, 2).float()
        return (x - m * 255.0) / (s * 255.0)
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device).permute(0, 3, 1, 2).float().div_(255.0)
    x = F.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False)
    if mode == "shortest":
        top, left = (nh - size) // 2, (nw - size) // 2
        x = x[..., top : top + size, left : left + size]
    elif mode == "longest":
        pad_h, pad_w = size - nh, size - nw
        x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
    x = x.clamp_(0.0, 1.0)
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
    "PRECISIONS",
    "RANDOM",
    "TextCache",
    "VisualTextEncoder",
    "cached_text_encode",
    "l2_normalize",
    "preprocess_frames",
    "resolve_precision",
]
