"""The trace viewer in a real browser: Playwright drives Debian's chromium (no browser download) against a
uvicorn server on loopback; an offline question on a generated speech clip, steps arriving live, and clicks
on a citation, a transcript line and a shot moving the player. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from ui_helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    UTTERANCES,
    indexed_clip,
    install_fast_matcher,
    need_chromium,
    serve,
    ui_settings,
)

pytestmark = pytest.mark.browser
PLAYER = "document.querySelector('#player')"


def current_time(page: Any) -> float:
    return float(page.evaluate("document.querySelector('#player').currentTime"))


def test_ask_watch_steps_and_seek_to_the_citation() -> None:
    need_chromium()
    from playwright.sync_api import sync_playwright

    from vidreason.ui.app import create_app

    _, cache = indexed_clip()
    settings = ui_settings(cache)
    install_fast_matcher(settings)
    errors: list[str] = []
    with serve(create_app(settings)) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(base + "/")
            page.wait_for_selector("body[data-ready='1']", timeout=15_000)
            assert page.locator("#video-list a").first.inner_text() == "speech.mp4"

            page.select_option("#ask-video", index=0)
            page.fill("#ask-question", "what is said about the train?")
            page.click("#ask-btn")
            # the run page loads once the stream has delivered the answer
            page.wait_for_selector("body[data-run] .citation", timeout=60_000)
            assert page.evaluate("document.body.dataset.liveSteps") == "7"  # each step arrived over SSE
            nodes = page.locator("#steps .step").evaluate_all("els => els.map(e => e.dataset.node)")
            assert nodes == ["plan", "locate", "ground", "constrain", "inspect", "answer", "verify"]
            assert "noon" in page.inner_text("#answer").lower()
            assert "relations satisfied" in page.inner_text("#verdict")
            page.wait_for_selector(".curve-block[data-event='e1'] .proposal", timeout=30_000)
            page.wait_for_function("document.querySelector('#player').readyState >= 1", timeout=15_000)

            cite = page.locator(".citation").first
            cited = float(cite.get_attribute("data-seek") or "nan")
            assert UTTERANCES[1][0] - 0.5 <= cited <= UTTERANCES[1][0] + 3.5
            page.wait_for_function("document.querySelector('.citation img').naturalWidth > 0", timeout=10_000)
            cite.click()
            page.wait_for_function(f"Math.abs({PLAYER}.currentTime - {cited}) < 0.05")
            assert current_time(page) == pytest.approx(cited, abs=0.05)

            line = page.locator("#transcript li.line").first  # "the weather is sunny today"
            line.click()
            start = float(line.get_attribute("data-seek") or "nan")
            page.wait_for_function(f"Math.abs({PLAYER}.currentTime - {start}) < 0.05")
            assert page.locator("#transcript li.line.current").count() == 1

            page.locator(".tl-item.lvl-shot").first.click()  # the shot starts at 0
            page.wait_for_function("document.querySelector('#player').currentTime < 0.05")
            page.locator(".proposal.picked").first.click(force=True)
            page.wait_for_function(f"{PLAYER}.currentTime > {UTTERANCES[1][0] - 0.6}")

            page.click("#steps .step[data-node='ground'] summary")
            assert page.locator("#steps .step[data-node='ground'] .call.tool").count() >= 1
            page.locator("#tree .node.lvl-event > summary").first.wait_for()
            page.evaluate("window.scrollTo(0, 0)")  # sticky columns are drawn where the page is scrolled
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "ui-run.png"), full_page=True)
            assert (ARTIFACTS / "ui-run.png").stat().st_size > 10_000
        finally:
            browser.close()
    assert not errors, errors
