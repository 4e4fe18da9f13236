"""Faster image towers on CPUs: the precision chosen from the CPU's features, and int8 dynamic quantisation.

Measured on ViT-B/32 (``benchmarks/encoder_speed.py``, images per CPU-second, one thread):

* AMX-BF16 (Xeon 4th gen+): bf16 is fastest (1.4x int8, 3.3x fp32).
* AVX512-BF16 without AMX: bf16 is *slower* than fp32; int8 (VNNI) is fastest.
* AVX2 only (e.g. AMD EPYC Zen 2/3): int8 1.8x fp32 (fbgemm's AVX2 kernels); bf16 is 8x slower than fp32.

int8 runs on torch's oneDNN quantised engine where the build has it, else x86/fbgemm. On a batch of 32 frames
with one thread (an index build's batches while Whisper runs alongside) oneDNN took 2.43 CPU-s vs 3.10 for
x86 with the math libraries capped at AVX2, and 0.88 vs 1.73 capped at AVX512-VNNI; a whole index build of
``benchmarks/index_speed.py``'s 10-minute video capped at AVX2 took 0.92x the wall time (paired runs). It
holds ~70 MB more: oneDNN keeps its packed weights beside the int8 ones.

So ``auto`` means bf16 with AMX-BF16, else int8 where torch has an x86 quantised engine, else fp32. int8 here
is torch's dynamic quantisation of every ``nn.Linear`` of the image tower (weights int8 per output channel,
activations quantised per batch on the fly) after open_clip's ``nn.MultiheadAttention`` blocks are rewritten
as two plain ``nn.Linear`` layers (the fused attention projection cannot be quantised otherwise). Every
quantised tower is checked against its fp32 original on a fixed probe batch when it is built; below
``MIN_COSINE`` the encoder stays in fp32 and says so.
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from vidreason.tools.core.devices import cpu_isa_flags, cpu_supports_bf16

log = logging.getLogger(__name__)

#: lowest cosine similarity to the fp32 embedding an accelerated path may give on any frame
MIN_COSINE = 0.99
_QUANT_ENGINES = ("onednn", "x86", "fbgemm")  # fastest first (module doc)


def int8_engine() -> str | None:
    """torch's quantised engine for x86 CPUs with AVX2 (``onednn``, else ``x86`` or ``fbgemm``), or None."""
    if "avx2" not in cpu_isa_flags():
        return None
    try:
        import torch

        engines = torch.backends.quantized.supported_engines
    except (ImportError, AttributeError):  # pragma: no cover - torch builds without quantisation
        return None
    return next((e for e in _QUANT_ENGINES if e in engines), None)


def auto_cpu_precision() -> str:
    """``bf16`` with AMX-BF16, ``int8`` where an x86 quantised engine exists, else ``fp32`` (module doc)."""
    if cpu_supports_bf16():
        return "bf16"
    return "int8" if int8_engine() else "fp32"


def isa_summary() -> str:
    """The vector extensions that decide the CPU path, as recorded in provenance (e.g. ``avx2,avx512_vnni``)."""
    keys = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    flags = cpu_isa_flags()
    return ",".join(k for k in keys if k in flags) or "baseline"


@functools.lru_cache(maxsize=1)
def _self_attention_class() -> Any:
    """The module class :func:`_self_attention` makes (defined once torch is imported). Its ``__init__`` takes
    the attention block as an argument rather than closing over it: a closure would keep the block, and with it
    the fp32 projection weights, alive as long as the class (~108 MB for ViT-B/32)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class SelfAttention(nn.Module):
        def __init__(self, mha: Any) -> None:
            super().__init__()
            d = mha.embed_dim
            self.heads = mha.num_heads
            self.batch_first = mha.batch_first
            with torch.device("meta"):  # no storage of their own: they take mha's parameters (no copy)
                self.qkv = nn.Linear(d, 3 * d, bias=mha.in_proj_bias is not None)
                self.out = nn.Linear(d, d, bias=mha.out_proj.bias is not None)
            self.qkv.weight, self.out.weight = mha.in_proj_weight, mha.out_proj.weight
            if mha.in_proj_bias is not None:
                self.qkv.bias = mha.in_proj_bias
            if mha.out_proj.bias is not None:
                self.out.bias = mha.out_proj.bias

        def forward(
            self, q: Any, k: Any = None, v: Any = None, need_weights: bool = False, attn_mask: Any = None
        ) -> Any:
            x = q if self.batch_first else q.transpose(0, 1)
            n, length, d = x.shape
            qkv = self.qkv(x).view(n, length, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
            y = self.out(y.transpose(1, 2).reshape(n, length, d))
            return (y if self.batch_first else y.transpose(0, 1)), None

    return SelfAttention


def _self_attention(mha: Any) -> Any:
    """An ``nn.Module`` computing what ``mha`` (an ``nn.MultiheadAttention`` used as self-attention) computes,
    with its projections as ``nn.Linear`` layers (quantisable)."""
    return _self_attention_class()(mha)


Undo = list[tuple[Any, str, Any]]  # (parent module, attribute, original child) in the order replaced


def _swap(parent: Any, name: str, new: Any, undo: Undo) -> None:
    undo.append((parent, name, getattr(parent, name)))
    setattr(parent, name, new)


def _linearise_attention(tower: Any, undo: Undo) -> None:
    """Replace the self-attention ``nn.MultiheadAttention`` of open_clip's residual blocks in ``tower``."""
    from torch import nn

    for block in list(tower.modules()):
        attn = getattr(block, "attn", None)
        if isinstance(attn, nn.MultiheadAttention) and attn._qkv_same_embed_dim and not hasattr(block, "ln_1_kv"):
            _swap(block, "attn", _self_attention(attn), undo)


def quantize_tower(tower: Any) -> Undo:
    """Make ``tower`` int8 in place (dynamic quantisation of every linear layer, weights per output channel);
    returns what :func:`restore` needs to put the fp32 layers back. No second fp32 copy is ever made."""
    import torch

    engine = int8_engine()
    if engine is None:
        raise RuntimeError("no x86 quantised engine (needs AVX2 and torch's fbgemm/x86 backend)")
    torch.backends.quantized.engine = engine
    undo: Undo = []
    _linearise_attention(tower, undo)
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore")
        from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
        from torch.ao.quantization import per_channel_dynamic_qconfig

        linears = [
            (parent, name, child)
            for parent in tower.modules()
            for name, child in parent.named_children()
            if type(child) is torch.nn.Linear
        ]
        for parent, name, child in linears:
            child.qconfig = per_channel_dynamic_qconfig  # type: ignore[assignment]
            _swap(parent, name, DynamicLinear.from_float(child), undo)
            del child.qconfig
    return undo


def restore(undo: Undo) -> None:
    """Put back what :func:`quantize_tower` replaced."""
    for parent, name, original in reversed(undo):
        setattr(parent, name, original)


def probe_images(size: int, n: int = 8, seed: int = 0) -> np.ndarray:
    """``n`` deterministic uint8 ``[size, size, 3]`` pictures (smooth colour fields, blocks, edges and noise):
    inputs for checking a quantised tower against its fp32 original."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        a, b = rng.uniform(0.5, 4.0, 2)
        img = np.stack([np.sin(a * xx + b * yy + k) for k in rng.uniform(0, 6.3, 3)], -1) * 0.5 + 0.5
        for _ in range(4):  # flat blocks with hard edges
            y0, x0 = rng.integers(0, size - size // 4, 2)
            img[y0 : y0 + size // 4, x0 : x0 + size // 3] = rng.uniform(0, 1, 3)
        img += rng.normal(0, 0.05 * (i % 3), img.shape).astype(np.float32)
        out[i] = np.clip(img * 255, 0, 255).astype(np.uint8)
    return out


@dataclass
class Int8Check:
    """How the int8 tower compared with fp32 on the probe batch."""

    frames: int
    min_cosine: float

    @property
    def ok(self) -> bool:
        return self.min_cosine >= MIN_COSINE


def compare(reference: Any, candidate: Any) -> Int8Check:
    """Per-image cosine similarity of two ``[N, D]`` embedding tensors."""
    import torch

    cos = torch.nn.functional.cosine_similarity(reference.float(), candidate.float(), dim=-1)
    return Int8Check(frames=len(cos), min_cosine=round(float(cos.min()), 5))


__all__ = [
    "MIN_COSINE",
    "Int8Check",
    "auto_cpu_precision",
    "compare",
    "int8_engine",
    "isa_summary",
    "probe_images",
    "quantize_tower",
    "restore",
]
