"""Chain-of-summary: every scene, event and the video get a summary citing existing children, via a scripted
LLM or extractively offline; bounded inputs; LLM failures fall back (recorded); reruns recompute only what
changed."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from caption_helpers import make_graph

from vidreason.tools.core.errors import LLMTimeout
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.hierarchy import VideoGraph
from vidreason.tools.index.summary import (
    cache_key_parts,
    child_items,
    extractive_summary,
    summarize_graph,
    summary_method,
    truncate_to_tokens,
)
from vidreason.tools.llm.client import LLMClient
from vidreason.tools.llm.transport import LLMRequest, ScriptedTransport

TEXT = {
    "shot:0000": ("A chef chops onions on a wooden board in a kitchen.", "Today we make onion soup."),
    "shot:0001": ("The chef puts the onions into a pot on the stove.", "Cook the onions slowly in butter."),
    "shot:0002": ("A dog sleeps on a sofa in the living room.", None),
    "shot:0003": ("The chef tastes the onion soup with a spoon.", "The onion soup is ready."),
}
SUMMARISED = ["scene:0000", "scene:0001", "event:0000", "video"]


def annotated_graph() -> VideoGraph:
    g = make_graph()
    for shot, (caption, said) in TEXT.items():
        g.annotate(shot, caption=caption, transcript=said)
    return g


def assert_cites_children(g: VideoGraph) -> None:
    for nid in SUMMARISED:
        node = g.node(nid)
        assert node.summary, nid
        assert node.citations, nid
        assert set(node.citations) <= set(g.children(nid)), (nid, node.citations)


def test_extractive_summaries_at_every_level(settings: Settings) -> None:
    g = annotated_graph()
    report = summarize_graph(g, settings.summaries, settings.llm_config)
    assert report.computed == SUMMARISED and report.methods == {"extractive": 4}
    assert report.status.status == "degraded" and "extractive" in (report.status.reason or "")
    assert_cites_children(g)
    assert all(summary_method(g, n) == "extractive" for n in SUMMARISED)
    assert "onion" in (g.node("video").summary or "").lower()  # the central topic survives up the chain
    scene0 = g.node("scene:0000").summary or ""
    assert len(scene0.split()) <= settings.summary_max_words


def test_extractive_picks_central_sentences() -> None:
    items = [
        {"id": "shot:0000", "text": "The chef cooks onion soup. A bird flies."},
        {"id": "shot:0001", "text": "The chef stirs the onion soup."},
        {"id": "shot:0002", "text": "The onion soup is served by the chef."},
    ]
    text, cites = extractive_summary(items, max_words=12)
    assert "bird" not in text and "onion soup" in text
    assert len(text.split()) <= 12 and cites and set(cites) <= {i["id"] for i in items}
    assert extractive_summary([{"id": "shot:0000", "text": ""}], 10) == ("", [])


def test_structural_summary_without_text(settings: Settings) -> None:
    g = make_graph()  # no captions, no speech: say so instead of writing ""
    report = summarize_graph(g, settings.summaries, settings.llm_config)
    assert report.methods == {"structural": 4}
    assert "no captions, speech or on-screen text" in (g.node("scene:0000").summary or "")
    assert_cites_children(g)


def _scripted_reply(request: LLMRequest) -> str:
    user = request.messages[-1]["content"]
    assert "DATA extracted from the video" in user  # children are passed as quoted data
    ids = [
        i
        for i in (
            "shot:0000",
            "shot:0001",
            "shot:0002",
            "shot:0003",
            "scene:0000",
            "scene:0001",
            "event:0000",
        )
        if f'"{i}"' in user
    ]
    return json.dumps({"summary": f"Summary of {len(ids)} items.", "cites": [*ids, "shot:9999"]})


def test_llm_summaries_cite_children(settings: Settings) -> None:
    g = annotated_graph()
    s = settings.override(llm="scripted-model")
    client = LLMClient(s.llm_config, ScriptedTransport([_scripted_reply] * 4), model="scripted-model")
    report = summarize_graph(g, s.summaries, s.llm_config, client=client)
    assert report.methods == {"llm": 4} and report.status.status == "ok"
    assert_cites_children(g)  # the made-up shot:9999 was dropped
    assert g.node("scene:0000").citations == ["shot:0000", "shot:0001"]
    assert g.node("video").citations == ["event:0000"]
    assert g.node("scene:0001").summary == "Summary of 2 items."
    assert len(client.calls) == 4 and all(c.purpose.startswith("summary ") for c in client.calls)


def _fail_on(node_id: str, error: Exception | str) -> Any:
    """A scripted reply that fails for ``node_id`` (raises ``error``, or replies the string) and summarises the
    others (order-independent: the nodes of a level are summarised concurrently)."""

    def reply(request: LLMRequest) -> str:
        if f"{node_id} (" in request.messages[-1]["content"]:
            if isinstance(error, Exception):
                raise error
            return error
        return _scripted_reply(request)

    return reply


def test_llm_failure_falls_back_and_is_recorded(settings: Settings) -> None:
    g = annotated_graph()
    s = settings.override(llm="scripted-model", llm_max_retries=0)
    script = [_fail_on("scene:0000", "no JSON here")] * 4
    report = summarize_graph(
        g, s.summaries, s.llm_config, client=LLMClient(s.llm_config, ScriptedTransport(script), model="scripted-model")
    )
    assert report.methods == {"extractive": 1, "llm": 3}  # one bad reply: only that node falls back
    assert list(report.llm_failures) == ["scene:0000"] and "LLMOutputInvalid" in report.llm_failures["scene:0000"]
    assert report.status.status == "degraded" and "1 node" in (report.status.reason or "")
    assert summary_method(g, "scene:0000") == "extractive"
    assert_cites_children(g)


def test_unavailable_llm_is_asked_once_per_pass(settings: Settings) -> None:
    """A timeout (or an unreachable server) ends the LLM's part of the pass: one wait, not one per node."""
    g = annotated_graph()
    s = settings.override(llm="scripted-model", llm_max_retries=0, llm_max_concurrency=1)
    transport = ScriptedTransport([_fail_on("scene:0000", LLMTimeout("slow"))] * 4)
    report = summarize_graph(g, s.summaries, s.llm_config, client=LLMClient(s.llm_config, transport, model="m"))
    assert len(transport.requests) == 1 and report.methods == {"extractive": 4}
    assert "LLMTimeout" in report.llm_failures["scene:0000"]
    assert all(report.llm_failures[n].startswith("skipped: ") for n in SUMMARISED[1:])
    assert_cites_children(g)


def test_nodes_of_a_level_are_summarised_concurrently(settings: Settings) -> None:
    g = annotated_graph()
    s = settings.override(llm="scripted-model", llm_max_concurrency=4)
    lock, flight = threading.Lock(), {"now": 0, "max": 0}

    def slow(request: LLMRequest) -> str:
        with lock:
            flight["now"] += 1
            flight["max"] = max(flight["max"], flight["now"])
        time.sleep(0.3)
        with lock:
            flight["now"] -= 1
        return _scripted_reply(request)

    report = summarize_graph(
        g, s.summaries, s.llm_config, client=LLMClient(s.llm_config, ScriptedTransport([slow] * 4))
    )
    assert report.methods == {"llm": 4} and flight["max"] == 2  # the two scenes together, then event, video
    assert report.computed == SUMMARISED  # recorded in graph order whatever finished first
    one = settings.override(llm="scripted-model", llm_max_concurrency=1)
    flight["max"] = 0
    summarize_graph(
        g, one.summaries, one.llm_config, client=LLMClient(one.llm_config, ScriptedTransport([slow] * 4)), force=True
    )
    assert flight["max"] == 1


def test_incremental_recompute(settings: Settings) -> None:
    g = annotated_graph()
    summarize_graph(g, settings.summaries, settings.llm_config)
    again = summarize_graph(g, settings.summaries, settings.llm_config)
    assert again.computed == [] and again.reused == SUMMARISED
    g.annotate("shot:0003", ocr_text="SOUP OF THE DAY")  # a new stage adds text to one shot
    third = summarize_graph(g, settings.summaries, settings.llm_config)
    assert third.computed == ["scene:0001", "event:0000", "video"] and third.reused == ["scene:0000"]
    assert "SOUP OF THE DAY" in (g.node("scene:0001").summary or "") or g.node("scene:0001").summary
    # switching method (LLM configured) invalidates everything; round trip through JSON keeps the hashes
    restored = VideoGraph.from_json(g.to_json())
    assert summarize_graph(restored, settings.summaries, settings.llm_config).computed == []
    s = settings.override(llm="scripted-model")
    client = LLMClient(s.llm_config, ScriptedTransport([_scripted_reply] * 4), model="scripted-model")
    assert summarize_graph(restored, s.summaries, s.llm_config, client=client).computed == SUMMARISED
    assert summarize_graph(restored, settings.summaries, settings.llm_config, force=True).computed == SUMMARISED


def test_input_budget_truncates_children(settings: Settings) -> None:
    g = make_graph()
    g.annotate("shot:0000", transcript="word " * 2000)
    items = child_items(g, "scene:0000", token_budget=100)
    assert len(items[0]["text"]) <= 50 * 4 + 4 and items[0]["text"].endswith("...")
    assert truncate_to_tokens("short", 10) == "short"


def test_cache_key_parts(settings: Settings) -> None:
    offline = cache_key_parts(settings.summaries, settings.llm_config)
    online_settings = settings.override(llm="gpt-4o-mini")
    online = cache_key_parts(online_settings.summaries, online_settings.llm_config)
    assert offline["method"] == "extractive" and "prompt" not in offline
    assert online["method"] == "llm:gpt-4o-mini" and online["prompt"] == "summary@1"


@pytest.mark.parametrize("level", ["scene:0000", "video"])
def test_child_items_are_time_ordered(level: str) -> None:
    g = annotated_graph()
    ids = [i["id"] for i in child_items(g, level, 1000)]
    assert ids == g.children(level)
