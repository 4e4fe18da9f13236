"""The SQLite trace store: retrieval by id, redaction, JSON export, unknown ids."""

from __future__ import annotations

import json

import pytest
from reason_helpers import SUPPORTED, cite_speech, plan_reply, reason_settings, scripted_reasoner, shared_clip


def test_trace_roundtrip_redaction_and_errors(tmp_path):
    from vidreason.graphs.traces import TraceStore
    from vidreason.tools.core.errors import TraceNotFound

    path, _, cache = shared_clip()
    script = [
        plan_reply(("e1", "the speaker talks about the weather", ["speech"])),
        cite_speech("sunny"),
        SUPPORTED,
    ]
    reasoner, _ = scripted_reasoner(reason_settings(cache), script)
    a = reasoner.ask(path, "What does the speaker say about the weather?")
    store = TraceStore.from_settings(reason_settings(cache))
    assert a.trace_id in store.list()
    full = store.get(a.trace_id)
    calls = full.llm_calls
    assert [c.purpose for c in calls] == ["plan", "answer", "verify"] and calls[0].messages
    red = store.get(a.trace_id, redact=True)
    assert red.redacted and all(c.messages is None and c.response is None and c.redacted for c in red.llm_calls)
    exported = json.loads(store.export_json(a.trace_id, redact=True))
    assert exported["trace_id"] == a.trace_id and len(exported["steps"]) == 7
    assert "sunny" not in json.dumps([c for s in exported["steps"] for c in s["llm_calls"]])
    with pytest.raises(TraceNotFound, match="no trace"):
        store.get("0" * 32)
    with pytest.raises(TraceNotFound):
        TraceStore(tmp_path / "none.sqlite").get("abc")
