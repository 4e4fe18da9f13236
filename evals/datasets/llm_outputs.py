"""Recorded LLM query decompositions in TFVTG's ``llm_outputs.json`` format.

Layout: ``{vid: {..., "sentences": [...], "response": [decomposition, ...]}}`` with ``response[i]`` the
decomposition of ``sentences[i]`` (``relationship`` and ``query_json``). A response that is not a JSON object
is kept as ``None`` (TFVTG then treats the query as single-query).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from vidreason.evals.datasets.base import Relation, normalize_relation, read_json, require_file
from vidreason.tools.core.errors import DatasetError

logger = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")


def _norm_text(text: str) -> str:
    return _SPACE.sub(" ", text.strip().lower()).rstrip(".")


class RecordedDecompositions:
    """Lookup ``(video_id, sentence index)`` or ``(video_id, sentence text)`` -> decomposition dict."""

    def __init__(self, by_index: dict[tuple[str, int], dict[str, Any] | None], sentences: dict[str, list[str]]):
        self._by_index = by_index
        self._by_text: dict[tuple[str, str], dict[str, Any] | None] = {}
        for vid, sents in sentences.items():
            for i, s in enumerate(sents):
                self._by_text.setdefault((vid, _norm_text(s)), by_index.get((vid, i)))
        self.source: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> RecordedDecompositions:
        p = require_file(path, "recorded LLM outputs")
        data = read_json(p)
        if not isinstance(data, dict):
            raise DatasetError(f"{p}: expected an object keyed by video id, got {type(data).__name__}")
        by_index: dict[tuple[str, int], dict[str, Any] | None] = {}
        sentences: dict[str, list[str]] = {}
        unparsed = 0
        for vid, rec in data.items():
            if not isinstance(rec, dict) or "response" not in rec:
                raise DatasetError(f"{p}: video {vid!r} has no 'response' list")
            responses = rec["response"]
            sents = rec.get("sentences", [])
            if sents and len(sents) != len(responses):
                raise DatasetError(f"{p}: video {vid!r}: {len(responses)} responses vs {len(sents)} sentences")
            sentences[str(vid)] = list(sents)
            for i, resp in enumerate(responses):
                if not isinstance(resp, dict):
                    unparsed += 1
                    resp = None
                by_index[(str(vid), i)] = resp
        if unparsed:
            logger.warning("%s: %d response(s) are not JSON objects; they count as single-query", p, unparsed)
        out = cls(by_index, sentences)
        out.source = str(p)
        return out

    def __len__(self) -> int:
        return len(self._by_index)

    def get(self, video_id: str, index: int | None = None, sentence: str | None = None) -> dict[str, Any] | None:
        """The decomposition by sentence index, else by (normalised) sentence text; ``None`` when unknown."""
        if index is not None and (video_id, index) in self._by_index:
            found = self._by_index[(video_id, index)]
            if sentence is None or not self._by_text or self._text_matches(video_id, index, sentence):
                return found
        if sentence is not None:
            return self._by_text.get((video_id, _norm_text(sentence)))
        return None

    def _text_matches(self, video_id: str, index: int, sentence: str) -> bool:
        hit = self._by_text.get((video_id, _norm_text(sentence)), _MISSING)
        return hit is _MISSING or hit is self._by_index[(video_id, index)]

    def relation(self, video_id: str, index: int | None = None, sentence: str | None = None) -> Relation | None:
        """The decomposition's relationship as single/sequential/simultaneous (None: unknown)."""
        d = self.get(video_id, index, sentence)
        if d is None:
            return "single" if self.contains(video_id, index, sentence) else None
        return normalize_relation(d.get("relationship")) or "single"

    def contains(self, video_id: str, index: int | None = None, sentence: str | None = None) -> bool:
        if index is not None and (video_id, index) in self._by_index:
            return True
        return sentence is not None and (video_id, _norm_text(sentence)) in self._by_text


_MISSING: Any = object()
