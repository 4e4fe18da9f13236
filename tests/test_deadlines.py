"""Deadlines: each LLM request is limited in wall-clock time (all reads together), and each run by
``ask_timeout_s``, whatever the transport does; a server that trickles one byte a second cannot keep a call,
an ``ask`` or the ``vidreason ask`` process running. On expiry the run ends with the best answer so far, flagged."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from llm_servers import fake_openai_server
from pydantic import BaseModel
from reason_helpers import cli_settings_args, install_fast_matcher, plan_reply, reason_settings, shared_clip

from vidreason.tools.core.configs import LLMConfig
from vidreason.tools.core.deadline import (
    Deadline,
    TimeLimitExceeded,
    abandoned_workers,
    call_with_time_limit,
    current_deadline,
    deadline_scope,
)
from vidreason.tools.core.errors import LLMTimeout
from vidreason.tools.llm.client import LLMClient
from vidreason.tools.llm.litellm_transport import LiteLLMTransport
from vidreason.tools.llm.transport import LLMRequest, ScriptedTransport
from vidreason.tools.planning.planner import make_plan

MSGS = [{"role": "user", "content": "hi"}]
SUMMARY = '{"summary": "Someone talks about the weather and a train.", "cites": []}'
QUESTION = "What does the speaker say about the train?"


class Ok(BaseModel):
    ok: bool


def _blocking(seconds: float) -> Any:
    def reply(request: LLMRequest) -> str:
        time.sleep(seconds)
        return '{"ok": true}'

    return reply


def test_call_with_time_limit_stops_waiting_and_keeps_context() -> None:
    t0 = time.perf_counter()
    with pytest.raises(TimeLimitExceeded):
        call_with_time_limit(lambda: time.sleep(5), 0.3)
    assert time.perf_counter() - t0 < 1.5
    with deadline_scope(Deadline.after(9, "outer")):
        assert call_with_time_limit(lambda: current_deadline().label, 2) == "outer"  # type: ignore[union-attr]
    with pytest.raises(ZeroDivisionError):
        call_with_time_limit(lambda: 1 / 0, 2)


def test_deadline_scopes_nest_to_the_earlier_one() -> None:
    with deadline_scope(Deadline.after(1, "run")) as run:
        with deadline_scope(Deadline.after(100, "late")) as inner:
            assert inner is run
        with deadline_scope(Deadline.after(0.1, "early")) as inner:
            assert inner is not None and inner.label == "early"
    assert current_deadline() is None


def test_a_transport_that_blocks_is_cut_at_llm_timeout_s() -> None:
    """Issue 19: a transport blocking 6 s per call with llm_timeout_s=1 took 36 s; now the planner gives up
    after one second and plans offline."""
    config = LLMConfig(model="scripted", timeout_s=1, max_retries=2)
    t0 = time.perf_counter()
    result = make_plan("when does the dog bark", config, LLMClient(config, ScriptedTransport([_blocking(6)] * 3)))
    assert time.perf_counter() - t0 < 2.5
    assert result.fallback and "LLMTimeout" in result.reason and "llm_timeout_s=1" in result.reason


def test_the_run_deadline_limits_a_request_and_a_spent_one_sends_nothing() -> None:
    transport = ScriptedTransport([_blocking(30)])
    client = LLMClient(LLMConfig(model="scripted", timeout_s=60), transport)
    t0 = time.perf_counter()
    with deadline_scope(Deadline.after(0.5, "ask_timeout_s=0.5")), pytest.raises(LLMTimeout, match="ask_timeout_s"):
        client.complete_structured(MSGS, Ok, purpose="plan")
    assert time.perf_counter() - t0 < 1.5 and client.calls[0].time_limit_s is not None
    assert client.calls[0].time_limit_s <= 0.5
    with deadline_scope(Deadline.after(0, "ask_timeout_s=1")), pytest.raises(LLMTimeout, match="no time left"):
        client.complete_text(MSGS, purpose="answer")
    assert len(transport.requests) == 1


def test_a_trickling_server_cannot_hold_a_call() -> None:
    """The server sends headers and then one byte a second: every read succeeds, so only a total limit ends it;
    the abandoned request's HTTP client is closed, so the connection drops too."""
    with fake_openai_server(lambda body: '{"ok": true}') as good:  # litellm's first call imports a lot: not timed
        LLMClient(LLMConfig(model="openai/smollm2", api_base=good.api_base), LiteLLMTransport()).complete_structured(
            MSGS, Ok
        )
    with fake_openai_server(trickle_s=1.0) as server:
        config = LLMConfig(model="openai/smollm2", api_base=server.api_base, timeout_s=2, max_retries=0)
        client = LLMClient(config, LiteLLMTransport())
        t0 = time.perf_counter()
        with pytest.raises(LLMTimeout, match="within 2 s"):
            client.complete_structured(MSGS, Ok, purpose="plan")
        assert time.perf_counter() - t0 < 3.0 and len(server.bodies) == 1
        waited = time.monotonic() + 5
        while server.disconnects == 0 and time.monotonic() < waited:
            time.sleep(0.1)
        assert server.disconnects >= 1


def test_a_request_cancelled_before_it_is_sent_is_never_sent() -> None:
    """The time limit can pass while the worker still imports litellm (seconds, on a cold process): the request
    must not go out then (a hosted API would bill an answer nobody waits for), and a hook registered after the
    cancellation runs at once."""
    with fake_openai_server(lambda body: '{"ok": true}') as server:
        request = LLMRequest(model="openai/smollm2", messages=MSGS, timeout_s=5, api_base=server.api_base)
        request.cancel()
        closed: list[bool] = []
        request.on_cancel(lambda: closed.append(True))
        assert request.cancelled and closed == [True]
        with pytest.raises(LLMTimeout, match="before the request was sent"):
            LiteLLMTransport().complete(request)
        assert server.bodies == []


def test_an_abandoned_worker_is_listed_until_it_ends() -> None:
    release = threading.Event()
    with pytest.raises(TimeLimitExceeded):
        call_with_time_limit(release.wait, 0.1, name="vidreason-test-abandoned")
    mine = [t for t in abandoned_workers() if t.name == "vidreason-test-abandoned"]
    assert len(mine) == 1
    release.set()
    mine[0].join(5)
    assert all(t.name != "vidreason-test-abandoned" for t in abandoned_workers())


EXIT_SCRIPT = """
import atexit, threading, time
from vidreason.agent import cli
from vidreason.tools.core.deadline import TimeLimitExceeded, call_with_time_limit

held = threading.Lock()
atexit.register(lambda: (held.acquire(), print("exit hooks ran", flush=True)))

def main(argv=None):
    def hold():
        with held:
            time.sleep(600)
    if ABANDON:
        try:
            call_with_time_limit(hold, 0.2)
        except TimeLimitExceeded:
            pass
    print("answer printed")
    return 3

cli.main = main
cli.run()
"""


@pytest.mark.parametrize("abandon", [True, False])
def test_the_cli_process_exits_though_an_abandoned_worker_holds_what_exit_hooks_need(abandon: bool) -> None:
    """A worker left running by a call that stopped waiting may hold a lock the interpreter's shutdown needs (here
    an exit hook; in CI a shutdown hung this way): ``run`` flushes the output and ends the process at once. Without
    such a worker the process exits normally, exit hooks included."""
    script = EXIT_SCRIPT.replace("ABANDON", str(abandon))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert proc.stdout == ("answer printed\n" if abandon else "answer printed\nexit hooks ran\n")


# ------------------------------------------------------------------------------------------- whole runs


def _indexed_for(llm_api_base: str, cache: Path, **kw: Any) -> Any:
    """Settings for the shared clip with an LLM at ``llm_api_base``; its index (LLM summaries included) is built
    first against a server that answers at once, so the run below only does the reasoning."""
    from vidreason.agent.reasoner import VideoReasoner

    path, _, _ = shared_clip()
    with fake_openai_server(lambda body: SUMMARY) as good:
        ready = reason_settings(cache, llm="openai/smollm2", llm_api_base=good.api_base)
        install_fast_matcher(ready)
        VideoReasoner(ready).index(path)
    settings = reason_settings(cache, llm="openai/smollm2", llm_api_base=llm_api_base, **kw)
    return settings, path


def test_ask_against_a_trickling_server_ends_within_ask_timeout(tmp_path: Path) -> None:
    from vidreason.agent.reasoner import VideoReasoner

    with fake_openai_server(trickle_s=1.0) as slow:
        settings, path = _indexed_for(slow.api_base, tmp_path / "cache", ask_timeout_s=3, llm_timeout_s=60)
        reasoner = VideoReasoner(settings)
        reasoner.index(path)  # a cache hit: the clock below is the run's
        t0 = time.perf_counter()
        answer = reasoner.ask(path, QUESTION)
        wall = time.perf_counter() - t0
    assert wall < 3 + 1, wall
    assert any(d.startswith("run deadline: ask_timeout_s=3") for d in answer.degraded), answer.degraded
    assert any("LLMTimeout" in d and "ask_timeout_s=3" in d for d in answer.degraded)
    assert answer.text.startswith("No answer: the time limit") and answer.confidence == 0.0
    steps = reasoner.trace(str(answer.trace_id)).steps
    assert steps[0].node == "plan" and steps[0].llm_calls[0].error and steps[0].llm_calls[0].time_limit_s <= 3
    assert any("skipped: the run's time limit" in n for s in steps for n in s.notes)


def test_a_deadline_during_the_answer_keeps_the_template_answer(tmp_path: Path) -> None:
    """The plan comes at once, the answer never: at the deadline the answer node falls back to the template
    answer from the evidence found, verify checks it without the LLM, and the run ends in time."""
    from vidreason.agent.reasoner import VideoReasoner

    with fake_openai_server(lambda body: SUMMARY) as good:
        settings, path = _indexed_for(good.api_base, tmp_path / "cache")
    plan = plan_reply(("e1", "the train", ["speech"]), target=("event", ["e1"]), qtype="speech", form="quote")
    # how long the search takes here (no LLM waits), then a deadline that leaves the answer 3 s
    probe = VideoReasoner(settings, llm_client=LLMClient(settings.llm_config, ScriptedTransport([plan])))
    t0 = time.perf_counter()
    probe.ask(path, QUESTION)
    limit = round(time.perf_counter() - t0 + 3, 1)
    timed = settings.override(ask_timeout_s=limit)
    client = LLMClient(timed.llm_config, ScriptedTransport([plan, _blocking(120)]), model="scripted-test")
    reasoner = VideoReasoner(timed, llm_client=client)
    t0 = time.perf_counter()
    answer = reasoner.ask(path, QUESTION)
    wall = time.perf_counter() - t0
    assert wall < limit + 1, (wall, limit)
    assert any("LLMTimeout" in d for d in answer.degraded), answer.degraded
    assert "noon" in answer.text.lower() and answer.citations  # the template answer from the evidence


def test_cli_ask_exits_against_a_trickling_server(tmp_path: Path) -> None:
    """``vidreason ask`` in its own process: the run ends at ask_timeout_s and the process exits (the abandoned
    request's worker thread does not hold it)."""
    with fake_openai_server(trickle_s=1.0) as slow:
        _, path = _indexed_for(slow.api_base, tmp_path / "cache")
        args = [
            *cli_settings_args(tmp_path / "cache"),
            *("--set", "llm=openai/smollm2", "--set", f"llm_api_base={slow.api_base}"),
            *("--set", "ask_timeout_s=3", "--set", "llm_timeout_s=60"),
        ]
        proc = subprocess.run(
            [sys.executable, "-m", "vidreason", "ask", str(path), QUESTION, "--json", *args],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["usage"]["wall_s"] < 3 + 1 and any(d.startswith("run deadline") for d in out["degraded"])
