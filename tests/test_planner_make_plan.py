"""make_plan: LLM planner with a scripted model, fallback to the offline parser with a recorded reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidreason.tools.core.configs import LLMConfig
from vidreason.tools.core.errors import InvalidQuestion, LLMTimeout
from vidreason.tools.core.settings import Settings
from vidreason.tools.llm.client import LLMClient
from vidreason.tools.llm.litellm_transport import FORBID_NETWORK_ENV, LiteLLMTransport
from vidreason.tools.llm.transport import ScriptedTransport
from vidreason.tools.planning.planner import make_plan

SHARED = Path(__file__).resolve().parents[2] / "shared/data/annotations/charades_sta/tfvtg_llm_outputs.json"

DRAFT = {
    "question_type": "grounding",
    "sub_events": [
        {
            "id": "e1",
            "description": "a person opens the fridge",
            "paraphrases": ["someone opens a refrigerator"],
        },
        {"id": "e2", "description": "a person drinks milk", "channels": ["visual"]},
    ],
    "relations": [{"kind": "sequence", "a": "e1", "b": "e2"}],
    "target": {"kind": "union", "refs": ["e1", "e2"]},
    "answer_form": "span",
    "rewrites": ["a person opens the fridge then drinks milk"],
}


@pytest.fixture(autouse=True)
def _forbid_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORBID_NETWORK_ENV, "1")


def _settings(**kw: object) -> LLMConfig:
    return Settings(device="cpu", **kw).llm_config  # type: ignore[arg-type]


def test_llm_plan_is_used_when_valid() -> None:
    t = ScriptedTransport([DRAFT])
    result = make_plan("open the fridge then drink milk", _settings(), LLMClient(_settings(), transport=t))
    assert not result.fallback and result.plan.planner == "llm" and len(result.llm_calls) == 1
    assert result.plan.question == "open the fridge then drink milk"
    assert result.plan.temporal_order() == ["e1", "e2"] and "planned by" in result.reason
    user = t.requests[0].messages[-1]["content"]
    assert "open the fridge then drink milk" in user


def test_invalid_then_repaired_plan() -> None:
    bad = {**DRAFT, "relations": [{"kind": "sequence", "a": "e1", "b": "e7"}]}
    t = ScriptedTransport([bad, DRAFT])
    result = make_plan("open the fridge then drink milk", _settings(), LLMClient(_settings(), transport=t))
    assert result.plan.planner == "llm" and result.llm_calls[0].attempts == 2
    assert "e7" in t.requests[1].messages[-1]["content"]


def test_exhausted_retries_fall_back_to_offline_with_reason() -> None:
    t = ScriptedTransport(["garbage", '{"question_type": "nope"}', '{"sub_events": 5}'])  # three different errors
    result = make_plan(
        "the man opens the door then sits down",
        _settings(llm_max_retries=2),
        LLMClient(_settings(llm_max_retries=2), transport=t),
    )
    assert result.fallback and result.plan.planner == "offline"
    assert "LLMOutputInvalid" in result.reason and result.plan.planner_note == result.reason
    assert len(result.plan.sub_events) == 2 and result.llm_calls and not result.llm_calls[0].ok
    assert len(t.requests) == 3


def test_timeout_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    t = ScriptedTransport([LLMTimeout("no answer within 60 s")])
    result = make_plan("when does the dog bark", _settings(), LLMClient(_settings(), transport=t))
    assert result.fallback and "LLMTimeout" in result.reason
    assert any("planner degraded" in r.message for r in caplog.records)


def test_no_llm_configured_uses_offline_without_fallback_flag() -> None:
    result = make_plan("when does the dog bark", _settings())
    assert not result.fallback and result.plan.planner == "offline" and "no LLM configured" in result.reason
    forbidden = make_plan("when does the dog bark", _settings(llm="gpt-4o-mini"))
    assert forbidden.fallback and "forbidden" in forbidden.reason  # the network guard, not a real call


def test_invalid_question_is_raised_before_any_llm_call() -> None:
    t = ScriptedTransport([DRAFT])
    with pytest.raises(InvalidQuestion):
        make_plan("   ", _settings(), LLMClient(_settings(), transport=t))
    assert t.requests == []


def test_litellm_mock_path_make_plan() -> None:
    client = LLMClient(_settings(llm="gpt-4o-mini"), transport=LiteLLMTransport(mock_response=json.dumps(DRAFT)))
    result = make_plan("open the fridge then drink milk", _settings(llm="gpt-4o-mini"), client)
    assert result.plan.planner == "llm" and result.llm_calls[0].mocked


@pytest.mark.shared_data
def test_agreement_with_tfvtg_decompositions_on_charades() -> None:
    if not SHARED.exists():
        pytest.skip(f"{SHARED} not available")
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "planner_agreement", Path(__file__).resolve().parents[1] / "benchmarks/planner_agreement.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.evaluate(SHARED)
    assert res["queries"] == 3720
    assert res["relationship_agreement"] > 0.87  # always "single-query" would give 0.847
    assert res["per_class"]["simultaneously"]["recall"] > 0.6
    assert res["split_vs_single"]["precision"] > 0.75
