"""The ``reason`` graph runs in LangGraph's own dev server (``langgraph dev`` with the repository's
``langgraph.json``), driven by a JSON-only client (``langgraph_sdk``): plain input, plain context."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reason_helpers import speech_clip

ROOT = Path(__file__).resolve().parents[1]
STARTUP_S = 120.0

pytestmark = pytest.mark.skipif(
    shutil.which("langgraph") is None, reason="langgraph CLI not installed (pip install 'langgraph-cli[inmem]')"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("langgraph_api", reason="langgraph-cli[inmem] (the in-memory server) is not installed")
    pytest.importorskip("langgraph_sdk")
    port = _free_port()
    log = tmp_path_factory.mktemp("lg") / "dev.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LANGGRAPH_NO_ANALYTICS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [shutil.which("langgraph") or "langgraph", "dev", "--no-browser", "--no-reload", "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"langgraph dev exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"langgraph dev did not listen within {STARTUP_S:.0f} s:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _call(coro: Any) -> Any:
    return asyncio.run(coro)


def test_studio_sees_a_plain_data_context_form(server: str) -> None:
    from langgraph_sdk import get_client

    async def schemas() -> dict[str, Any]:
        client = get_client(url=server)
        assistant = (await client.assistants.search(graph_id="reason"))[0]
        return dict(await client.assistants.get_schemas(assistant["assistant_id"]))

    found = _call(schemas())
    props = (found.get("context_schema") or {}).get("properties") or {}
    assert {"settings", "llm", "max_replans", "max_answer_retries"} <= set(props)
    assert "resources" not in props  # live objects of the Python API never reach the form
    assert "video" in (found.get("input_schema") or {}).get("properties", {})


def test_json_client_runs_a_question_end_to_end(server: str, tmp_path: Path) -> None:
    from langgraph_sdk import get_client

    video, _ = speech_clip(tmp_path)
    context = {
        "settings": {"profile": "fast", "device": "cpu", "cache_dir": str(tmp_path / "cache"), "visual_enabled": False}
    }

    async def ask(inputs: dict[str, Any]) -> Any:
        client = get_client(url=server)
        return await client.runs.wait(None, "reason", input=inputs, context=context)

    out = _call(ask({"question": "When does the speaker mention the train?", "video": str(video)}))
    assert out["answer"]["text"] and out["plan"]["planner"] == "offline"
    assert [s["node"] for s in out["steps"]][:3] == ["plan", "locate", "ground"]
    assert out["steps"][-1]["node"] == "verify" and out["spans"]
    assert (tmp_path / "cache" / "index").is_dir()  # the server built the index from the plain settings

    with pytest.raises(Exception, match="needs 'video'"):
        _call(ask({"question": "What is said?"}))
