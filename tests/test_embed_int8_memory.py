"""Making the image tower int8 lets its fp32 layers go (nothing keeps them alive once the check passed)."""

from __future__ import annotations

import gc
import weakref

import pytest

from vidreason.tools.vision.accel import int8_engine, quantize_tower


@pytest.mark.skipif(int8_engine() is None, reason="torch has no x86 quantised engine on this CPU")
def test_quantised_tower_keeps_no_fp32_projection() -> None:
    import torch
    from torch import nn

    class Block(nn.Module):  # open_clip's residual block: an ``attn`` self-attention and an MLP
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(64, 4)
            self.mlp = nn.Linear(64, 64)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.mlp(self.attn(x, x, x, need_weights=False)[0])

    tower = nn.Sequential(Block(), Block()).eval()
    x = torch.randn(5, 3, 64)
    with torch.inference_mode():
        reference = tower(x)
    originals = [weakref.ref(m) for m in tower.modules() if isinstance(m, (nn.MultiheadAttention, nn.Linear))]
    undo = quantize_tower(tower)
    with torch.inference_mode():
        assert torch.nn.functional.cosine_similarity(tower(x), reference, dim=-1).min() > 0.99
    del undo
    gc.collect()
    assert [r for r in originals if r() is not None] == []
