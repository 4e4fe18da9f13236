"""The captions and summaries index stages on a generated video: captions per shot from a second decode,
summaries citing children at every level, degraded (not failed) without a backend, and cache keys that
follow the caption model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from caption_helpers import RecordingCaptioner
from media import make_cut_video

from vidreason.tools.core.settings import Settings
from vidreason.tools.index import stages as stage_registry
from vidreason.tools.index.stages.captions import CaptionsStage, SummariesStage


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingCaptioner]:
    """Register the two stages (with a recording captioner) for one test, then restore the registry."""
    fake = RecordingCaptioner()
    monkeypatch.setattr(stage_registry, "STAGES", stage_registry.STAGES.copy())
    monkeypatch.setattr(stage_registry, "_instances", {})
    stage_registry.register_stage("captions", lambda: CaptionsStage(captioner=fake))
    stage_registry.register_stage("summaries", SummariesStage)
    yield fake


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "cuts.mp4"
    make_cut_video(path, [("red", 2), ("testsrc2", 2), ("blue", 2)])
    return path


def test_captions_and_summaries_in_the_index(registered: RecordingCaptioner, video: Path, settings: Settings) -> None:
    from vidreason.tools.index.video_index import VideoIndex

    s = settings.override(caption_backend="litellm", caption_model="fake-vlm", asr_enabled=False)
    index = VideoIndex.build(video, s, stages=["captions", "summaries"])
    assert index.status("captions").status == "ok"  # type: ignore[union-attr]
    captions = index.get("captions")
    graph = index.get("summaries")
    assert [c.node_id for c in captions.captions] == graph.shots
    red = captions.captions[0]
    assert len(red.frame_indices) == 1 and red.duplicates >= 1  # a static shot costs one frame
    assert registered.calls, "the captioner was used"
    for level in ("scene", "event", "video"):
        for nid in graph.nodes(level):
            node = graph.node(nid)
            assert node.summary and node.citations and set(node.citations) <= set(graph.children(nid))
    assert graph.node(graph.shots[0]).caption == red.text
    assert index.status("summaries").status == "degraded"  # type: ignore[union-attr]  # extractive, no LLM


def test_captions_degraded_without_loadable_model(
    registered: RecordingCaptioner, video: Path, settings: Settings
) -> None:
    from vidreason.tools.index.stages import get_stage
    from vidreason.tools.index.video_index import VideoIndex

    stage_registry.register_stage("captions", CaptionsStage)  # no injected captioner: load from settings
    s = settings.override(caption_backend="transformers", caption_model="nobody/no-such-vlm", asr_enabled=False)
    index = VideoIndex.build(video, s, stages=["captions", "summaries"])
    st = index.status("captions")
    assert st is not None and st.status == "degraded" and "nobody/no-such-vlm" in (st.reason or "")
    assert index.get("captions").captions == []
    assert index.get("summaries").node("video").summary  # structural summaries still exist
    other = s.override(caption_model="nobody/other-vlm")
    assert get_stage("captions").key(other, {}) != get_stage("captions").key(s, {})
    assert not get_stage("captions").enabled(settings.override(caption_backend="none"))
