"""Random-weight Qwen2.5-VL captioners built with no download, for plumbing tests and speed measurements.

No registry package carries VLM weights, so the visual channel can only run here with random weights (see
docs/models.md). This module builds the real Qwen2.5-VL architecture from a config (``tiny`` for tests, ``3b``
with the published Qwen2.5-VL-3B-Instruct sizes for benchmarks) together with a processor whose tokenizer is
a small byte-level BPE trained on the spot with the ``tokenizers`` library (its special tokens are the ones
the Qwen2.5-VL processor expects). Compute cost does not depend on the weight values, so the speed of the
``3b`` model is the real model's speed; its captions are noise.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from vidreason.tools.captioning.hf import TransformersCaptioner, resolve_dtype
from vidreason.tools.core.errors import ConfigError

log = logging.getLogger(__name__)

Size = Literal["tiny", "3b"]
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
#: A Qwen-style chat template (ChatML turns, vision placeholders) written for these processors.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_CORPUS = (
    "a person walks into the kitchen and opens the fridge. the camera pans across a field of flowers. "
    "two people talk at a table while a dog runs past. a rabbit stands under a tree in the forest. "
    "text on the screen reads the title. the band plays music on a stage under bright lights."
)

#: (text kwargs, vision kwargs, rope mrope_section) per size; 3b follows Qwen2.5-VL-3B-Instruct's config
_SIZES: dict[str, tuple[dict[str, Any], dict[str, Any], list[int]]] = {
    "tiny": (
        {
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
        },
        {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "fullatt_block_indexes": [1],
        },
        [2, 3, 3],
    ),
    "3b": (
        {
            "hidden_size": 2048,
            "intermediate_size": 11008,
            "num_hidden_layers": 36,
            "num_attention_heads": 16,
            "num_key_value_heads": 2,
            "vocab_size": 151936,
            "tie_word_embeddings": True,
        },
        {
            "depth": 32,
            "hidden_size": 1280,
            "intermediate_size": 3420,
            "num_heads": 16,
            "out_hidden_size": 2048,
            "fullatt_block_indexes": [7, 15, 23, 31],
        },
        [16, 24, 24],
    ),
}


def build_tokenizer(vocab_size: int = 400) -> Any:
    """A byte-level BPE tokenizer (fast, no download) with the Qwen2.5-VL special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([_CORPUS] * 4, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", padding_side="left"
    )


def build_processor(max_pixels: int = 112 * 112, min_pixels: int = 56 * 56) -> Any:
    """A ``Qwen2_5_VLProcessor`` around :func:`build_tokenizer`; ``max_pixels`` bounds tokens per frame."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    tokenizer = build_tokenizer()
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=min_pixels, max_pixels=max_pixels),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(min_pixels=min_pixels, max_pixels=max_pixels),
        chat_template=CHAT_TEMPLATE,
    )


def build_model(tokenizer: Any, size: Size = "tiny", *, device: str = "cpu", dtype: str = "auto", seed: int = 0) -> Any:
    """A randomly initialised ``Qwen2_5_VLForConditionalGeneration`` of ``size`` using ``tokenizer``'s ids."""
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    if size not in _SIZES:
        raise ConfigError(f"size={size!r} is not allowed; allowed: {list(_SIZES)}")
    text, vision, section = _SIZES[size]
    vocab = tokenizer.get_vocab()
    ids = {t: vocab[t] for t in SPECIAL_TOKENS}
    text_cfg = {
        "vocab_size": len(vocab),
        **text,
        "rope_parameters": {"rope_type": "default", "mrope_section": section, "rope_theta": 1_000_000.0},
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    tie = bool(text_cfg.pop("tie_word_embeddings", False))
    config = Qwen2_5_VLConfig(
        text_config=text_cfg,
        vision_config={**vision, "window_size": 112},
        tie_word_embeddings=tie,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(seed)
    torch_dtype = resolve_dtype(device, dtype)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=torch_dtype)
    return model.eval()


def random_qwen_captioner(
    size: Size = "tiny",
    *,
    device: str = "cpu",
    dtype: str = "auto",
    max_pixels: int = 112 * 112,
    max_new_tokens: int = 8,
    batch_size: int = 4,
    seed: int = 0,
) -> TransformersCaptioner:
    """A :class:`TransformersCaptioner` over a random Qwen2.5-VL (model id ``random-qwen2.5-vl-<size>``)."""
    processor = build_processor(max_pixels=max_pixels)
    model = build_model(processor.tokenizer, size, device=device, dtype=dtype, seed=seed)
    log.info(
        "built random Qwen2.5-VL (%s): %.1fM parameters",
        size,
        sum(p.numel() for p in model.parameters()) / 1e6,
    )
    return TransformersCaptioner(
        model,
        processor,
        model_id=f"random-qwen2.5-vl-{size}",
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
    )


__all__ = ["CHAT_TEMPLATE", "build_model", "build_processor", "build_tokenizer", "random_qwen_captioner"]
