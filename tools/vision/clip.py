"""open_clip image and text encoders (``ClipEmbedder``), the default visual encoder.

``pretrained`` is an open_clip tag (weights from the Hugging Face cache; downloaded only when
``HF_HUB_OFFLINE`` is unset), a local checkpoint file, or ``"random"`` (random init of the real architecture,
``random_weights`` set: the caller marks the visual channel degraded). Weights that cannot be loaded raise
``ModelUnavailable`` at once. Load it through ``encoder.load_visual_encoder`` so a process holds one copy.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidreason.tools.core.devices import hub_offline, resolve_device
from vidreason.tools.core.errors import ConfigError, ModelUnavailable
from vidreason.tools.core.hub import offline_reason
from vidreason.tools.core.memory import release_memory
from vidreason.tools.core.settings import default_cache_dir
from vidreason.tools.vision import accel
from vidreason.tools.vision.encoder import (
    RANDOM,
    TextCache,
    cached_text_encode,
    l2_normalize,
    preprocess_frames,
    resolve_precision,
)
from vidreason.tools.vision.lean_import import load_backends, open_clip_module
from vidreason.tools.vision.offload import Parked, text_parts

log = logging.getLogger(__name__)

#: A tiny ViT CLIP (width 64, 2 layers) for tests; registered on demand (:func:`register_clip_config`).
TINY_CLIP_NAME = "vidreason-tiny-vit"
TINY_CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def register_clip_config(name: str, config: dict[str, Any], folder: Path) -> str:
    """Make an open_clip architecture ``name`` from a config dict (open_clip's ``add_model_config`` reads it
    from a JSON file written into ``folder``); idempotent."""
    open_clip = open_clip_module()
    if open_clip.get_model_config(name) == config:
        return name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(config))
    os.replace(tmp, path)
    open_clip.add_model_config(path)
    return name


def _resolve_open_clip_weights(model_name: str, pretrained: str, cache_dir: str | None) -> tuple[str, dict[str, Any]]:
    """Local checkpoint file and tag config for ``pretrained`` (tag or file); ModelUnavailable when absent."""
    open_clip = open_clip_module()
    if os.path.isfile(pretrained):
        return pretrained, {}
    cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(model_name)
        raise ConfigError(
            f"open_clip pretrained {pretrained!r} is not a tag of {model_name} nor a file; "
            f"allowed: {[*tags, RANDOM]} or a checkpoint path"
        )
    offline = hub_offline()
    hub_id = cfg.get("hf_hub", "")
    if hub_id:
        from huggingface_hub import hf_hub_download
        from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

        repo, filename = os.path.split(hub_id)
        filename = filename or HF_WEIGHTS_NAME
        if filename == HF_WEIGHTS_NAME:
            names = [HF_SAFE_WEIGHTS_NAME, filename]
        elif filename.endswith((".bin", ".pth")):
            names = [filename[:-4] + ".safetensors", filename]
        else:
            names = [filename]
        for local_only in (True, False) if not offline else (True,):
            for name in names:
                try:
                    return hf_hub_download(repo, name, cache_dir=cache_dir, local_files_only=local_only), cfg
                except Exception as e:  # not cached / offline / HTTP errors
                    log.debug("open_clip weights %s/%s (local_only=%s): %s", repo, name, local_only, e)
    url = cfg.get("url", "")
    if url:
        target = Path(cache_dir or Path.home() / ".cache" / "clip") / os.path.basename(url)
        if target.is_file():
            return str(target), cfg
        if not offline:
            try:
                return open_clip.download_pretrained_from_url(url, cache_dir=cache_dir), cfg
            except Exception as e:
                log.debug("open_clip weights from %s: %s", url, e)
    why = f"{offline_reason()} and they are not in the local cache" if offline else "the download failed"
    raise ModelUnavailable(
        f"open_clip weights {model_name}/{pretrained} could not be loaded ({why}). Download them once with "
        "network access (then `vidreason index --force VIDEO`), give a local checkpoint path, or use "
        "clip_pretrained='random' (degraded visual channel)"
    )


def _load_open_clip(
    model_name: str, pretrained: str, device: str, cache_dir: str | None, config_dir: Path, dtype: Any = None
) -> tuple[Any, dict]:
    """(model in eval mode on ``device``, preprocess cfg). With ``dtype`` the parameters are created in that
    dtype (no full-precision copy ever exists: lower peak memory)."""
    import torch

    try:
        open_clip = open_clip_module()
    except ImportError as e:  # pragma: no cover - a dependency
        raise ModelUnavailable("open_clip is not installed: `pip install open_clip_torch`") from e
    if model_name == TINY_CLIP_NAME:
        register_clip_config(TINY_CLIP_NAME, TINY_CLIP_CONFIG, config_dir)
    if open_clip.get_model_config(model_name) is None:
        raise ConfigError(f"unknown open_clip model {model_name!r}; allowed: {open_clip.list_models()}")
    try:
        load_backends(open_clip, model_name)
    except ImportError as e:
        raise ModelUnavailable(f"open_clip {model_name} needs a package that is not installed: {e}") from e
    kwargs: dict[str, Any] = {}
    checkpoint = None
    if pretrained != RANDOM:
        checkpoint, tag_cfg = _resolve_open_clip_weights(model_name, pretrained, cache_dir)
        keys = ("mean", "std", "interpolation", "resize_mode")
        kwargs["force_preprocess_cfg"] = {k: tag_cfg[k] for k in keys if k in tag_cfg}
        kwargs["force_quick_gelu"] = bool(tag_cfg.get("quick_gelu", False))
    previous = torch.get_default_dtype()
    try:
        if dtype is not None:
            torch.set_default_dtype(dtype)
        model = open_clip.create_model(model_name, pretrained=checkpoint, device=device, **kwargs)
    except (RuntimeError, OSError, ValueError) as e:
        raise ModelUnavailable(f"cannot build open_clip {model_name}/{pretrained}: {e}") from e
    finally:
        torch.set_default_dtype(previous)
    model.eval()
    from open_clip.model import get_model_preprocess_cfg

    return model, dict(get_model_preprocess_cfg(model))


class ClipEmbedder:
    """open_clip image and text encoders; outputs float32, L2-normalised (see the module doc)."""

    def __init__(
        self,
        model_name: str = "ViT-B-32",
        pretrained: str = "laion2b_s34b_b79k",
        device: str = "auto",
        *,
        batch_size: int = 32,
        text_cache_size: int = 4096,
        cache_dir: str | Path | None = None,
        config_dir: Path | None = None,
        precision: str = "auto",
    ) -> None:
        """``cache_dir``: the Hugging Face cache to look in (default: the hub's own); ``config_dir``: where
        architecture configs registered from dicts are written (default ``~/.cache/vidreason/models``)."""
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.model_name, self.pretrained = model_name, pretrained
        self.batch_size = batch_size
        self.random_weights = pretrained == RANDOM
        if self.random_weights:
            log.warning("open_clip %s with RANDOM weights: visual scores are meaningless (degraded)", model_name)
        import torch

        cpu_bf16 = self.precision == "bf16" and not self.device.startswith("cuda")
        self._model, pp = _load_open_clip(
            model_name,
            pretrained,
            self.device,
            str(cache_dir) if cache_dir else None,
            config_dir or default_cache_dir() / "models" / "open_clip_configs",
            dtype=torch.bfloat16 if cpu_bf16 else None,  # bf16 weights run on AMX / AVX512-BF16 kernels
        )
        size = pp.get("size", 224)
        self.image_size = int(size if isinstance(size, int) else size[0])
        self._pp = pp
        self.dim = int(self._model.text_projection.shape[-1]) if hasattr(self._model, "text_projection") else 0
        self._text_cache = TextCache(text_cache_size)
        tag = "random" if self.random_weights else Path(pretrained).name
        self.model_id = f"open_clip:{model_name}/{tag}"
        #: how the image tower runs (provenance of the embeddings stage)
        self.provenance: dict[str, str] = {"precision": self.precision, "device": self.device}
        if not self.device.startswith("cuda"):
            self.provenance["cpu_isa"] = accel.isa_summary()
        self._tokenizer: Any = None  # made with the first text (an index build encodes none: ~0.1 s, ~20 MB)
        self._parked_text: Parked | None = None
        self._text_lock = threading.Lock()  # parking waits for a text being encoded (and the other way round)
        #: int8 is made at the first image batch, after an index build parked the text tower (a lower peak)
        self._pending_int8 = self.precision == "int8"
        self._prepare_lock = threading.Lock()

    def park_text_tower(self, folder: Path) -> None:
        """Keep the text tower in an anonymous file in ``folder`` until a text is encoded (an index build
        encodes only images: 121-242 MB less memory for ViT-B/32). Only on CPU; a no-op while parked."""
        if self.device.startswith("cuda"):
            return
        with self._text_lock:
            if self._parked_text is None:
                self._parked_text = Parked(self._model, text_parts(self._model), folder)
                release_memory()

    def prepare_image_tower(self) -> None:
        """Make the int8 image tower now (else done by the first image batch): an index build parks the text
        tower first, then calls this before its decode pass starts, so the fp32 layers and the quantised ones
        never share memory with the text tower, the decoder or the speech model."""
        if self._pending_int8:
            with self._prepare_lock:
                if self._pending_int8:
                    self._quantize_visual()
                    self._pending_int8 = False

    def _quantize_visual(self) -> None:
        """Make the image tower int8 in place when that matches fp32 on the probe batch (else put the fp32
        layers back and record why)."""
        import torch

        visual = self._model.visual
        with torch.inference_mode():
            probe = self._preprocess(accel.probe_images(self.image_size))
            reference = visual(probe)
        try:
            undo = accel.quantize_tower(visual)
        except (RuntimeError, ImportError, AttributeError) as e:  # no quantised engine in this torch build
            self._keep_fp32(f"int8 unavailable ({type(e).__name__}: {e})")
            return
        with torch.inference_mode():
            check = accel.compare(reference, visual(probe))
        self.provenance["int8_probe_min_cosine"] = f"{check.min_cosine:.5f}"
        if not check.ok:
            accel.restore(undo)
            self._keep_fp32(f"int8 probe cosine {check.min_cosine:.4f} < {accel.MIN_COSINE}")
            return
        self.provenance["int8_engine"] = str(torch.backends.quantized.engine)
        del undo, visual  # the fp32 layers go
        release_memory()

    def _keep_fp32(self, why: str) -> None:
        log.warning("open_clip %s: image tower stays fp32: %s", self.model_name, why)
        self.precision = "fp32"
        self.provenance.update(precision="fp32", fallback=why)

    def _preprocess(self, frames: np.ndarray) -> Any:
        pp = self._pp
        x = preprocess_frames(
            frames, self.image_size, pp["mean"], pp["std"], pp.get("resize_mode", "shortest"), self.device
        )
        if self.precision == "bf16" and not self.device.startswith("cuda"):
            import torch

            x = x.to(torch.bfloat16)
        return x

    def _autocast(self) -> Any:
        import contextlib

        import torch

        if self.device.startswith("cuda") and self.precision in ("fp16", "bf16"):
            return torch.autocast("cuda", dtype=torch.float16 if self.precision == "fp16" else torch.bfloat16)
        return contextlib.nullcontext()

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """uint8 ``[N, H, W, 3]`` RGB -> float32 ``[N, dim]``, L2-normalised, in batches of ``batch_size``."""
        import torch

        if len(frames) == 0:
            return np.zeros((0, self.dim), np.float32)
        self.prepare_image_tower()
        out = []
        with torch.inference_mode(), self._autocast():
            for i in range(0, len(frames), self.batch_size):
                x = self._preprocess(frames[i : i + self.batch_size])
                out.append(self._model.encode_image(x).float().cpu().numpy())
        feats = np.concatenate(out).astype(np.float32)
        if self.dim == 0:
            self.dim = feats.shape[-1]
        return l2_normalize(feats)

    def _tokenize(self, texts: list[str]) -> Any:
        if self._tokenizer is None:
            self._tokenizer = open_clip_module().get_tokenizer(self.model_name)
        return self._tokenizer(texts)

    def _encode_text_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        out = []
        with self._text_lock:
            if self._parked_text is not None:
                self._parked_text.restore(self._model)
                self._parked_text = None
            with torch.inference_mode(), self._autocast():
                for i in range(0, len(texts), self.batch_size):
                    tokens = self._tokenize(texts[i : i + self.batch_size]).to(self.device)
                    out.append(self._model.encode_text(tokens).float().cpu().numpy())
        return l2_normalize(np.concatenate(out).astype(np.float32))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``[M, dim]`` float32 L2-normalised text embeddings (cached per text)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), np.float32)
        return cached_text_encode(self._text_cache, texts, self._encode_text_batch)

    def similarity(self, image_feats: np.ndarray, text_feats: np.ndarray) -> np.ndarray:
        """Cosine similarity: ``[N, D] x [D] -> [N]``; ``[N, D] x [M, D] -> [N, M]``."""
        return np.asarray(image_feats @ np.asarray(text_feats).T, dtype=np.float32)


# ----------------------------------------------------------------------------------------------- factory
