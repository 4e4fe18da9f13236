"""Shot captions from a VLM: the ``Captioner`` interface, the registry of backends, prompts and results.

Backends (lazy ``"module:attr"`` names, nothing heavy is imported until one is loaded):

* ``transformers`` — a local VLM (Qwen2.5-VL, Qwen2-VL, SmolVLM, ...) with ``from_pretrained``; see
  :mod:`vidreason.tools.caption_hf`;
* ``litellm`` — any vision-capable chat model (an API, or a local OpenAI-compatible server such as vLLM or
  llama.cpp) through the LLM client; see :mod:`vidreason.tools.caption_litellm`.

The pass (:mod:`vidreason.tools.caption_run`) is fed the frame table in chunks, keeps
keyframes per shot with the near-duplicate filter of :mod:`vidreason.tools.keyframes` (a static shot costs one
frame), and captions finished shots in batches, so memory stays bounded by a few shots' keyframes. With no
backend configured (the CPU ``fast`` profile) or a model that cannot be loaded, the stage is skipped and
recorded as degraded with the reason.
"""

from __future__ import annotations

import difflib
import importlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from vidreason.agent.errors import ConfigError
from vidreason.agent.prompting import _Vars, load_prompt, register_prompt
from vidreason.agent.settings import Settings
from vidreason.tools.keyframes import Method
from vidreason.tools.schemas import StageStatus

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


#: backend name -> "module:attr" of a factory ``(settings, **kwargs) -> Captioner``
CAPTIONERS: dict[str, str] = {
    "transformers": "vidreason.tools.caption_hf:TransformersCaptioner.from_settings",
    "litellm": "vidreason.tools.caption_litellm:LiteLLMCaptioner.from_settings",
}


def _resolve(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def load_captioner(settings: Settings, backend: str | None = None, **kwargs: Any) -> Captioner:
    """The captioner named by ``backend`` (default ``settings.caption_backend``) for
    ``settings.caption_model``.

    Raises ``ConfigError`` for an unknown or ``none`` backend, ``ModelUnavailable`` when weights cannot load.
    """
    name = backend or settings.caption_backend or "none"
    if name == "none":
        raise ConfigError("caption backend is 'none'; allowed for captioning: " + ", ".join(CAPTIONERS))
    if name not in CAPTIONERS:
        close = difflib.get_close_matches(name, CAPTIONERS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown caption backend {name!r}{hint} (known: {', '.join(CAPTIONERS)}, none)")
    factory = _resolve(CAPTIONERS[name])
    captioner: Captioner = factory(settings, **kwargs)
    return captioner


_LOADED: dict[tuple[Any, ...], Captioner] = {}


def shared_captioner(settings: Settings) -> Captioner:
    """:func:`load_captioner` once per process for the same backend/model/device/generation settings
    (the agent's inspect step calls this per question; the weights load once)."""
    key = (
        settings.caption_backend,
        settings.caption_model,
        settings.torch_device,
        settings.caption_max_new_tokens,
        settings.caption_batch_size,
        settings.caption_api_base,
        settings.llm_api_base,
    )
    if key not in _LOADED:
        _LOADED[key] = load_captioner(settings)
    return _LOADED[key]


# ------------------------------------------------------------------------------------------------ prompt


class CaptionVars(_Vars):
    """Variables of ``prompts/caption.j2``."""

    n_frames: int = Field(1, ge=1, description="keyframes shown (1 = a single frame)")
    numbered: bool = Field(False, description="frames carry their frame-table number (NumPro)")


register_prompt(PROMPT_NAME, CaptionVars)


def caption_prompt(n_frames: int = 2, numbered: bool = False) -> str:
    """The caption instruction (the blocks of ``caption.j2`` joined: the VLM gets one user turn)."""
    messages = load_prompt(PROMPT_NAME).render(n_frames=n_frames, numbered=numbered)
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
    def from_settings(cls, settings: Settings, **overrides: Any) -> CaptionOptions:
        values: dict[str, Any] = {
            "max_frames": settings.caption_max_frames,
            "dedup_threshold": settings.caption_dedup_threshold,
            "batch_size": settings.caption_batch_size,
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


def cache_key_parts(settings: Settings, options: CaptionOptions | None = None) -> dict[str, Any]:
    """What changes the captions: backend, model id, prompt version, generation and keyframe parameters."""
    opts = options or CaptionOptions.from_settings(settings)
    backend = settings.caption_backend or "none"
    parts: dict[str, Any] = {"backend": backend}
    if backend != "none":
        parts.update(
            model=settings.caption_model,
            prompt=f"{PROMPT_NAME}@{prompt_version()}",
            max_new_tokens=settings.caption_max_new_tokens,
            keyframes=opts.model_dump(exclude={"batch_size"}),
        )
        if backend == "litellm":
            parts["api_base"] = settings.caption_api_base
    return parts
