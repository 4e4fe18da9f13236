"""A fast sentence encoder for BERT-family sentence-transformers folders (all-MiniLM-L6-v2 and its kin).

``BertSentenceEncoder.from_folder(path)`` reads the folder's ``model.safetensors`` (memory-mapped, no torch),
``tokenizer.json`` (the Rust ``tokenizers`` fast tokenizer) and the sentence-transformers module configs, and
runs the BERT encoder, mean pooling and L2 normalisation in numpy float32. It loads in a fraction of a second
where ``SentenceTransformer(path)`` takes seconds (torch, transformers), and gives the same embeddings
(cosine >= 0.9999, checked in the tests). ``supports(path)`` says whether a folder fits: a ``bert`` model with
mean pooling, optionally followed by ``Normalize``; anything else loads through sentence-transformers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"


def _modules(folder: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads((folder / "modules.json").read_text())
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


def supports(folder: str | Path) -> bool:
    """Whether ``folder`` is a sentence-transformers BERT model this encoder reproduces exactly."""
    folder = Path(folder)
    needed = ("config.json", "model.safetensors", "tokenizer.json")
    if not folder.is_dir() or not all((folder / n).is_file() for n in needed):
        return False
    try:
        config = json.loads((folder / "config.json").read_text())
    except ValueError:
        return False
    if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu":
        return False
    if config.get("position_embedding_type", "absolute") != "absolute":
        return False
    kinds = [m.get("type") for m in _modules(folder)]
    if kinds not in ([_TRANSFORMER, _POOLING], [_TRANSFORMER, _POOLING, _NORMALIZE]):
        return False
    pooling_dir = next(m.get("path", "") for m in _modules(folder) if m.get("type") == _POOLING)
    try:
        pooling = json.loads((folder / pooling_dir / "config.json").read_text())
    except (OSError, ValueError):
        return False
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    return modes == ["pooling_mode_mean_tokens"]


def _erf(x: np.ndarray) -> np.ndarray:
    """Error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: below float32 noise here)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * np.float32(1 / math.sqrt(2))))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


class BertSentenceEncoder:
    """BERT encoder + mean pooling (+ L2 normalisation) in numpy; ``encode`` mirrors SentenceTransformer's."""

    def __init__(self, weights: dict[str, np.ndarray], config: dict[str, Any], tokenizer: Any, normalize: bool):
        self.w = weights
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(config["hidden_size"])
        self.tokenizer = tokenizer
        self.normalize = normalize

    @classmethod
    def from_folder(cls, folder: str | Path) -> BertSentenceEncoder:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        try:
            max_len = int(json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
        except (OSError, ValueError, KeyError):
            max_len = 512
        max_len = min(max_len, int(config.get("max_position_embeddings", 512)))
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_len)
        pad_id = int(config.get("pad_token_id", 0))
        tokenizer.enable_padding(pad_id=pad_id, pad_token=tokenizer.id_to_token(pad_id) or "[PAD]")
        raw = load_file(str(folder / "model.safetensors"))
        weights = {k.removeprefix("bert."): np.ascontiguousarray(v, dtype=np.float32) for k, v in raw.items()}
        normalize = any(m.get("type") == _NORMALIZE for m in _modules(folder))
        return cls(weights, config, tokenizer, normalize)

    def _qkv(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Layer ``i``'s query, key and value projections as one ``[d, 3d]`` matrix and bias (one GEMM)."""
        key = f"encoder.layer.{i}.attention.qkv"
        if key not in self.w:
            p = f"encoder.layer.{i}.attention.self."
            names = ("query", "key", "value")
            self.w[key] = np.ascontiguousarray(np.concatenate([self.w[f"{p}{n}.weight"] for n in names]).T)
            self.w[key + ".bias"] = np.concatenate([self.w[f"{p}{n}.bias"] for n in names])
        return self.w[key], self.w[key + ".bias"]

    def _layer(self, i: int, x: np.ndarray, b: int, n: int, bias: np.ndarray) -> np.ndarray:
        """One transformer layer on ``x`` of shape ``[b * n, d]`` (2-D matrices: one GEMM per projection)."""
        w, p = self.w, f"encoder.layer.{i}."
        d = x.shape[1]
        hd = d // self.heads
        qkv_w, qkv_b = self._qkv(i)
        qkv = (x @ qkv_w + qkv_b).reshape(b, n, 3, self.heads, hd).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(hd)) + bias
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b * n, d)
        attn = ctx @ w[f"{p}attention.output.dense.weight"].T + w[f"{p}attention.output.dense.bias"]
        ln1 = f"{p}attention.output.LayerNorm."
        x = _layer_norm(x + attn, w[ln1 + "weight"], w[ln1 + "bias"], self.eps)
        hidden = _gelu(x @ w[f"{p}intermediate.dense.weight"].T + w[f"{p}intermediate.dense.bias"])
        out = hidden @ w[f"{p}output.dense.weight"].T + w[f"{p}output.dense.bias"]
        return _layer_norm(x + out, w[f"{p}output.LayerNorm.weight"], w[f"{p}output.LayerNorm.bias"], self.eps)

    def _batch(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: ids.shape[1]][None]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        b, n = ids.shape
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        x = x.reshape(b * n, self.dim)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for i in range(self.layers):
            x = self._layer(i, x, b, n, bias)
        hidden = x.reshape(b, n, self.dim)
        pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        if self.normalize:
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 32, **_: Any) -> np.ndarray:
        """``[len(texts), dim]`` float32 embeddings; texts are batched by length (less padding)."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            out[idx] = self._batch([texts[i] for i in idx])
        return out


__all__ = ["BertSentenceEncoder", "supports"]
