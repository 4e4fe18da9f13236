"""The one factory of the visual channel's encoders.

    enc = load_visual_encoder(settings.vision, models)   # ClipEmbedder or Blip2ItcScorer, loaded once per key

Encoders whose weights cannot load raise ``ModelUnavailable``; the registry remembers that for the process,
and ``tools.core.hub`` for the cache (``<cache_dir>/models/failures.json``), so an offline machine pays for a
doomed load once, not once per video or per process (``vidreason index --force`` tries again).
"""

from __future__ import annotations

from vidreason.tools.core import hub
from vidreason.tools.core.configs import VisionConfig
from vidreason.tools.core.errors import ModelUnavailable
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

    key = encoder_key(config)

    def load_unless_failed_before() -> VisualTextEncoder:
        if config.cache_dir is None:
            return load()
        known = hub.known_failure(config.cache_dir, str(key))
        if known is not None:
            raise ModelUnavailable(f"{known} (remembered from an earlier run; `vidreason index --force` retries)")
        try:
            return load()
        except ModelUnavailable as e:
            hub.record_failure(config.cache_dir, str(key), str(e))
            raise

    return registry.get(key, load_unless_failed_before)


__all__ = ["encoder_key", "load_visual_encoder"]
