"""Shot captions from a VLM: the ``Captioner`` interface, the registry of backends, prompts and results.

Backends (lazy ``"module:attr"`` names, nothing heavy is imported until one is loaded):

* ``transformers`` — a local VLM (Qwen2.5-VL, Qwen2-VL, SmolVLM, ...) with ``from_pretrained``; see
  :mod:`vidreason.tools.captioning.hf`;
* ``litellm`` — any vision-capable chat model (an API, or a local OpenAI-compatible server such as vLLM or
  llama.cpp) through the LLM client; see :mod:`vidreason.tools.captioning.api`.

The pass (:mod:`vidreason.tools.index.caption_run`) is fed the frame table in chunks, keeps
keyframes per shot with the near-duplicate filter of :mod:`vidreason.tools.media.keyframes` (a static shot costs one
frame), and captions finished shots in batches, so memory stays bounded by a few shots' keyframes. With no
backend configured (the CPU ``fast`` profile) or a model that cannot be loaded, the stage is skipped and
recorded as degraded with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from vidreason.tools.core.configs import CaptionConfig
from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.media import StageStatus
from vidreason.tools.core.models import ModelKey, ModelRegistry, default_registry
from vidreason.tools.core.prompting import PromptVars, load_prompt
from vidreason.tools.core.registry import LazyRegistry
from vidreason.tools.media.keyframes import Method

log = logging.getLogger(__name__)

Frame = Image.Image | np.ndarray
Clip = Sequence[Frame]
STAGE_NAME = "captions"
PROMPT_NAME = "caption"


@runtime_checkable
class Captioner(Protocol):
    """A VLM that writes one caption per clip (a clip = one shot's keyframes, in time order)."""

    model_id: str
    supports_video: bool

    def caption(self, clips: Sequence[Clip], prompt: str | Sequence[str]) -> list[str]:
        """One caption per clip, same order; ``prompt`` is shared or one per clip."""
        ...


def prompts_for(clips: Sequence[Clip], prompt: str | Sequence[str]) -> list[str]:
    """``prompt`` as one instruction per clip (``ConfigError`` when a list has the wrong length)."""
    if isinstance(prompt, str):
        return [prompt] * len(clips)
    if len(prompt) != len(clips):
        raise ConfigError(f"{len(prompt)} prompts for {len(clips)} clips; give one prompt or one per clip")
    return list(prompt)


#: backend name -> "module:attr" of a factory ``(config: CaptionConfig, **kwargs) -> Captioner``
CAPTIONERS: LazyRegistry[Any] = LazyRegistry(
    "caption backend",
    {
        "transformers": "vidreason.tools.captioning.hf:TransformersCaptioner.from_config",
        "litellm": "vidreason.tools.captioning.api:LiteLLMCaptioner.from_config",
    },
)


def load_captioner(config: CaptionConfig, models: ModelRegistry | None = None, **kwargs: Any) -> Captioner:
    """The captioner ``config.backend`` names for ``config.model``: loaded once per registry (the index build
    and the agent's inspect step share it). ``kwargs`` (a test transport, ...) give a fresh, unshared one.

    Raises ``ConfigError`` for an unknown or ``none`` backend, ``ModelUnavailable`` when weights cannot load.
    """
    if config.backend == "none":
        raise ConfigError("caption backend is 'none'; allowed for captioning: " + ", ".join(CAPTIONERS))
    factory = CAPTIONERS.load(config.backend)
    if kwargs:
        return factory(config, **kwargs)
    name = f"{config.backend}:{config.model}|{config.max_new_tokens}|{config.batch_size}|{config.api_base}"
    key = ModelKey("captioner", name, config.device)
    return (models or default_registry()).get(key, lambda: factory(config))


# ------------------------------------------------------------------------------------------------ prompt


class CaptionVars(PromptVars):
    """Variables of ``prompts/caption.j2``."""

    n_frames: int = Field(1, ge=1, description="keyframes shown (1 = a single frame)")
    numbered: bool = Field(False, description="frames carry their frame-table number (NumPro)")


def caption_prompt(n_frames: int = 2, numbered: bool = False) -> str:
    """The caption instruction (the blocks of ``caption.j2`` joined: the VLM gets one user turn)."""
    messages = load_prompt(PROMPT_NAME).render(CaptionVars, n_frames=n_frames, numbered=numbered)
    return "\n\n".join(m["content"] for m in messages)


def prompt_version(name: str = PROMPT_NAME) -> str:
    """The ``version`` in the template's front matter (part of the stage cache key)."""
    return load_prompt(name).version


# ------------------------------------------------------------------------------------------------ results


class CaptionOptions(BaseModel):
    """How shots are turned into VLM inputs."""

    model_config = ConfigDict(extra="forbid")

    max_frames: int = Field(4, ge=1, le=32)
    dedup_threshold: float = Field(0.04, ge=0, le=2)
    dedup_method: Method = "pixel"
    batch_size: int = Field(4, ge=1, le=256)
    numbered: bool = Field(False, description="draw frame-table numbers on the keyframes (NumPro)")

    @classmethod
    def from_config(cls, config: CaptionConfig, **overrides: Any) -> CaptionOptions:
        values: dict[str, Any] = {
            "max_frames": config.max_frames,
            "dedup_threshold": config.dedup_threshold,
            "batch_size": config.batch_size,
        }
        return cls(**{**values, **overrides})


class ShotCaption(BaseModel):
    """The caption of one shot and the keyframes it was written from."""

    node_id: str
    start: float
    end: float
    text: str
    frame_indices: list[int] = Field(description="frame-table indices of the keyframes shown")
    timestamps: list[float]
    frames_seen: int = Field(description="frames of the shot in the frame table")
    duplicates: int = Field(description="frames skipped as near-duplicates")


class CaptionSet(BaseModel):
    """Artefact of the captions stage: one caption per shot (none when the stage was skipped)."""

    backend: str
    model_id: str | None = None
    prompt_version: str
    options: CaptionOptions
    captions: list[ShotCaption] = Field(default_factory=list)
    status: StageStatus
    frames_seen: int = 0
    frames_sent: int = 0
    duplicates: int = 0
    caption_s: float = Field(0.0, description="seconds spent in the VLM")

    @property
    def by_node(self) -> dict[str, ShotCaption]:
        return {c.node_id: c for c in self.captions}


def cache_key_parts(config: CaptionConfig, options: CaptionOptions | None = None) -> dict[str, Any]:
    """What changes the captions: backend, model id, prompt version, generation and keyframe parameters."""
    opts = options or CaptionOptions.from_config(config)
    parts: dict[str, Any] = {"backend": config.backend}
    if config.backend != "none":
        parts.update(
            model=config.model,
            prompt=f"{PROMPT_NAME}@{prompt_version()}",
            max_new_tokens=config.max_new_tokens,
            keyframes=opts.model_dump(exclude={"batch_size"}),
        )
        if config.backend == "litellm":
            parts["api_base"] = config.api_base
    return parts
