"""The trace viewer's JSON API (FastAPI TestClient): every endpoint on a generated, indexed speech clip. Answers
are checked against the line the recogniser heard in the true span, never espeak-ng's wording."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import TRAIN, WEATHER, heard_line, indexed_clip, install_fast_matcher, quotes, true_span, ui_settings

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def clip() -> tuple[Path, Path]:
    return indexed_clip()


def make_client(cache: Path, **kw: Any) -> Any:
    from fastapi.testclient import TestClient

    from vidreason.ui.app import create_app

    settings = ui_settings(cache)
    install_fast_matcher(settings)
    return TestClient(create_app(settings, **kw), base_url=BASE)


@pytest.fixture(scope="module")
def client(clip: tuple[Path, Path]) -> Any:
    with make_client(clip[1]) as c:  # one event loop for the module: jobs outlive a request
        yield c


@pytest.fixture(scope="module")
def vid(client: Any) -> str:
    videos = client.get("/api/videos").json()["videos"]
    assert len(videos) == 1
    return str(videos[0]["id"])


def read_events(response: Any) -> list[tuple[str, Any]]:
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def ask(client: Any, vid: str, question: str) -> list[tuple[str, Any]]:
    with client.stream("POST", "/api/ask", json={"video_id": vid, "question": question}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        r.read()
        return read_events(r)


@pytest.fixture(scope="module")
def run(client: Any, vid: str) -> dict[str, Any]:
    events = ask(client, vid, "what is said about the train?")
    answers = [d for e, d in events if e == "answer"]
    assert answers, events
    return {"events": events, "answer": answers[0]}


def train_span() -> tuple[float, float]:
    return true_span(TRAIN)


def overlaps(a: tuple[float, float], b: tuple[float, float], slack: float = 0.3) -> bool:
    return a[0] < b[1] + slack and b[0] < a[1] + slack


def test_health_page_and_static_files(client: Any) -> None:
    h = client.get("/api/health").json()
    assert h["ok"] is True and h["llm"] is None and h["profile"] == "fast"
    page = client.get("/")
    assert page.status_code == 200 and '<script type="module" src="/static/app.js">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name, kind in [("app.js", "javascript"), ("style.css", "css"), ("charts.js", "javascript")]:
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"], name
    assert "http://" not in page.text and "https://" not in page.text  # nothing fetched from elsewhere
    import re

    from vidreason.ui.app import STATIC_DIR

    for f in STATIC_DIR.iterdir():  # every module, style sheet and page: no URL but the SVG namespace
        urls = set(re.findall(r"https?://[^\s\"'`)]+", f.read_text()))
        assert urls <= {"http://www.w3.org/2000/svg"}, (f.name, urls)
        assert client.get(f"/static/{f.name}").status_code == 200


def test_videos_lists_the_indexed_clip(client: Any, clip: tuple[Path, Path], vid: str) -> None:
    v = client.get("/api/videos").json()["videos"][0]
    assert v["name"] == "speech.mp4" and v["indexed"] is True and v["source"] == "manifest"
    assert v["duration"] == pytest.approx(11.0, abs=0.2) and v["stages"]["transcript"] == "ok"
    assert Path(v["path"]) == clip[0].resolve()


def test_video_detail_has_timeline_tree_and_transcript(client: Any, vid: str) -> None:
    d = client.get(f"/api/videos/{vid}").json()
    assert d["indexed"] and d["index"]["frames"] >= 10
    levels = {n["level"] for n in d["nodes"]}
    assert levels == {"video", "event", "scene", "shot"}
    assert next(n for n in d["nodes"] if n["level"] == "event")["parent"] == "video"
    lines = d["transcript"]
    assert len(lines) == 2 and d["speakers"] == []  # no diarization in this index: no speaker lanes
    for line, text in zip(lines, [WEATHER, TRAIN], strict=True):
        assert overlaps((line["start"], line["end"]), true_span(text)) and line["text"] == heard_line(text)["text"]
        assert line["speaker"] is None
    assert client.get("/api/videos/0123456789abcdef").status_code == 404


def test_register_video_accepts_videos_only(client: Any, clip: tuple[Path, Path], vid: str, tmp_path: Path) -> None:
    r = client.post("/api/videos", json={"path": str(clip[0])})
    assert r.status_code == 200 and r.json()["id"] == vid and r.json()["indexed"] is True
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    for bad in [str(text), str(tmp_path / "missing.mp4"), str(tmp_path), "/etc/passwd"]:
        r = client.post("/api/videos", json={"path": bad})
        assert r.status_code == 400, bad
        assert "error" in r.json()
    assert client.post("/api/videos", json={"path": ""}).status_code == 422


def test_media_supports_range_requests(client: Any, clip: tuple[Path, Path], vid: str) -> None:
    size = clip[0].stat().st_size
    full = client.get(f"/api/videos/{vid}/media")
    assert full.status_code == 200 and len(full.content) == size
    assert full.headers["content-type"] == "video/mp4" and full.headers.get("accept-ranges") == "bytes"
    part = client.get(f"/api/videos/{vid}/media", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.content == clip[0].read_bytes()[100:200]
    tail = client.get(f"/api/videos/{vid}/media", headers={"Range": f"bytes={size - 10}-"})
    assert tail.status_code == 206 and len(tail.content) == 10
    assert client.get(f"/api/videos/{vid}/media", headers={"Range": f"bytes={size + 5}-"}).status_code == 416


def test_frame_thumbnails(client: Any, vid: str) -> None:
    r = client.get(f"/api/videos/{vid}/frames/8.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    assert client.get(f"/api/videos/{vid}/frames/9999.jpg").status_code == 404
    assert client.get(f"/api/videos/{vid}/frames/x.jpg").status_code == 404


def test_index_endpoint_reuses_the_cache(client: Any, vid: str) -> None:
    r = client.post(f"/api/videos/{vid}/index")
    assert r.status_code == 200 and r.json()["summary"]["frames"] >= 10


def test_ask_streams_steps_then_the_answer(run: dict[str, Any]) -> None:
    names = [e for e, _ in run["events"]]
    assert names[0] == "start" and names[-1] == "end" and "error" not in names
    assert names.index("answer") == len(names) - 2
    steps = [d for e, d in run["events"] if e == "step"]
    assert [s["node"] for s in steps] == [
        "plan",
        "locate",
        "ground",
        "constrain",
        "inspect",
        "answer",
        "verify",
    ]
    assert [s["step"] for s in steps] == list(range(7))
    a = run["answer"]
    assert quotes(a["text"], heard_line(TRAIN)["text"]) and a["trace_id"] and a["citations"]


def test_ask_rejects_bad_requests(client: Any, vid: str) -> None:
    assert client.post("/api/ask", json={"video_id": "ffffffffffffffff", "question": "what?"}).status_code == 404
    r = client.post("/api/ask", json={"video_id": vid, "question": "   "})
    assert r.status_code == 400 and r.json()["kind"] == "InvalidQuestion"
    assert client.post("/api/ask", json={"video_id": vid}).status_code == 422


def test_runs_list_and_detail(client: Any, run: dict[str, Any], vid: str) -> None:
    tid = run["answer"]["trace_id"]
    rows = client.get("/api/runs").json()["runs"]
    row = next(r for r in rows if r["trace_id"] == tid)
    assert row["video_id"] == vid and row["complete"] and row["steps"] == 7 and row["found"] is True
    assert quotes(row["answer"], heard_line(TRAIN)["text"])
    assert client.get("/api/runs?limit=0").status_code == 422
    d = client.get(f"/api/runs/{tid}").json()
    assert d["video_id"] == vid and d["duration"] == pytest.approx(11.0, abs=0.2)
    assert d["trace"]["steps"][0]["node"] == "plan" and d["trace"]["plan"]["sub_events"]
    assert d["verdict"]["satisfied"] is True and d["verdict"]["relaxed"] is False
    s, e = train_span()
    chosen = d["chosen"]["e1"]
    assert s - 0.5 <= chosen[0] < chosen[1] <= e + 0.5
    assert d["proposals"]["e1"] and d["target"]["start"] == pytest.approx(chosen[0])
    cite = d["answer"]["citations"][0]
    line = heard_line(TRAIN)
    assert s - 0.5 <= cite["time"] <= e + 0.5
    assert cite["seek"] == pytest.approx(line["start"], abs=1e-3)  # the quote's start, not the cited frame
    assert cite["span"] == pytest.approx([line["start"], line["end"]], abs=1e-3) and cite["role"] == "target"
    assert cite["thumbnail"] == f"/api/videos/{vid}/frames/{cite['frame_index']}.jpg"
    assert client.get(cite["thumbnail"]).status_code == 200
    assert set(d["usage"]) >= {"calls", "prompt_tokens", "cost_usd", "per_stage"}


def test_run_curves_peak_on_the_spoken_line(client: Any, run: dict[str, Any]) -> None:
    tid = run["answer"]["trace_id"]
    c = client.get(f"/api/runs/{tid}/curves").json()
    ev = c["sub_events"][0]
    assert ev["id"] == "e1" and "speech" in ev["curves"] and len(ev["curve_times"]) == len(ev["curves"]["speech"])
    values = ev["curves"]["speech"]
    peak_t = ev["curve_times"][max(range(len(values)), key=values.__getitem__)]
    s, e = train_span()
    assert s - 0.5 <= peak_t <= e + 0.5 and ev["spans"]


def test_export_and_unknown_runs(client: Any, run: dict[str, Any]) -> None:
    tid = run["answer"]["trace_id"]
    r = client.get(f"/api/runs/{tid}/export")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert r.json()["trace_id"] == tid and len(r.json()["steps"]) == 7
    assert client.get(f"/api/runs/{tid}/export?redact=true").json()["redacted"] is True
    for bad in ["0" * 32, "a%20b", "x" * 200]:
        r = client.get(f"/api/runs/{bad}")
        assert r.status_code == 404 and r.json()["kind"] == "TraceNotFound", bad
    assert client.get(f"/api/runs/{'0' * 32}/curves").status_code == 404


def test_ground_returns_spans_and_curves(client: Any, vid: str) -> None:
    r = client.post("/api/ground", json={"video_id": vid, "query": TRAIN})
    assert r.status_code == 200
    g = r.json()
    s, e = train_span()
    assert g["video_id"] == vid and g["spans"] and s - 0.6 <= g["spans"][0]["start"] <= e
    assert "speech" in g["curves"] and any(d.startswith("visual") for d in g["degraded"])
    bad = client.post("/api/ground", json={"video_id": vid, "query": TRAIN, "channels": ["smell"]})
    assert bad.status_code == 422


def test_llm_calls_are_shown_with_prompts_tokens_and_cost(clip: tuple[Path, Path]) -> None:
    from reason_helpers import SUPPORTED, cite_speech, plan_reply

    from vidreason.tools.llm.client import LLMClient
    from vidreason.tools.llm.transport import ScriptedTransport

    settings = ui_settings(clip[1])
    script = [
        plan_reply(("e1", "the speaker talks about the train", ["speech"])),
        cite_speech("noon"),
        SUPPORTED,
    ]
    llm = LLMClient(settings.llm_config, ScriptedTransport(script), model="scripted-test", retry_backoff_s=0)
    client = make_client(clip[1], llm_client=llm)
    vid = client.get("/api/videos").json()["videos"][0]["id"]
    events = ask(client, vid, "What does the speaker say about the train?")
    tid = next(d for e, d in events if e == "answer")["trace_id"]
    d = client.get(f"/api/runs/{tid}").json()
    calls = [c for s in d["trace"]["steps"] for c in s["llm_calls"]]
    assert [c["purpose"] for c in calls] == ["plan", "answer", "verify"]
    answer_call = calls[1]
    assert answer_call["prompt_tokens"] == 100 and answer_call["completion_tokens"] == 20
    assert answer_call["messages"] and answer_call["response"] and "latency_s" in answer_call
    assert d["usage"]["calls"] == 3 and d["usage"]["per_stage"]["answer"]["prompt_tokens"] == 100
    redacted = client.get(f"/api/runs/{tid}?redact=true").json()
    assert all(c["messages"] is None for s in redacted["trace"]["steps"] for c in s["llm_calls"])


def test_a_registered_video_is_indexed_when_asked_with_progress(tmp_path: Path) -> None:
    from media import has_ffmpeg, make_cut_video

    if not has_ffmpeg():
        pytest.skip("ffmpeg is needed to generate the clip")

    video = tmp_path / "colours.mp4"
    make_cut_video(video, [("red", 1.0), ("blue", 1.0)], size=(64, 36), fps=10)
    client = make_client(tmp_path / "cache")  # its own cache: the shared one keeps a single video
    v = client.post("/api/videos", json={"path": str(video)}).json()
    assert v["indexed"] is False and v["name"] == "colours.mp4"
    events = ask(client, v["id"], "when does the screen turn blue?")
    status = [d["message"] for e, d in events if e == "status"]
    assert any(m.startswith("indexing colours.mp4: ") and m.endswith("%") for m in status), status
    assert [e for e, _ in events][-2:] == ["answer", "end"]
    listed = {x["id"]: x for x in client.get("/api/videos").json()["videos"]}
    assert listed[v["id"]]["indexed"] is True and listed[v["id"]]["source"] == "ui"
    detail = client.get(f"/api/videos/{v['id']}").json()
    assert detail["indexed"] and detail["transcript"] == [] and detail["duration"] == pytest.approx(2.0, abs=0.2)


def test_citations_seek_to_the_start_of_the_cited_evidence(client: Any, vid: str) -> None:
    """'Right after X': the answer cites the next line (the target) and X's line (the anchor); each citation
    seeks to the start of its line, though the frame it is pinned to lies later inside the line."""
    events = ask(client, vid, "what is said right after the weather?")
    tid = next(d for e, d in events if e == "answer")["trace_id"]
    d = client.get(f"/api/runs/{tid}").json()
    target, anchor = heard_line(TRAIN), heard_line(WEATHER)
    assert quotes(d["answer"]["text"], target["text"])
    by_role = {c["role"]: c for c in d["answer"]["citations"]}
    for role, line in [("target", target), ("anchor", anchor)]:
        c = by_role[role]
        assert c["seek"] == pytest.approx(line["start"], abs=1e-3) and c["seek"] <= c["time"]
        assert c["span"] == pytest.approx([line["start"], line["end"]], abs=1e-3)
        assert any(e["id"] == c["evidence_id"] and e["role"] == role for e in d["evidence"])
    search = d["searches"]["e1"]
    assert search["searched"] == ["speech"] and any(
        overlaps((o["start"], o["end"]), true_span(WEATHER)) for o in search["occurrences"]
    )
    assert d["target"]["found"] is True and overlaps((d["target"]["start"], d["target"]["end"]), true_span(TRAIN))
    assert [it["text"] for it in d["target"]["items"]] == [target["text"]]
    assert d["verdict"]["missing"] == [] and d["verdict"]["replans"] == 0 and d["verdict"]["reanswers"] == 0


def test_not_found_is_shown_with_what_was_searched(client: Any, vid: str) -> None:
    events = ask(client, vid, "when does the cat jump onto the table?")
    tid = next(d for e, d in events if e == "answer")["trace_id"]
    d = client.get(f"/api/runs/{tid}").json()
    assert d["answer"]["found"] is False and d["answer"]["citations"] == []
    assert "not found" in d["answer"]["text"].lower()
    assert d["verdict"]["missing"] == ["e1"] and d["target"]["found"] is False and d["chosen"] == {}
    assert d["searches"]["e1"]["occurrences"] == [] and any("visual" in s for s in d["searches"]["e1"]["skipped"])
    row = next(r for r in client.get("/api/runs").json()["runs"] if r["trace_id"] == tid)
    assert row["found"] is False


def test_graph_outline_comes_from_langgraph(client: Any) -> None:
    from vidreason.graphs.reason import graph

    g = client.get("/api/graph").json()
    described = graph.get_graph()
    assert {n["id"] for n in g["nodes"]} == set(described.nodes)
    assert [n["id"] for n in g["nodes"]][:2] == ["__start__", "plan"] and g["nodes"][-1]["id"] == "__end__"
    assert len(g["edges"]) == len(described.edges)
    loops = {(e["source"], e["target"]) for e in g["edges"] if e["loop"]}
    assert loops == {("constrain", "plan"), ("verify", "answer")}  # re-plan and re-answer
    assert all(e["conditional"] for e in g["edges"] if e["loop"])


def test_next_node_follows_the_routing() -> None:
    from vidreason.ui.run_views import next_node

    assert next_node("plan", {}) == "locate"
    assert next_node("constrain", {"feedback": ""}) == "inspect"
    assert next_node("constrain", {"feedback": "ordering violated"}) == "plan"
    assert next_node("verify", {"feedback": ""}) is None
    assert next_node("verify", {"feedback": "unsupported citations"}) == "answer"


def test_speakers_of_a_diarized_transcript(clip: tuple[Path, Path]) -> None:
    """A transcript whose lines carry speaker labels (faked here as the speech channel will provide them)."""
    from ui_helpers import fake_speakers

    with fake_speakers(("Ana", "Ben")), make_client(clip[1]) as c:
        vid = c.get("/api/videos").json()["videos"][0]["id"]
        d = c.get(f"/api/videos/{vid}").json()
    assert d["speakers"] == ["Ana", "Ben"]
    assert [line["speaker"] for line in d["transcript"]] == ["Ana", "Ben"]


def test_video_detail_of_a_build_in_progress(clip: tuple[Path, Path]) -> None:
    from vidreason.tools.index.video_index import VideoIndex
    from vidreason.ui.data import video_detail
    from vidreason.ui.security import VideoEntry, video_id

    index = VideoIndex.load(clip[0], ui_settings(clip[1]))
    entry = VideoEntry(id=video_id(clip[0]), path=clip[0].resolve(), source="ui")
    building = {"current": "graph", "done": 5, "total": 7, "stages": []}
    d = video_detail(entry, index, building)
    assert d["indexed"] is False and d["partial"] is True and d["building"] == building and d["transcript"]
    assert video_detail(entry, None, building)["building"] == building
