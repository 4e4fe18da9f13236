"""Extractive summaries: the most central sentences of a node's items (TF-IDF cosine centrality), and the token
budget helpers the summaries share."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_STOPWORDS = (
    "a an and are as at be but by for from has have he her his i in is it its of on or she that the their "
    "them they this to was we were what when where which who will with you your seen said screen"
)
_STOP = frozenset(_STOPWORDS.split())
#: the labelled fields of a shot's text (the leaves of the summaries): ``<label>: <text>`` lines
LEAF_FIELDS: tuple[tuple[str, str], ...] = (
    ("caption", "Seen"),
    ("transcript", "Said"),
    ("ocr_text", "On screen"),
)


def approx_tokens(text: str) -> int:
    """About 4 characters per token."""
    return math.ceil(len(text) / 4)


def truncate_to_tokens(text: str, tokens: int) -> str:
    """``text`` cut at a word boundary to about ``tokens`` tokens (4 chars each), with "..." when cut."""
    limit = max(1, tokens) * 4
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + " ..."


def _terms(sentence: str) -> list[str]:
    terms: list[str] = []
    for word in _WORD.findall(sentence.lower()):
        if _CJK.search(word):  # no spaces between CJK words: use character bigrams
            terms.extend(word[i : i + 2] for i in range(max(1, len(word) - 1)))
        elif len(word) > 1 and word not in _STOP:
            terms.append(word)
    return terms


def _word_count(text: str) -> int:
    return len(text.split()) + len(_CJK.findall(text)) // 2


def _sentences(items: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """``(item position, sentence)`` of the items' texts without their labels. What is said runs on across
    items (a sentence spoken over a cut is split between two shots), so it is joined before it is split into
    sentences; each sentence belongs to the item it starts in. Captions and on-screen text stay per item."""
    out: list[tuple[int, str]] = []
    spoken: list[tuple[int, str]] = []
    said = f"{dict(LEAF_FIELDS)['transcript']}:"
    for k, item in enumerate(items):
        for line in str(item["text"]).splitlines():
            label, sep, rest = line.partition(": ")
            if sep and f"{label}:" == said:
                spoken.append((k, rest.strip()))
            elif sep and label in {name for _, name in LEAF_FIELDS}:
                out += [(k, s.strip()) for s in _SENTENCE_END.split(rest) if s.strip()]
            elif line.strip():
                out += [(k, s.strip()) for s in _SENTENCE_END.split(line) if s.strip()]
    owner: list[int] = []
    text = ""
    for k, part in spoken:
        text += (" " if text else "") + part
        owner += [k] * (len(text) - len(owner))
    pos = 0
    for s in _SENTENCE_END.split(text):
        at = text.find(s, pos)
        if s.strip() and at >= 0:
            out.append((owner[min(at, len(owner) - 1)], s.strip()))
            pos = at + len(s)
    return sorted(out, key=lambda ks: ks[0])


def extractive_summary(items: list[dict[str, Any]], max_words: int) -> tuple[str, list[str]]:
    """The most central sentences of the items' texts (TF-IDF cosine centrality, near-duplicates skipped), in
    time order, within ``max_words``; cites are the ids of the items they come from."""
    sentences = _sentences(items)
    if not sentences:
        return "", []
    vocab: dict[str, int] = {}
    bags = [_terms(s) for _, s in sentences]
    for bag in bags:
        for t in bag:
            vocab.setdefault(t, len(vocab))
    tf = np.zeros((len(sentences), max(1, len(vocab))), dtype=np.float64)
    for i, bag in enumerate(bags):
        for t in bag:
            tf[i, vocab[t]] += 1.0
    df = (tf > 0).sum(axis=0)
    vec = tf * (np.log((1 + len(sentences)) / (1 + df)) + 1.0)
    norms = np.linalg.norm(vec, axis=1, keepdims=True)
    vec = np.divide(vec, norms, out=np.zeros_like(vec), where=norms > 0)
    sim = vec @ vec.T
    n = len(sentences)
    centrality = (sim.sum(axis=1) - np.diag(sim)) / max(1, n - 1) if n > 1 else np.ones(1)
    order = sorted(range(n), key=lambda i: (-centrality[i], i))
    picked: list[int] = []
    words = 0
    for i in order:
        w = _word_count(sentences[i][1])
        if picked and (words + w > max_words or max(sim[i, j] for j in picked) > 0.85):
            continue
        picked.append(i)
        words += w
        if words >= max_words:
            break
    picked.sort()
    text = " ".join(sentences[i][1] for i in picked)
    if _word_count(text) > max_words:
        text = " ".join(text.split()[:max_words]) + " ..."
    cites = list(dict.fromkeys(items[sentences[i][0]]["id"] for i in picked))
    return text, cites


__all__ = ["LEAF_FIELDS", "approx_tokens", "extractive_summary", "truncate_to_tokens"]
