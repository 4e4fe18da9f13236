"""The accelerated CPU paths of the image encoder (int8, bf16, and whatever ``auto`` picks on this CPU) give
embeddings within cosine 0.99 of fp32 on every frame of a real clip: ViT-B/32 with random weights, and the same
weights saved as a checkpoint file and loaded the way real weights load (real CLIP weights cannot be
downloaded here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vidreason.tools.vision.accel import MIN_COSINE, int8_engine

CLIP = "scenedetect_documentary_speech.mp4"  # 25 s, ~6 shots, 704x576 non-square pixels


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.min(np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


@pytest.fixture(scope="module")
def frames(shared_data: Path) -> np.ndarray:
    from vidreason.tools.media.video import iter_frames

    chunks = iter_frames(shared_data / "videos" / CLIP, 1.0, short_side=224)  # as the index decodes them
    out = np.concatenate([c.frames for c in chunks])
    assert len(out) >= 24
    return out


@pytest.fixture(scope="module")
def reference(frames: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[np.ndarray, Path]]:
    """fp32 embeddings of every frame (seeded random ViT-B/32) and those weights saved as a checkpoint."""
    import torch

    from vidreason.tools.vision.clip import ClipEmbedder

    torch.manual_seed(0)
    fp32 = ClipEmbedder("ViT-B-32", "random", "cpu", precision="fp32")
    checkpoint = tmp_path_factory.mktemp("clip") / "vit_b32_random.pt"
    torch.save(fp32._model.state_dict(), checkpoint)
    yield fp32.encode_images(frames), checkpoint
    checkpoint.unlink()


def _encode(frames: np.ndarray, pretrained: str, precision: str) -> tuple[np.ndarray, dict[str, str]]:
    import torch

    from vidreason.tools.vision.clip import ClipEmbedder

    torch.manual_seed(0)  # the same random weights as the reference when pretrained="random"
    enc = ClipEmbedder("ViT-B-32", pretrained, "cpu", precision=precision)
    return enc.encode_images(frames), enc.provenance


@pytest.mark.skipif(int8_engine() is None, reason="no x86 quantised engine (needs AVX2 and fbgemm)")
@pytest.mark.parametrize("source", ["random", "checkpoint"])
def test_int8_matches_fp32_on_every_frame(frames: np.ndarray, reference: tuple[np.ndarray, Path], source: str) -> None:
    ref, checkpoint = reference
    feats, how = _encode(frames, "random" if source == "random" else str(checkpoint), "int8")
    assert how["precision"] == "int8" and "fallback" not in how, how
    assert float(how["int8_probe_min_cosine"]) >= MIN_COSINE
    assert feats.shape == ref.shape
    assert _min_cosine(feats, ref) >= MIN_COSINE


@pytest.mark.parametrize("precision", ["bf16", "auto"])
def test_bf16_and_auto_match_fp32_on_every_frame(
    frames: np.ndarray, reference: tuple[np.ndarray, Path], precision: str
) -> None:
    ref, checkpoint = reference
    feats, how = _encode(frames, str(checkpoint), precision)
    assert how["precision"] in ("bf16", "int8", "fp32")
    assert _min_cosine(feats, ref) >= MIN_COSINE, how
