"""Local VLM captioner with transformers: ``AutoProcessor`` + ``AutoModelForImageTextToText``, the model's
chat template, batched greedy generation, bf16/fp16 on GPU, loaded once.

A shot's keyframes go in as one short video where the model family takes video input (Qwen2-VL, Qwen2.5-VL,
Qwen3-VL, LLaVA-OneVision) and as several images otherwise (SmolVLM, Idefics3, ...); a single keyframe is
always sent as an image.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidreason.tools.captioning.base import Clip, prompts_for
from vidreason.tools.core.configs import CaptionConfig
from vidreason.tools.core.devices import hub_offline
from vidreason.tools.core.errors import ConfigError, ModelUnavailable
from vidreason.tools.media.numpro import to_pil

log = logging.getLogger(__name__)

#: model_type values whose processors take video input natively
VIDEO_MODEL_TYPES = frozenset(
    {"qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe", "llava_onevision", "llava_next_video"}
)


def _check_available(model_id: str, local_files_only: bool) -> None:
    """Fail fast (before importing transformers) when offline and the model is neither a folder nor cached."""
    if Path(model_id).is_dir() or not local_files_only:
        return
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return
    try:
        cached = try_to_load_from_cache(model_id, "config.json")
    except Exception as e:  # an invalid repo id, for instance
        raise ModelUnavailable(f"caption model {model_id!r} is not a folder nor a valid hub id: {e}") from e
    if not isinstance(cached, str):
        raise ModelUnavailable(
            f"caption model {model_id!r} is not in the Hugging Face cache and the hub is offline "
            "(HF_HUB_OFFLINE=1): download it once with network access (huggingface-cli download "
            f"{model_id}) or set VIDREASON_CAPTION_MODEL to a local folder"
        )


def resolve_dtype(device: str, dtype: str = "auto") -> Any:
    """``auto``: bf16 on a GPU that supports it, else fp16 on GPU; fp32 on CPU."""
    import torch

    table = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if dtype != "auto":
        if dtype not in table:
            raise ConfigError(f"dtype={dtype!r} is not allowed; allowed: ['auto', {', '.join(map(repr, table))}]")
        return table[dtype]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


class TransformersCaptioner:
    """A transformers image-text-to-text model used as a shot captioner (see the module docstring)."""

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        model_id: str,
        max_new_tokens: int = 64,
        batch_size: int = 4,
        use_video: bool | None = None,
        clip_fps: float = 1.0,
    ) -> None:
        self.model = model.eval()
        self.processor = processor
        self.model_id = model_id
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.clip_fps = clip_fps
        model_type = str(getattr(getattr(model, "config", None), "model_type", ""))
        has_video_proc = getattr(processor, "video_processor", None) is not None
        self.model_type = model_type
        self.supports_video = (model_type in VIDEO_MODEL_TYPES and has_video_proc) if use_video is None else use_video
        tokenizer = getattr(processor, "tokenizer", None)
        if tokenizer is not None:
            tokenizer.padding_side = "left"  # decoder-only generation pads on the left
            if tokenizer.pad_token is None and tokenizer.eos_token is not None:
                tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def load(
        cls,
        model_id: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        local_files_only: bool | None = None,
        **kwargs: Any,
    ) -> TransformersCaptioner:
        """Load ``model_id`` (hub id or folder) once. ``ModelUnavailable`` when it cannot be loaded."""
        offline = hub_offline() if local_files_only is None else local_files_only
        _check_available(model_id, offline)
        try:
            import torch
            import transformers
            from transformers import AutoModelForImageTextToText, AutoProcessor
        except ImportError as e:
            raise ModelUnavailable(f"the transformers captioner needs transformers and torch ({e})") from e
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        torch_dtype = resolve_dtype(device, dtype)
        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
        dtype_kw = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
        try:
            processor = AutoProcessor.from_pretrained(model_id, local_files_only=offline)
            model = AutoModelForImageTextToText.from_pretrained(
                model_id, local_files_only=offline, **{dtype_kw: torch_dtype}
            )
        except (OSError, ValueError, KeyError) as e:
            raise ModelUnavailable(f"cannot load caption model {model_id!r}: {type(e).__name__}: {e}") from e
        model = model.to(device)  # type: ignore[arg-type]  # transformers' stub types .to() oddly
        log.info("loaded caption model %s on %s (%s)", model_id, device, torch_dtype)
        return cls(model, processor, model_id=model_id, **kwargs)

    @classmethod
    def from_config(cls, config: CaptionConfig, **kwargs: Any) -> TransformersCaptioner:
        """``load`` with ``config.model`` on ``config.device``."""
        if not config.model:
            raise ConfigError("caption_model is empty; set VIDREASON_CAPTION_MODEL (e.g. Qwen/Qwen2.5-VL-3B-Instruct)")
        if config.device == "cpu":
            log.warning("captioning with %s on the CPU: expect seconds per shot", config.model)
        kwargs.setdefault("max_new_tokens", config.max_new_tokens)
        kwargs.setdefault("batch_size", config.batch_size)
        return cls.load(config.model, device=config.device, **kwargs)

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    def _inputs(self, clips: Sequence[Clip], prompts: Sequence[str]) -> Any:
        conversations, images, videos, metadata = [], [], [], []
        for clip, prompt in zip(clips, prompts, strict=True):
            if not clip:
                raise ConfigError("a clip to caption has no frames")
            pil = [to_pil(f) for f in clip]
            if self.supports_video and len(pil) > 1:
                content: list[dict[str, Any]] = [{"type": "video"}]
                size = pil[0].size
                videos.append(np.stack([np.asarray(p if p.size == size else p.resize(size)) for p in pil]))
                metadata.append(
                    {
                        "total_num_frames": len(pil),
                        "fps": self.clip_fps,
                        "frames_indices": list(range(len(pil))),
                    }
                )
            else:
                content = [{"type": "image"} for _ in pil]
                images.append(pil)
            content.append({"type": "text", "text": prompt})
            conversations.append([{"role": "user", "content": content}])
        texts = self.processor.apply_chat_template(conversations, add_generation_prompt=True, tokenize=False)
        kwargs: dict[str, Any] = {"text": texts, "padding": True, "return_tensors": "pt"}
        if images:
            kwargs["images"] = images
        if videos:
            kwargs["videos"] = videos
            vp = self.processor.video_processor
            if self.model_type.startswith("qwen"):
                kwargs.update(video_metadata=metadata, do_sample_frames=False)
            if hasattr(vp, "cap_pixels_per_frame"):
                kwargs["cap_pixels_per_frame"] = True
        return self.processor(**kwargs)

    def caption(self, clips: Sequence[Clip], prompt: str | Sequence[str]) -> list[str]:
        """Greedy captions for ``clips``, ``batch_size`` clips per ``generate`` call."""
        import torch

        prompts = prompts_for(clips, prompt)
        out: list[str] = []
        for i in range(0, len(clips), self.batch_size):
            inputs = self._inputs(clips[i : i + self.batch_size], prompts[i : i + self.batch_size])
            inputs = inputs.to(self.device)
            dtype = next(self.model.parameters()).dtype
            for key in ("pixel_values", "pixel_values_videos"):
                if key in inputs and inputs[key].is_floating_point():
                    inputs[key] = inputs[key].to(dtype)
            with torch.inference_mode():
                generated = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
            new_tokens = generated[:, inputs["input_ids"].shape[1] :]
            texts = self.processor.batch_decode(new_tokens, skip_special_tokens=True)
            out.extend(t.strip() for t in texts)
        return out


__all__ = ["VIDEO_MODEL_TYPES", "TransformersCaptioner", "resolve_dtype"]
