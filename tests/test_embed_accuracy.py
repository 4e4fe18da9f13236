"""The accelerated CPU paths of the image encoder (int8, bf16, and whatever ``auto`` picks on this CPU) give
embeddings within cosine 0.99 of fp32 on every frame of a real clip: ViT-B/32 with random weights, and the same
weights saved as a checkpoint file and loaded the way real weights load (real CLIP weights cannot be
downloaded here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidreason.tools.vision.accel import MIN_COSINE, int8_engine

CLIP = "scenedetect_documentary_speech.mp4"  # 25 s, ~6 shots, 704x576 non-square pixels


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.min(np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


def _frames(shared_data: Path) -> np.ndarray:
    from vidreason.tools.media.video import iter_frames

    chunks = iter_frames(shared_data / "videos" / CLIP, 1.0, short_side=224)  # as the index decodes them
    out = np.concatenate([c.frames for c in chunks])
    assert len(out) >= 24
    return out


def _encode(frames: np.ndarray, pretrained: str, precision: str) -> tuple[np.ndarray, dict[str, str]]:
    import torch

    from vidreason.tools.vision.clip import ClipEmbedder

    torch.manual_seed(0)  # the same random weights as the reference when pretrained="random"
    enc = ClipEmbedder("ViT-B-32", pretrained, "cpu", precision=precision)
    return enc.encode_images(frames), enc.provenance


def test_accelerated_paths_match_fp32_on_every_frame(shared_data: Path, tmp_path: Path) -> None:
    """int8 (random weights and the checkpoint), bf16 and ``auto`` (checkpoint) vs fp32 on each frame."""
    import torch

    frames = _frames(shared_data)
    reference, _ = _encode(frames, "random", "fp32")
    from vidreason.tools.vision.clip import ClipEmbedder

    torch.manual_seed(0)
    checkpoint = tmp_path / "vit_b32_random.pt"  # the same weights, loaded as real weights are
    torch.save(ClipEmbedder("ViT-B-32", "random", "cpu", precision="fp32")._model.state_dict(), checkpoint)
    runs = [("checkpoint", "bf16"), ("checkpoint", "auto")]
    if int8_engine() is not None:  # x86 with AVX2 and torch's fbgemm
        runs = [("random", "int8"), ("checkpoint", "int8"), *runs]
    worst = {}
    for source, precision in runs:
        feats, how = _encode(frames, "random" if source == "random" else str(checkpoint), precision)
        assert feats.shape == reference.shape
        worst[(source, precision, how["precision"])] = _min_cosine(feats, reference)
        if precision == "int8":
            assert how["precision"] == "int8" and float(how["int8_probe_min_cosine"]) >= MIN_COSINE, how
    assert all(c >= MIN_COSINE for c in worst.values()), worst
