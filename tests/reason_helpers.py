"""Shared setup for the reasoning-graph tests: a generated speech clip indexed once per module, a fast
(BM25-only) text matcher, and scripted-LLM reasoners."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from media import has_espeak, has_ffmpeg, make_speech_video

WEATHER = "the weather is sunny today"
TRAIN = "the train leaves at noon"
UTTERANCES = [(1.0, WEATHER), (6.0, TRAIN)]
DURATION = 11.0


def reason_settings(cache_dir: Path, **kw: Any) -> Any:
    from vidreason.tools.core.settings import Settings

    return Settings(
        profile="fast",
        device="cpu",
        cache_dir=cache_dir,
        clip_model="vidreason-tiny-vit",
        clip_pretrained="random",
        **kw,
    )


def cli_settings_args(cache_dir: Path) -> list[str]:
    return [
        "--cache-dir",
        str(cache_dir),
        "--profile",
        "fast",
        "--device",
        "cpu",
        "--set",
        "clip_model=vidreason-tiny-vit",
        "--set",
        "clip_pretrained=random",
    ]


def install_fast_matcher(settings: Any) -> None:
    """A BM25-only text matcher for ``settings`` (the dense model's import takes long on busy machines)."""
    from vidreason.tools.core.models import ModelKey, default_registry
    from vidreason.tools.text.match import TextMatcher

    config = settings.text_match
    default_registry().put(ModelKey("text-matcher", config.model, config.device), TextMatcher(config, dense=False))


def speech_clip(folder: Path, utterances: Sequence[tuple[float, str]] = UTTERANCES) -> tuple[Path, dict[str, Any]]:
    """The generated clip and the true span of each utterance (from the synthesised word times)."""
    if not (has_ffmpeg() and has_espeak()):
        pytest.skip("ffmpeg and espeak-ng are needed to generate the speech clip")
    path = folder / "speech.mp4"
    words = make_speech_video(path, list(utterances), duration=DURATION)
    spans: dict[str, Any] = {}
    for start, text in utterances:
        mine = [w for w in words if w.start >= start - 1e-6][: len(text.split())]
        spans[text] = (mine[0].start, mine[-1].end)
    return path, spans


def scripted_reasoner(settings: Any, script: list[Any]) -> tuple[Any, Any]:
    """A ``VideoReasoner`` whose LLM replays ``script``; returns (reasoner, transport)."""
    from vidreason.agent.reasoner import VideoReasoner
    from vidreason.tools.llm.client import LLMClient
    from vidreason.tools.llm.transport import ScriptedTransport

    transport = ScriptedTransport(script)
    client = LLMClient(settings.llm_config, transport, model="scripted-test", retry_backoff_s=0)
    return VideoReasoner(settings, llm_client=client), transport


def plan_reply(
    *events: tuple[str, str, list[str]],
    relations: Sequence[tuple[str, str, str]] = (),
    target: tuple[str, list[str]] = ("event", ["e1"]),
    qtype: str = "speech",
    form: str = "quote",
) -> dict[str, Any]:
    """A PlanDraft JSON reply: ``events`` are (id, description, channels)."""
    return {
        "question_type": qtype,
        "sub_events": [{"id": i, "description": d, "paraphrases": [], "channels": ch} for i, d, ch in events],
        "relations": [{"kind": k, "a": a, "b": b} for k, a, b in relations],
        "target": {"kind": target[0], "refs": target[1]},
        "answer_form": form,
        "rewrites": [],
        "reasoning": "scripted",
    }


def cite_speech(text_part: str) -> Any:
    """A scripted answer reply citing the speech evidence item whose text contains ``text_part``."""
    from vidreason.tools.llm.transport import LLMRequest, LLMResponse

    def reply(request: LLMRequest) -> LLMResponse:
        import json
        import re

        user = (
            request.messages[-1]["content"]
            if "previous answer" not in request.messages[-1]["content"]
            else request.messages[-2]["content"]
        )
        block = re.search(r"```json\n(.*?)\n```", user, re.DOTALL)
        assert block, "the evidence must be sent as a quoted JSON data block"
        items = json.loads(block.group(1))
        speech = [it for it in items if it["channel"] == "speech"]
        hits = [it["id"] for it in speech if text_part in it["content"].lower()]
        if not hits and speech:  # the recogniser heard another word: the closest-sounding line
            import difflib

            def closeness(it: dict[str, Any]) -> float:
                words = re.findall(r"[a-z]+", it["content"].lower()) or [""]
                return max(difflib.SequenceMatcher(None, w, text_part).ratio() for w in words)

            hits = [max(speech, key=closeness)["id"]]
        body = {
            "text": f"The speaker says {text_part}.",
            "confidence": 0.9,
            "citations": [{"evidence_id": h, "why": "the line"} for h in hits[:1]],
        }
        return LLMResponse(text=json.dumps(body), prompt_tokens=100, completion_tokens=20, mocked=True)

    return reply


SUPPORTED = {"checks": [], "answer_supported": True, "revised_text": None}


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def line_spoken(cache: Path, path: Path, span: tuple[float, float]) -> str:
    """What the index's transcript heard during ``span`` (whatever words the local espeak-ng build and the
    recogniser produced), so tests check that an answer quotes the right line without assuming its wording."""
    from vidreason.tools.index.video_index import VideoIndex

    transcript = VideoIndex.load(path, reason_settings(cache)).get("transcript")
    lines = [s.text.strip() for s in transcript.segments if s.end > span[0] and s.start < span[1]]
    assert lines, f"nothing was transcribed in {span}"
    return " ".join(lines)


def quotes(answer_text: str, line: str) -> bool:
    """Whether the answer quotes ``line`` (case and punctuation ignored)."""
    return _norm(line) in _norm(answer_text)


_SHARED: dict[str, Any] = {}


def shared_clip() -> tuple[Path, dict[str, Any], Path]:
    """One generated speech clip and its index cache per test process (path, true spans, cache dir)."""
    if "clip" not in _SHARED:
        import atexit
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="vidreason-reason-"))
        atexit.register(shutil.rmtree, folder, True)
        path, truth = speech_clip(folder)
        cache = folder / "cache"
        settings = reason_settings(cache)
        install_fast_matcher(settings)
        from vidreason.tools.index.video_index import VideoIndex

        VideoIndex.build(path, settings)
        _SHARED["clip"] = (path, truth, cache)
    return _SHARED["clip"]  # type: ignore[no-any-return]
