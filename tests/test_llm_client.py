"""LLM client: scripted transport, repair loop, retries, timeouts, redaction, litellm mock, network guard."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from vidreason.tools.core.configs import LLMConfig
from vidreason.tools.core.errors import (
    ConfigError,
    LLMNotConfigured,
    LLMOutputInvalid,
    LLMTimeout,
    LLMTransientError,
)
from vidreason.tools.core.plan import PlanDraft
from vidreason.tools.core.settings import Settings
from vidreason.tools.llm.client import LLMClient
from vidreason.tools.llm.litellm_transport import FORBID_NETWORK_ENV, LiteLLMTransport
from vidreason.tools.llm.parsing import extract_json
from vidreason.tools.llm.transport import LLMResponse, ScriptedTransport


@pytest.fixture(autouse=True)
def _forbid_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORBID_NETWORK_ENV, "1")


class Thing(BaseModel):
    name: str
    count: int = Field(ge=0)


MSGS = [{"role": "system", "content": "You extract things."}, {"role": "user", "content": "one apple"}]


def _settings(**kw: object) -> LLMConfig:
    return Settings(device="cpu", **kw).llm_config  # type: ignore[arg-type]


def test_structured_with_native_schema_passes_response_format() -> None:
    t = ScriptedTransport([{"name": "apple", "count": 1}], json_schema=True)
    client = LLMClient(_settings(), transport=t)
    thing, call = client.complete_structured(MSGS, Thing, purpose="extract")
    assert thing == Thing(name="apple", count=1)
    req = t.requests[0]
    assert req.response_format is not None and req.response_format["json_schema"]["name"] == "Thing"
    assert req.messages == MSGS  # no schema text injected when the provider enforces the schema
    assert call.ok and call.attempts == 1 and call.structured == "json_schema" and call.purpose == "extract"
    assert call.prompt_tokens > 0 and call.completion_tokens > 0 and call.latency_s >= 0
    assert client.calls == [call]


def test_prompted_mode_parses_fenced_prose_and_injects_schema() -> None:
    reply = 'Sure! Here it is:\n```json\n{"name": "pear", "count": 3}\n```\nAnything else?'
    t = ScriptedTransport([reply], json_schema=False)
    thing, call = LLMClient(_settings(), transport=t).complete_structured(MSGS, Thing)
    assert thing.count == 3 and call.structured == "prompted"
    sent = t.requests[0].messages
    assert sent[0] == MSGS[0] and sent[1]["role"] == "system" and '"count"' in sent[1]["content"]
    assert t.requests[0].response_format is None


def test_invalid_json_then_repair_feeds_validation_error_back() -> None:
    t = ScriptedTransport(["I think it is an apple", {"name": "apple", "count": -2}, {"name": "apple", "count": 2}])
    thing, call = LLMClient(_settings(llm_max_retries=2), transport=t).complete_structured(MSGS, Thing)
    assert thing.count == 2 and call.attempts == 3 and len(call.validation_errors) == 2
    second, third = t.requests[1].messages, t.requests[2].messages
    assert second[-2] == {"role": "assistant", "content": "I think it is an apple"}
    assert "no JSON object" in second[-1]["content"]
    assert "count" in third[-1]["content"] and "greater than or equal to 0" in third[-1]["content"]
    assert call.messages is not None and call.messages[-1]["role"] == "user"


def test_exhausted_retries_raise_output_invalid_with_record() -> None:
    t = ScriptedTransport(["nope", "still nope"])
    client = LLMClient(_settings(llm_max_retries=1), transport=t)
    with pytest.raises(LLMOutputInvalid, match="2 attempt") as info:
        client.complete_structured(MSGS, Thing)
    call = info.value.llm_call  # type: ignore[attr-defined]
    assert not call.ok and call.attempts == 2 and "LLMOutputInvalid" in call.error
    assert client.calls == [call]


def test_timeout_is_not_retried() -> None:
    t = ScriptedTransport([LLMTimeout("too slow"), {"name": "x", "count": 0}])
    client = LLMClient(_settings(llm_max_retries=3), transport=t)
    with pytest.raises(LLMTimeout):
        client.complete_structured(MSGS, Thing)
    assert len(t.requests) == 1 and client.calls[0].attempts == 1 and not client.calls[0].ok


def test_transient_errors_retry_within_budget() -> None:
    t = ScriptedTransport([LLMTransientError("rate limited"), {"name": "x", "count": 0}])
    thing, call = LLMClient(_settings(), transport=t, retry_backoff_s=0).complete_structured(MSGS, Thing)
    assert thing.name == "x" and call.attempts == 2
    t2 = ScriptedTransport([LLMTransientError("a"), LLMTransientError("b")])
    with pytest.raises(LLMTransientError):
        LLMClient(_settings(llm_max_retries=1), transport=t2, retry_backoff_s=0).complete_text(MSGS)


def test_redaction_and_cost_accounting() -> None:
    resp = LLMResponse(text='{"name": "a", "count": 1}', prompt_tokens=10, completion_tokens=5, cost_usd=0.25)
    client = LLMClient(_settings(llm_record_prompts=False), transport=ScriptedTransport([resp]))
    _, call = client.complete_structured(MSGS, Thing)
    assert call.redacted and call.messages is None and call.response is None
    assert (call.prompt_tokens, call.completion_tokens, call.cost_usd, call.total_tokens) == (10, 5, 0.25, 15)
    text_client = LLMClient(_settings(), transport=ScriptedTransport(["plain words"]))
    text, tcall = text_client.complete_text(MSGS)
    assert text == "plain words" and tcall.response == "plain words" and tcall.redact().messages is None


def test_configuration_errors() -> None:
    with pytest.raises(LLMNotConfigured, match="VIDREASON_LLM"):
        LLMClient(_settings())
    assert LLMClient.from_config(_settings()) is None
    with pytest.raises(ConfigError, match="API_BASE"):
        LLMClient(_settings(llm="hosted_vllm/qwen"))


def test_network_guard_blocks_real_calls() -> None:
    client = LLMClient(_settings(llm="gpt-4o-mini"))
    with pytest.raises(LLMNotConfigured, match=FORBID_NETWORK_ENV):
        client.complete_text(MSGS)


def test_extract_json_variants() -> None:
    assert extract_json('{"a": 1}') == {"a": 1}
    assert extract_json('text {"a": {"b": [1, 2]}} trailing } junk') == {"a": {"b": [1, 2]}}
    assert extract_json("```\n[1, 2]\n```") == [1, 2]
    with pytest.raises(LLMOutputInvalid):
        extract_json("no json at all {broken")


def test_litellm_mock_response_end_to_end() -> None:
    """litellm's own mock path: no network, real litellm response parsing, usage and schema support lookup."""
    draft = {
        "question_type": "grounding",
        "sub_events": [{"id": "e1", "description": "a person opens a door", "channels": ["visual"]}],
        "relations": [],
        "target": {"kind": "event", "refs": ["e1"]},
        "answer_form": "span",
    }
    transport = LiteLLMTransport(mock_response=json.dumps(draft))
    client = LLMClient(_settings(llm="gpt-4o-mini", llm_timeout_s=5), transport=transport)
    plan, call = client.complete_structured(MSGS, PlanDraft, purpose="plan")
    assert plan.sub_events[0].description == "a person opens a door"
    assert call.mocked and call.ok and call.model == "gpt-4o-mini"
    assert call.structured == "json_schema"  # litellm's local model map says gpt-4o-mini supports it
    assert call.completion_tokens > 0 and call.cost_usd >= 0


def test_litellm_mock_timeout_maps_to_llm_timeout() -> None:
    transport = LiteLLMTransport(mock_timeout=True)
    client = LLMClient(_settings(llm="gpt-4o-mini", llm_timeout_s=0.01), transport=transport)
    with pytest.raises(LLMTimeout, match=r"0\.01"):
        client.complete_text(MSGS)


def test_calls_are_recorded_per_context_even_when_threads_share_a_client() -> None:
    import threading

    from vidreason.tools.llm.client import recording_calls

    client = LLMClient(_settings(), transport=ScriptedTransport(["a", "b", "c", "d"], json_schema=False))
    seen: dict[str, list[str]] = {}
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        with recording_calls() as calls:
            barrier.wait()
            client.complete_text(MSGS, purpose=name)
            barrier.wait()
            client.complete_text(MSGS, purpose=name)
        seen[name] = [c.purpose for c in calls]

    threads = [threading.Thread(target=run, args=(n,)) for n in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"one": ["one", "one"], "two": ["two", "two"]}
    assert len(client.calls) == 4
