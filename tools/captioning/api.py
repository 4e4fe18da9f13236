"""Captioner for any vision-capable chat model reachable through litellm: an API (``gpt-4o-mini``,
``anthropic/...``, ``gemini/...``) or a local OpenAI-compatible server (``hosted_vllm/<model>`` or
``openai/<model>`` with ``VIDREASON_CAPTION_API_BASE``, e.g. vLLM or llama.cpp's server).

Keyframes are sent as base64 JPEG data URLs in OpenAI-style ``image_url`` content parts. Calls go through the
project's LLM client (:class:`vidreason.tools.llm.client.LLMClient`), so retries, timeouts, accounting and the
network ban in tests apply; this module never imports litellm itself.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

from PIL import Image

from vidreason.tools.captioning.base import Clip, prompts_for
from vidreason.tools.core.configs import CaptionConfig
from vidreason.tools.core.errors import ConfigError
from vidreason.tools.media.numpro import to_pil

if TYPE_CHECKING:
    from vidreason.tools.llm.client import LLMClient

log = logging.getLogger(__name__)


def image_data_url(frame: Any, *, max_side: int = 768, quality: int = 85) -> str:
    """A ``data:image/jpeg;base64,...`` URL of ``frame`` (PIL image or uint8 RGB array), long side <=
    ``max_side``."""
    image = to_pil(frame)
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
            Image.Resampling.BICUBIC,
        )
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def vision_message(clip: Clip, prompt: str, *, max_side: int = 768) -> dict[str, Any]:
    """One user message: the clip's frames as ``image_url`` parts, then the instruction as a text part."""
    if not clip:
        raise ConfigError("a clip to caption has no frames")
    parts: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": image_data_url(f, max_side=max_side)}} for f in clip
    ]
    parts.append({"type": "text", "text": prompt})
    return {"role": "user", "content": parts}


class LiteLLMCaptioner:
    """Captions each clip with one chat completion (``concurrency`` requests in flight)."""

    supports_video = False

    def __init__(self, client: LLMClient, *, max_side: int = 768, concurrency: int = 4) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency={concurrency} must be >= 1")
        self.client = client
        self.model_id = client.model
        self.max_side = max_side
        self.concurrency = concurrency

    @classmethod
    def from_config(cls, config: CaptionConfig, **kwargs: Any) -> LiteLLMCaptioner:
        """A client for ``config.model`` at ``config.api_base`` (the caption server, else the LLM's)."""
        from vidreason.tools.core.configs import LLMConfig
        from vidreason.tools.llm.client import LLMClient

        if not config.model:
            raise ConfigError("caption_model is empty; set VIDREASON_CAPTION_MODEL (e.g. gpt-4o-mini)")
        transport = kwargs.pop("transport", None)
        client = LLMClient(LLMConfig(model=config.model, api_base=config.api_base), transport)
        return cls(client, **kwargs)

    def _one(self, clip: Clip, prompt: str) -> str:
        message = vision_message(clip, prompt, max_side=self.max_side)
        # content parts are a list (OpenAI vision format); the client passes messages through unchanged
        text, _call = self.client.complete_text(cast(Any, [message]), purpose="caption")
        return text.strip()

    def caption(self, clips: Sequence[Clip], prompt: str | Sequence[str]) -> list[str]:
        """One completion per clip, results in clip order."""
        prompts = prompts_for(clips, prompt)
        if self.concurrency == 1 or len(clips) == 1:
            return [self._one(c, p) for c, p in zip(clips, prompts, strict=True)]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(clips))) as pool:
            return list(pool.map(self._one, clips, prompts))


__all__ = ["LiteLLMCaptioner", "image_data_url", "vision_message"]
