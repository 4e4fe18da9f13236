"""The trace viewer in a real browser: Playwright drives Debian's chromium (no browser download) against a
uvicorn server on loopback. Live index progress while a run builds the index, citations that seek to the start
of the quoted line (and keyboard navigation between them), the step waterfall and the path through the graph,
two runs at once with a compare view and a cancelled queued run, and the layout at 1440x900, 1280x720 and a
narrow window (screenshots kept in test-artifacts/). Answers are checked against the line the recogniser heard,
never espeak-ng's wording."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    TRAIN,
    WEATHER,
    fake_speakers,
    heard_line,
    indexed_clip,
    install_fast_matcher,
    need_chromium,
    quotes,
    serve,
    ui_settings,
)

pytestmark = pytest.mark.browser
PLAYER = "document.querySelector('#player')"
NODES = ["plan", "locate", "ground", "constrain", "inspect", "answer", "verify"]
AFTER_WEATHER = "what is said right after the weather?"


def current_time(page: Any) -> float:
    return float(page.evaluate(f"{PLAYER}.currentTime"))


def wait_js(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll a JS expression until it is true (``wait_for_function`` polls with eval, which the page's CSP
    refuses, rightly)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:  # say where the page was
            shown = page.evaluate("[location.hash, document.body.dataset.view, document.body.innerText.slice(0, 300)]")
            raise AssertionError(f"still false after {timeout}s: {expression} (page: {shown})")
        page.wait_for_timeout(50)


def wait_time(page: Any, t: float, tol: float = 0.05) -> None:
    wait_js(page, f"Math.abs({PLAYER}.currentTime - {t}) < {tol}")


@contextmanager
def browser_page(app: Any, width: int = 1440, height: int = 900) -> Iterator[tuple[Any, str, list[str]]]:
    """(page, base URL, errors): console errors, page errors and requests to anywhere but the server."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with serve(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on(
                "request", lambda r: None if r.url.startswith((base, "data:")) else errors.append(f"external {r.url}")
            )
            page.goto(base + "/")
            page.wait_for_selector("body[data-ready='1']", timeout=20_000)
            yield page, base, errors
        finally:
            browser.close()


def ask_in_page(page: Any, question: str) -> None:
    page.select_option("#ask-video", index=0)
    page.fill("#ask-question", question)
    page.click("#ask-btn")


def api(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.loads(r.read())


def app_for(cache: Path, **kw: Any) -> Any:
    from vidreason.ui.app import create_app

    settings = ui_settings(cache)
    install_fast_matcher(settings)
    return create_app(settings, **kw)


def test_citations_seek_to_the_quote_start_with_keys_waterfall_and_path() -> None:
    _, cache = indexed_clip()
    target, anchor = heard_line(TRAIN), heard_line(WEATHER)
    with browser_page(app_for(cache)) as (page, _, errors):
        assert page.locator("#video-list a").first.inner_text() == "speech.mp4"
        ask_in_page(page, AFTER_WEATHER)
        page.wait_for_selector("body[data-run] .citation", timeout=90_000)  # the stored run replaces the live one
        assert page.locator("#steps .step").evaluate_all("els => els.map(e => e.dataset.node)") == NODES
        assert quotes(page.inner_text("#answer .answer-text"), target["text"])
        wait_js(page, f"{PLAYER}.readyState >= 1", 15)

        cites = page.locator("#answer .citation")
        first = float(cites.nth(0).get_attribute("data-seek") or "nan")
        assert first == pytest.approx(target["start"], abs=1e-3)  # the quoted line's start, not its frame
        cites.nth(0).click()
        wait_time(page, target["start"])
        band = page.locator("#timeline .cite-band")
        assert band.get_attribute("visibility") == "visible"
        assert float(band.get_attribute("data-start") or "nan") == pytest.approx(target["start"], abs=1e-3)
        assert float(band.get_attribute("data-end") or "nan") == pytest.approx(target["end"], abs=1e-3)
        cited = page.locator("#transcript li.line.cited")
        assert cited.count() == 1 and float(cited.get_attribute("data-start") or "nan") == pytest.approx(
            target["start"]
        )
        page.keyboard.press("]")  # next citation: the anchor line ("the weather ...")
        wait_time(page, anchor["start"])
        assert page.evaluate("document.body.dataset.citation") == "1"
        assert page.locator("#answer .citation.selected").get_attribute("data-citation") == "1"
        page.keyboard.press("[")
        wait_time(page, target["start"])

        # the waterfall: every step on one time axis, tool calls nested, and the path through the graph
        steps = page.locator("#waterfall .wf-step")
        assert steps.count() == 7
        widths = page.locator("#waterfall .wf-step .wf-bar").evaluate_all(
            "els => els.map(e => +e.getAttribute('width'))"
        )
        assert len(widths) == 7 and all(w > 0 for w in widths)
        tools = page.locator("#waterfall .wf-tool .wf-sub").all_text_contents()  # SVG text: no inner text
        assert any("find_event" in t for t in tools) and any("resolve_target" in t for t in tools)
        assert page.locator("#graph-path .gnode.visited").count() == 7
        assert page.locator("#graph-path .edge.taken").count() == 8  # start -> plan -> ... -> verify -> end
        assert page.locator("#graph-path .edge.loop").count() == 0  # no re-plan, no re-answer
        assert "re-plan (not taken)" in (page.text_content("#graph-path") or "")
        page.locator("#waterfall .wf-step[data-node='ground'] .wf-hit").click(position={"x": 20, "y": 8})  # its label
        card = page.locator("#steps .step[data-node='ground'] .card")
        card.wait_for()
        assert "occurrence" in card.inner_text()
        raw = page.locator("#steps .step[data-node='ground'] .raw")
        assert raw.is_hidden()
        card.locator(".json-toggle").click()
        assert raw.is_visible() and "searches" in raw.inner_text()

        line = page.locator("#transcript li.line").first
        line.click()
        wait_time(page, float(line.get_attribute("data-seek") or "nan"))
        assert page.locator("#transcript li.line.current").count() == 1
        page.locator(".tl-item.lvl-shot").first.click()  # the shot starts at 0
        wait_js(page, f"{PLAYER}.currentTime < 0.05")
    assert not errors, errors


def test_live_progress_while_a_run_indexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A question on a video nobody indexed yet: the page shows the build's progress per stage (never "not
    indexed"), the transcript appears as soon as its stage is committed, then the steps stream in."""
    from media import has_espeak, has_ffmpeg, make_speech_video

    from vidreason.tools.index.stages.hierarchy import GraphStage

    if not (has_ffmpeg() and has_espeak()):
        pytest.skip("ffmpeg and espeak-ng are needed to generate the clip")
    video = tmp_path / "fresh.mp4"
    make_speech_video(video, [(1.0, "the meeting starts at nine"), (5.0, "please bring the blue folder")], duration=8.0)
    slow_run = GraphStage.run

    def slow_graph(self: Any, ctx: Any) -> Any:  # a stage that takes long enough to watch (deterministic)
        time.sleep(2.0)
        return slow_run(self, ctx)

    monkeypatch.setattr(GraphStage, "run", slow_graph)
    with browser_page(app_for(tmp_path / "cache", videos=[video])) as (page, _, errors):
        assert "not indexed" in page.inner_text("#video-list")
        ask_in_page(page, "what is said right after the meeting starts?")
        # while the graph stage runs: progress per stage, the transcript already there, no "not indexed"
        page.wait_for_selector("#progress .stage[data-stage='graph'][data-status='running']", timeout=90_000)
        page.wait_for_selector("#transcript li.line", timeout=10_000)
        assert page.locator("#progress .stage[data-stage='transcript'][data-status='ok']").count() == 1
        assert page.locator("#progress .stage[data-stage='frames'][data-status='ok']").count() == 1
        assert "Not indexed" not in page.inner_text("#view")
        assert page.locator("#steps .step").count() == 0
        # the job list polls (700 ms): it may still show the build's first state
        assert any(state in page.inner_text("#job-list") for state in ("indexing", "opening the index"))
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-indexing-1440x900.png"))
        page.wait_for_selector("body[data-run] #answer .answer-text", timeout=90_000)
        # the panel goes when the run's last event arrives, which may follow the answer on a busy machine
        page.wait_for_selector("#progress-panel", state="hidden", timeout=15_000)
        log = page.evaluate("window.vrLog")
        assert page.locator("#steps .step").count() == 7
    first_step = next(i for i, e in enumerate(log) if e["ev"] == "step")
    before = log[:first_step]
    assert any(e["ev"] == "video" and e["partial"] and e["transcript"] > 0 for e in before), before
    progress = [e for e in before if e["ev"] == "index" and "notIndexed" in e]
    assert progress and not any(e["notIndexed"] for e in progress)
    assert {"decode", "graph"} <= {e["current"] for e in progress}
    assert not errors, errors


def test_two_runs_at_once_a_cancelled_one_and_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from vidreason.graphs.nodes import locate

    _, cache = indexed_clip()
    nodes_of = locate.hierarchy_nodes
    gate = threading.Event()

    def held_nodes(index: Any) -> Any:  # runs wait in locate until the test lets them go: they overlap for sure
        gate.wait(60)
        return nodes_of(index)

    monkeypatch.setattr(locate, "hierarchy_nodes", held_nodes)
    question = "what is said about the train?"
    with browser_page(app_for(cache, max_runs=2, max_queued=4)) as (page, base, errors):
        try:
            for _ in range(3):
                before = page.evaluate("location.hash")
                ask_in_page(page, question)
                wait_js(page, f"location.hash.startsWith('#/job/') && location.hash !== {before!r}", 20)
            third = page.locator("#job-list li.job[data-status='queued']")  # two run, the third waits
            third.wait_for(timeout=20_000)
            wait_js(page, "document.querySelectorAll('#job-list li.job[data-status=running]').length === 2", 20)
            third.locator("button.cancel").click()
            page.wait_for_selector("#job-list li.job[data-status='cancelled']", timeout=10_000)
        finally:
            gate.set()
        wait_js(page, "document.querySelectorAll('#job-list li.job[data-status=done]').length === 2", 90)
        jobs = sorted(api(base, "/api/jobs")["jobs"], key=lambda j: j["seq"])
        assert [j["status"] for j in jobs] == ["done", "done", "cancelled"]
        a, b = jobs[0], jobs[1]
        assert b["started_at"] < a["ended_at"] and a["started_at"] < b["ended_at"]  # they ran at the same time
        for j in (a, b):
            page.goto(f"{base}/#/job/{j['id']}")  # a finished job's page is its stored run
            page.wait_for_selector(f"body[data-run='{j['trace_id']}'] #steps .step[data-node='verify']", timeout=20_000)
            assert page.locator("#steps .step").count() == 7
            assert quotes(page.inner_text("#answer .answer-text"), heard_line(TRAIN)["text"])
        page.select_option("#compare-select", a["trace_id"])
        page.wait_for_selector("#compare .compare-table", timeout=20_000)
        text = page.inner_text("#compare")
        assert "same question" in text and "same answer" in text
        labels = page.locator("#timeline .row-label").all_text_contents()
        assert "A cited" in labels and "B cited" in labels
        assert page.locator("#compare .path-svg").count() == 2 and page.locator("#compare .waterfall-svg").count() == 2
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-compare-1440x900.png"))
    assert not errors, errors


def layout(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => {
        const box = (sel) => {
            const r = document.querySelector(sel).getBoundingClientRect();
            return [r.top, r.bottom];
        };
        return { player: box('.player-wrap'), transcript: box('.transcript-panel'), height: innerHeight,
                 overflowX: document.documentElement.scrollWidth - document.documentElement.clientWidth,
                 scrollY: scrollY, pageHeight: document.documentElement.scrollHeight };
    }"""
        )
    )


def test_layout_and_screenshots_at_three_sizes() -> None:
    """One page scroll with the player (and, on wide windows, the timeline and transcript) in view; speaker
    lanes from a diarized transcript (faked); no sideways scrolling. The screenshots are for looking at."""
    _, cache = indexed_clip()
    ARTIFACTS.mkdir(exist_ok=True)
    with fake_speakers(("Ana", "Ben")), browser_page(app_for(cache)) as (page, _, errors):
        ask_in_page(page, AFTER_WEATHER)
        page.wait_for_selector("body[data-run] .citation", timeout=90_000)
        page.wait_for_selector(".curve-block .proposal", timeout=30_000)
        page.locator("#answer .citation").first.click()
        labels = page.locator("#timeline .row-label").all_text_contents()
        assert "Ana" in labels and "Ben" in labels and "speech" not in labels  # one lane per speaker
        assert page.locator("#transcript .speaker").all_inner_texts() == ["Ana ", "Ben "]
        for width, height in [(1440, 900), (1280, 720), (820, 1000)]:
            page.set_viewport_size({"width": width, "height": height})
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(400)  # the redraw after a resize
            top = layout(page)
            assert top["overflowX"] <= 0, (width, top)
            page.screenshot(path=str(ARTIFACTS / f"ui-run-{width}x{height}.png"))
            if width >= 1280:
                assert top["transcript"][0] < height  # the transcript starts inside the first screen
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            page.wait_for_timeout(200)
            down = layout(page)
            assert down["scrollY"] > 200, down  # the page itself scrolls (one scroll, no inner column scroll)
            assert -1 <= down["player"][0] < height / 2, (width, down)  # the player stays in view
            if width >= 1280:  # the video column stays whole beside the trace: transcript in view too
                assert down["transcript"][0] < height and down["transcript"][1] <= height + 1, (width, down)
            page.screenshot(path=str(ARTIFACTS / f"ui-run-{width}x{height}-scrolled.png"))
        page.set_viewport_size({"width": 1440, "height": 900})
        page.evaluate("window.scrollTo(0, 0)")
        for node in ["ground", "constrain", "inspect"]:  # readable cards in the full-page picture
            page.click(f"#steps .step[data-node='{node}'] summary")
        page.locator("#answer details.evidence summary").click()
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "ui-run-1440x900-full.png"), full_page=True)
    assert not errors, errors


def test_the_loops_taken_are_highlighted_with_llm_tokens() -> None:
    """A scripted LLM whose first answer the verifier rejects: the path shows the re-answer loop taken once,
    the waterfall nests each LLM call under its step with its tokens."""
    from reason_helpers import SUPPORTED, cite_speech, plan_reply

    from vidreason.tools.llm.client import LLMClient
    from vidreason.tools.llm.transport import LLMRequest, LLMResponse, ScriptedTransport

    def reject_all(request: LLMRequest) -> LLMResponse:
        import re

        ids = sorted(set(re.findall(r'"id": ?"(ev\d+)"', request.messages[-1]["content"])))
        checks = [{"evidence_id": i, "supported": False, "reason": "does not say that"} for i in ids]
        body = {"checks": checks, "answer_supported": False, "revised_text": None}
        return LLMResponse(text=json.dumps(body), prompt_tokens=300, completion_tokens=40, mocked=True)

    _, cache = indexed_clip()
    settings = ui_settings(cache)
    script = [
        plan_reply(("e1", "the train", ["speech"])),
        cite_speech("noon"),
        reject_all,
        cite_speech("noon"),
        SUPPORTED,
    ]
    llm = LLMClient(settings.llm_config, ScriptedTransport(script), model="scripted-test", retry_backoff_s=0)
    with browser_page(app_for(cache, llm_client=llm)) as (page, _, errors):
        ask_in_page(page, "What does the speaker say about the train?")
        page.wait_for_selector("body[data-run] #answer .answer-text", timeout=90_000)
        nodes = page.locator("#steps .step").evaluate_all("els => els.map(e => e.dataset.node)")
        assert nodes == [*NODES, "answer", "verify"]
        loop = page.locator("#graph-path path.edge.loop")
        assert loop.count() == 1 and loop.get_attribute("data-edge") == "verify>answer"
        labels = page.locator("#graph-path .loop-label.loop").all_text_contents()
        assert labels == ["re-answer ×1"]
        assert "×2" in (page.text_content("#graph-path .gnode[data-node='answer']") or "")
        llm_rows = page.locator("#waterfall .wf-llm .wf-sub").all_text_contents()
        assert llm_rows == ["↳ LLM plan", "↳ LLM answer", "↳ LLM verify", "↳ LLM answer", "↳ LLM verify"]
        costs = page.locator("#waterfall .wf-step .wf-cost").all_text_contents()
        assert len(costs) == 5 and all(" tok · $" in c for c in costs)
        page.click("#steps .step[data-step='6'] summary")
        assert "a new answer is asked for" in page.inner_text("#steps .step[data-step='6'] .card")
    assert not errors, errors
