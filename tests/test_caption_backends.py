"""The two captioner backends end to end on CPU, offline: a tiny random-initialised Qwen2.5-VL (real
architecture, processor and chat template, batched generation, video and multi-image inputs) and a
litellm vision model through the LLM client with litellm's mock."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from caption_helpers import make_graph, synthetic_frames
from PIL import Image

from vidreason.tools.captioning.api import LiteLLMCaptioner, image_data_url
from vidreason.tools.captioning.base import Captioner
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.caption_run import caption_shots, shot_spans, write_captions
from vidreason.tools.llm.litellm_transport import LiteLLMTransport
from vidreason.tools.llm.transport import LLMRequest, ScriptedTransport


@pytest.fixture(scope="module")
def tiny_vlm():  # type: ignore[no-untyped-def]
    pytest.importorskip("transformers")
    from vidreason.tools.captioning.random_qwen import random_qwen_captioner

    return random_qwen_captioner("tiny", max_new_tokens=6, batch_size=4)


def test_tiny_vlm_captions_graph_shots(tiny_vlm, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(tiny_vlm, Captioner) and tiny_vlm.supports_video
    graph = make_graph()
    result = caption_shots(settings.captions, shot_spans(graph), [synthetic_frames(fps=2.0)], captioner=tiny_vlm)
    assert result.status.status == "ok" and result.model_id == "random-qwen2.5-vl-tiny"
    assert write_captions(graph, result) == 4
    captions = [graph.node(s).caption for s in graph.shots]
    assert all(isinstance(c, str) and c for c in captions), captions  # random weights: noise, but real text
    # static shots went in as one image, busy shots as a 4-frame video
    assert [len(c.frame_indices) for c in result.captions] == [1, 4, 1, 4]


def test_tiny_vlm_batching_is_consistent(tiny_vlm) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    a = [rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)]
    b = list(rng.integers(0, 255, (3, 60, 80, 3), dtype=np.uint8))
    together = tiny_vlm.caption([a, b], ["Describe the frame.", "Describe the clip."])
    alone = tiny_vlm.caption([b], "Describe the clip.")
    assert len(together) == 2 and together[1] == alone[0]  # left padding does not change greedy output


def test_tiny_vlm_multi_image_path(tiny_vlm) -> None:  # type: ignore[no-untyped-def]
    from vidreason.tools.captioning.hf import TransformersCaptioner

    images_only = TransformersCaptioner(
        tiny_vlm.model, tiny_vlm.processor, model_id="tiny-images", max_new_tokens=4, use_video=False
    )
    assert not images_only.supports_video
    clip = [Image.new("RGB", (80, 60), (200, 10, 10)), Image.new("RGB", (80, 60), (10, 200, 10))]
    inputs = images_only._inputs([clip], ["Describe."])
    assert "pixel_values" in inputs and "pixel_values_videos" not in inputs
    assert inputs["image_grid_thw"].shape[0] == 2  # two images for the one clip
    assert len(images_only.caption([clip], "Describe.")) == 1


def test_litellm_captioner_with_mock(settings: Settings) -> None:
    s = settings.override(caption_backend="litellm", caption_model="gpt-4o-mini")
    captioner = LiteLLMCaptioner.from_config(s.captions, transport=LiteLLMTransport(mock_response="A grey wall."))
    result = caption_shots(
        s.captions, [("shot:0000", 0.0, 3.0), ("shot:0001", 3.0, 6.0)], [synthetic_frames()], captioner=captioner
    )
    assert [c.text for c in result.captions] == ["A grey wall.", "A grey wall."]
    assert result.model_id == "gpt-4o-mini"
    calls = captioner.client.calls
    assert len(calls) == 2 and all(c.ok and c.mocked and c.purpose == "caption" for c in calls)


def test_litellm_message_format(settings: Settings) -> None:
    seen: list[LLMRequest] = []

    def reply(request: LLMRequest) -> str:
        seen.append(request)
        return "  A red square.  "

    s = settings.override(
        caption_backend="litellm",
        caption_model="hosted_vllm/Qwen/Qwen2.5-VL-7B-Instruct",
        caption_api_base="http://127.0.0.1:8000/v1",
    )
    captioner = LiteLLMCaptioner.from_config(s.captions, transport=ScriptedTransport([reply, reply]), concurrency=2)
    frame = np.zeros((60, 80, 3), dtype=np.uint8)
    frame[..., 0] = 255
    out = captioner.caption([[frame, frame], [frame]], ["two frames", "one frame"])
    assert out == ["A red square.", "A red square."]
    assert {r.api_base for r in seen} == {"http://127.0.0.1:8000/v1"}
    parts = sorted((r.messages[0]["content"] for r in seen), key=len)  # type: ignore[arg-type]
    assert [p["type"] for p in parts[1]] == ["image_url", "image_url", "text"]
    assert parts[0][-1] == {"type": "text", "text": "one frame"}
    url = parts[0][0]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert image.size == (80, 60) and image.getpixel((40, 30))[0] > 200  # type: ignore[index]


def test_data_url_downscales_large_frames() -> None:
    url = image_data_url(np.zeros((1080, 1920, 3), dtype=np.uint8), max_side=512)
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert image.size == (512, 288)
