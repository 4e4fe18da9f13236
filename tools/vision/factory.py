"""The one factory of the visual channel's encoders.

    enc = load_visual_encoder(settings.vision, models)   # ClipEmbedder or Blip2ItcScorer, loaded once per key

Encoders whose weights cannot load raise ``ModelUnavailable``; the registry remembers that, so an offline
machine pays the hub's retries once per process.
"""

from __future__ import annotations

from vidreason.tools.core.configs import VisionConfig
from vidreason.tools.core.models import ModelKey, ModelRegistry, default_registry
from vidreason.tools.vision.encoder import VisualTextEncoder


def encoder_key(config: VisionConfig) -> ModelKey:
    """The registry key of the encoder ``config`` names."""
    if config.scorer == "blip2":
        return ModelKey("blip2", config.blip2_model, config.device, "auto")
    return ModelKey(
        "clip", f"{config.clip_model}/{config.clip_pretrained}/bs{config.batch_size}", config.device, config.precision
    )


def load_visual_encoder(config: VisionConfig, models: ModelRegistry | None = None) -> VisualTextEncoder:
    """The encoder ``config`` asks for (``scorer``: ``clip`` or ``blip2``), loaded once per registry."""
    registry = models or default_registry()

    def load() -> VisualTextEncoder:
        if config.scorer == "blip2":
            from vidreason.tools.vision.blip2 import Blip2ItcScorer

            return Blip2ItcScorer(config.blip2_model, config.device, batch_size=config.batch_size)
        from vidreason.tools.vision.clip import ClipEmbedder

        return ClipEmbedder(
            config.clip_model,
            config.clip_pretrained,
            config.device,
            batch_size=config.batch_size,
            precision=config.precision,
            config_dir=config.cache_dir / "models" / "open_clip_configs" if config.cache_dir else None,
        )

    return registry.get(encoder_key(config), load)


__all__ = ["encoder_key", "load_visual_encoder"]
