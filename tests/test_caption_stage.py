"""The captioning pass without a real model: frames go to the right shot across chunk boundaries, static
shots cost one frame, batches are bounded, captions land in the graph, degraded mode is recorded and cache
keys change with model and prompt."""

from __future__ import annotations

import numpy as np
import pytest
from caption_helpers import SHOTS, RecordingCaptioner, chunked, make_graph, synthetic_frames

from vidreason.tools.captioning.base import Captioner, CaptionOptions, cache_key_parts, caption_prompt, load_captioner
from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.caption_run import (
    ShotCaptionRun,
    caption_shots,
    shot_spans,
    start_caption_run,
    write_captions,
)


@pytest.fixture
def cpu_settings(settings: Settings) -> Settings:
    return settings.override(caption_backend="none", caption_batch_size=3)


def test_fake_captioner_satisfies_protocol() -> None:
    assert isinstance(RecordingCaptioner(), Captioner)


@pytest.mark.parametrize("chunk_size", [1, 3, 32])
def test_frames_assigned_to_shots_across_chunks(cpu_settings: Settings, chunk_size: int) -> None:
    fake = RecordingCaptioner()
    frames = synthetic_frames(fps=2.0)
    result = caption_shots(cpu_settings.captions, SHOTS, chunked(frames, chunk_size), captioner=fake)
    assert result.status.status == "ok" and result.model_id == "fake-vlm"
    by_node = result.by_node
    assert list(by_node) == [s[0] for s in SHOTS]
    for node_id, start, end in SHOTS:
        c = by_node[node_id]
        assert all(start <= t < end for t in c.timestamps), (node_id, c.timestamps)
        assert c.frames_seen == round((end - start) * 2)
    assert by_node["shot:0000"].frame_indices == [0]  # static grey: one frame
    assert by_node["shot:0002"].frame_indices == [12]  # static noise: one frame
    assert len(by_node["shot:0001"].frame_indices) == 4  # moving bar: max_frames spread over the shot
    assert len(by_node["shot:0003"].frame_indices) == 4 and by_node["shot:0003"].duplicates == 0
    assert by_node["shot:0000"].text == "1 frame(s), mean 120"
    assert result.frames_seen == 20 and result.frames_sent == 10 and result.duplicates == 8
    # batches of at most caption_batch_size shots; one prompt per clip matching its frame count
    assert [len(clips) for clips, _ in fake.calls] == [3, 1]
    first_prompts = fake.calls[0][1]
    assert first_prompts[0] == caption_prompt(n_frames=1) and first_prompts[1] == caption_prompt(n_frames=4)


def test_numbered_frames_and_gaps(cpu_settings: Settings) -> None:
    fake = RecordingCaptioner()
    shots = [("shot:0000", 1.0, 2.0), ("shot:0001", 5.0, 6.0)]  # frames outside every shot are ignored
    opts = CaptionOptions(numbered=True)
    result = caption_shots(cpu_settings.captions, shots, [synthetic_frames(fps=2.0)], captioner=fake, options=opts)
    assert [c.frame_indices for c in result.captions] == [
        [2],
        [10, 11, 12],
    ]  # the last shot also takes t == end
    clip = fake.calls[0][0][0]
    assert np.asarray(clip[0]).shape == (64, 96, 3)
    assert not np.all(np.asarray(clip[0]) == 120)  # a number was drawn on the grey frame
    assert "frame number" in fake.calls[0][1][0]


def test_captions_written_into_graph(cpu_settings: Settings) -> None:
    graph = make_graph()
    result = caption_shots(
        cpu_settings.captions, shot_spans(graph), [synthetic_frames()], captioner=RecordingCaptioner()
    )
    assert write_captions(graph, result) == 4
    assert graph.node("shot:0000").caption == "1 frame(s), mean 120"
    assert graph.meta["captions"]["model"] == "fake-vlm"
    assert graph.meta["captions"]["frames"]["shot:0002"] == [12]
    result.captions[0].node_id = "shot:9999"
    with pytest.raises(ConfigError, match="shot:9999"):
        write_captions(graph, result)


def test_no_backend_on_cpu_is_skipped_and_degraded(cpu_settings: Settings, caplog) -> None:  # type: ignore[no-untyped-def]
    graph = make_graph()
    result = caption_shots(cpu_settings.captions, shot_spans(graph), [synthetic_frames()])
    assert result.status.status == "degraded" and result.captions == []
    assert "no caption backend configured" in (result.status.reason or "")
    assert any("captions skipped" in r.message for r in caplog.records)
    write_captions(graph, result)
    assert graph.meta["captions"]["status"] == "degraded"
    assert all(graph.node(s).caption is None for s in graph.shots)


def test_unloadable_model_degrades_fast(settings: Settings) -> None:
    s = settings.override(caption_backend="transformers", caption_model="nobody/no-such-vlm")
    run = start_caption_run(s.captions, SHOTS)  # HF_HUB_OFFLINE=1 in tests: fails before importing transformers
    assert run.captioner is None
    out = run.close()
    assert out.status.status == "degraded" and "nobody/no-such-vlm" in (out.status.reason or "")
    assert "HF_HUB_OFFLINE" in (out.status.reason or "")


def test_registry_errors(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="did you mean 'litellm'"):
        load_captioner(settings.override(caption_backend="litellm").captions.model_copy(update={"backend": "litelm"}))
    with pytest.raises(ConfigError, match="'none'"):
        load_captioner(settings.override(caption_backend="none").captions)


def test_cache_key_parts(settings: Settings) -> None:
    off = cache_key_parts(settings.override(caption_backend="none").captions)
    assert off == {"backend": "none"}
    a = cache_key_parts(
        settings.override(caption_backend="transformers", caption_model="Qwen/Qwen2.5-VL-3B-Instruct").captions
    )
    b = cache_key_parts(
        settings.override(caption_backend="transformers", caption_model="Qwen/Qwen2.5-VL-7B-Instruct").captions
    )
    c = cache_key_parts(settings.override(caption_backend="litellm", caption_model="gpt-4o-mini").captions)
    assert a["model"] == "Qwen/Qwen2.5-VL-3B-Instruct" and a["prompt"] == "caption@1"
    assert a != b and "api_base" in c and "api_base" not in a
    assert a["keyframes"]["max_frames"] == settings.caption_max_frames


def test_run_rejects_wrong_caption_count() -> None:
    class Broken(RecordingCaptioner):
        def caption(self, clips, prompt):  # type: ignore[no-untyped-def]
            return ["only one"]

    run = ShotCaptionRun(SHOTS, Broken(), CaptionOptions(batch_size=8))
    run.consume(synthetic_frames())
    with pytest.raises(RuntimeError, match="1 captions for 4 clips"):
        run.close()
