"""open_clip imported without timm, transformers (and triton without a GPU); models that build on them still load."""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from vidreason.tools.vision.lean_import import _held_back, needed_backends

TIMM_TOWER = {
    "embed_dim": 32,
    "vision_cfg": {
        "timm_model_name": "vit_tiny_patch16_224",
        "timm_model_pretrained": False,
        "timm_pool": "",
        "timm_proj": "linear",
        "image_size": 224,
    },
    "text_cfg": {"context_length": 16, "vocab_size": 1000, "width": 64, "heads": 2, "layers": 1},
}
TINY_ROBERTA = {
    "model_type": "roberta",
    "architectures": ["RobertaModel"],
    "vocab_size": 1000,
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 40,
    "type_vocab_size": 1,
    "pad_token_id": 1,
}


def test_needed_backends_read_the_config():
    assert needed_backends(None) == []
    assert needed_backends({"vision_cfg": {"layers": 2}, "text_cfg": {"width": 8}}) == []
    hf_text = {"text_cfg": {"hf_model_name": "roberta-base"}}
    assert needed_backends({**TIMM_TOWER, **hf_text}) == ["timm", "transformers"]
    assert needed_backends({"multimodal_cfg": {"width": 8}}) == ["transformers"]  # CoCa's captioning


def test_plain_vit_loads_without_optional_packages_and_others_still_build(tmp_path: Path):
    roberta = tmp_path / "tiny-roberta"
    roberta.mkdir()
    (roberta / "config.json").write_text(json.dumps(TINY_ROBERTA))
    hf_text = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
        "text_cfg": {"hf_model_name": str(roberta), "hf_proj_type": "linear", "hf_pooler_type": "mean_pooler"},
    }
    code = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from vidreason.tools.core.devices import cuda_available
        from vidreason.tools.vision.clip import ClipEmbedder, register_clip_config
        from vidreason.tools.vision.lean_import import load_backends, open_clip_module

        clip = ClipEmbedder("ViT-B-32", "random", device="cpu", precision="fp32")
        held = {{n: n in sys.modules for n in ("timm", "transformers", "triton")}}
        assert not held["timm"] and not held["transformers"], held
        assert cuda_available() or not held["triton"], held
        assert clip.encode_images(__import__("numpy").zeros((1, 32, 32, 3), "uint8")).shape == (1, 512)

        open_clip = open_clip_module()
        folder = Path({str(tmp_path)!r})
        for name, config in (("timm-tower", {TIMM_TOWER!r}), ("hf-text", {hf_text!r})):
            register_clip_config(name, config, folder)
            load_backends(open_clip, name)
            model = open_clip.create_model(name, pretrained_hf=False)  # random weights: nothing to download
            print(name, type(model.visual).__name__, type(model.text).__name__ if hasattr(model, "text") else "-")
        import triton  # held back only while open_clip was imported
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd="/")
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.split("\n")
    assert "timm-tower TimmModel -" in lines
    assert "hf-text VisionTransformer HFTextEncoder" in lines


def test_only_the_importing_thread_is_held_back():
    fresh = [n for n in ("colorsys", "tabnanny", "sndhdr", "this") if n not in sys.modules]
    name = next((n for n in fresh if importlib.util.find_spec(n) is not None), None)
    if name is None:
        pytest.skip("every candidate stdlib module is imported already")
    got: list[object] = []
    worker = threading.Thread(target=lambda: got.append(importlib.import_module(name)))
    with _held_back([name]):
        with pytest.raises(ImportError):
            importlib.import_module(name)  # this thread: as if not installed
        worker.start()
        worker.join(30)  # other threads import as usual
    assert got and getattr(got[0], "__name__", None) == name
