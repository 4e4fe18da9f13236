"""Runs in the viewer are jobs: several at once, a bounded queue, each cancellable, each with its own event
log (replayed to late followers); index builds stream their progress per stage."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import TRAIN, heard_line, indexed_clip, install_fast_matcher, quotes, ui_settings

BASE = "http://127.0.0.1:8765"
NODES = ["plan", "locate", "ground", "constrain", "inspect", "answer", "verify"]
ASK = "what is said about the train?"


def make_client(cache: Path, **kw: Any) -> Any:
    from fastapi.testclient import TestClient

    from vidreason.ui.app import create_app

    settings = ui_settings(cache)
    install_fast_matcher(settings)
    return TestClient(create_app(settings, **kw), base_url=BASE)


def events_of(response: Any) -> list[tuple[str, Any]]:
    out = []
    for block in response.text.split("\n\n"):
        if block.strip():
            lines = dict(line.split(": ", 1) for line in block.splitlines())
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def follow(client: Any, job_id: str, after: int = 0) -> list[tuple[str, Any]]:
    with client.stream("GET", f"/api/jobs/{job_id}/events?after={after}") as r:
        assert r.status_code == 200
        r.read()
        return events_of(r)


def wait_for(client: Any, job_id: str, pred: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if pred(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached the expected state: {job}")


def test_two_questions_run_side_by_side() -> None:
    _, cache = indexed_clip()
    with make_client(cache, max_runs=2) as c:
        vid = c.get("/api/videos").json()["videos"][0]["id"]
        body = {"kind": "ask", "video_id": vid, "question": ASK}
        a, b = (c.post("/api/jobs", json=body).json() for _ in range(2))
        assert a["id"] != b["id"] and (a["seq"], b["seq"]) == (1, 2)
        runs = {j["id"]: follow(c, j["id"]) for j in (a, b)}
        jobs = {j["id"]: j for j in c.get("/api/jobs").json()["jobs"]}
    line = heard_line(TRAIN)["text"]
    traces = set()
    for jid, events in runs.items():
        names = [e for e, _ in events]
        assert names[0] == "start" and names[-1] == "end" and "error" not in names
        assert [d["node"] for e, d in events if e == "step"] == [
            "plan",
            "locate",
            "ground",
            "constrain",
            "inspect",
            "answer",
            "verify",
        ]
        answer = next(d for e, d in events if e == "answer")
        assert quotes(answer["text"], line)
        traces.add(answer["trace_id"])
        assert jobs[jid]["status"] == "done" and jobs[jid]["trace_id"] == answer["trace_id"]
        nodes = [d["node"] for e, d in events if e == "node"]  # what ran next, announced before it ran
        assert nodes[:2] == ["plan", "locate"] and nodes[-1] is None
    assert len(traces) == 2
    ja, jb = jobs[a["id"]], jobs[b["id"]]
    assert jb["started_at"] < ja["ended_at"] and ja["started_at"] < jb["ended_at"]  # they overlapped


def test_the_queue_is_bounded_and_queued_runs_can_be_cancelled() -> None:
    _, cache = indexed_clip()
    with make_client(cache, max_runs=1, max_queued=1) as c:
        vid = c.get("/api/videos").json()["videos"][0]["id"]
        body = {"kind": "ask", "video_id": vid, "question": ASK}
        first = c.post("/api/jobs", json=body).json()
        second = c.post("/api/jobs", json=body).json()
        full = c.post("/api/jobs", json=body)
        assert full.status_code == 429 and "waiting" in full.json()["error"]
        cancelled = c.post(f"/api/jobs/{second['id']}/cancel").json()
        assert cancelled["status"] == "cancelled"
        done = [e for e, _ in follow(c, first["id"])]
        assert "answer" in done and done[-1] == "end"
        late = follow(c, second["id"])  # a late follower gets the whole log
        assert late[0][0] == "start" and [e for e, _ in late][-2:] == ["cancelled", "end"]
        assert "step" not in [e for e, _ in late]
        third = c.post("/api/jobs", json=body)  # room again
        assert third.status_code == 200
        follow(c, third.json()["id"])
        assert c.get("/api/jobs/nope").status_code == 404
        assert c.post("/api/jobs", json={"kind": "ask", "video_id": vid}).status_code == 400  # no question


def test_a_running_question_can_be_cancelled() -> None:
    """Cancelled while its plan waits on a slow LLM: nothing after that node runs and no answer comes."""
    from reason_helpers import plan_reply

    from vidreason.tools.llm.client import LLMClient
    from vidreason.tools.llm.transport import LLMResponse, ScriptedTransport

    _, cache = indexed_clip()
    release = threading.Event()

    def slow_plan(request: Any) -> LLMResponse:
        release.wait(10)
        reply = plan_reply(("e1", "the train", ["speech"]))
        return LLMResponse(text=json.dumps(reply), prompt_tokens=10, completion_tokens=5, mocked=True)

    settings = ui_settings(cache)
    llm = LLMClient(settings.llm_config, ScriptedTransport([slow_plan]), model="scripted-slow", retry_backoff_s=0)
    with make_client(cache, llm_client=llm) as c:
        vid = c.get("/api/videos").json()["videos"][0]["id"]
        job = c.post("/api/jobs", json={"kind": "ask", "video_id": vid, "question": ASK}).json()
        wait_for(c, job["id"], lambda j: j["status"] == "running" and j["node"] == "plan")
        assert c.post(f"/api/jobs/{job['id']}/cancel").json()["status"] == "cancelled"
        release.set()
        names = [e for e, _ in follow(c, job["id"])]
    assert names[-2:] == ["cancelled", "end"] and "answer" not in names and "step" not in names


def test_an_index_build_streams_its_progress_per_stage(tmp_path: Path) -> None:
    from media import has_ffmpeg, make_cut_video

    if not has_ffmpeg():
        pytest.skip("ffmpeg is needed to generate the clip")
    video = tmp_path / "colours.mp4"
    make_cut_video(video, [("red", 1.0), ("blue", 1.0)], size=(64, 36), fps=10)
    with make_client(tmp_path / "cache") as c:
        v = c.post("/api/videos", json={"path": str(video)}).json()
        assert c.get(f"/api/videos/{v['id']}").json()["building"] is None
        job = c.post("/api/jobs", json={"kind": "index", "video_id": v["id"]}).json()
        events = follow(c, job["id"])
        detail = c.get(f"/api/videos/{v['id']}").json()
    names = [e for e, _ in events]
    assert names[-1] == "end" and "indexed" in names and "error" not in names
    views = [d for e, d in events if e == "index"]
    assert views, names
    stages = [s["name"] for s in views[-1]["stages"]]
    assert stages[:2] == ["frames", "thumbnails"] and "transcript" in stages
    assert any(s["status"] == "running" for view in views for s in view["stages"])
    assert all(s["status"] in ("ok", "degraded", "skipped", "failed") for s in views[-1]["stages"])
    assert views[-1]["done"] == views[-1]["total"] and views[-1]["current"] is None
    assert any(view["message"].startswith("indexing colours.mp4: ") for view in views)
    assert (
        detail["indexed"] is True and detail["building"] is None and detail["duration"] == pytest.approx(2.0, abs=0.2)
    )
