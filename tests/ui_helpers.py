"""Shared setup for the trace-viewer tests: a generated speech clip indexed once per test process (visual
channel off, BM25-only text matching, so it is fast) with the true span of each utterance and the line the
recogniser heard there (tests never assume espeak-ng's wording), a uvicorn server on a free loopback port in a
thread, a faked diarized transcript, and the chromium launch options (Debian's chromium, no download)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from media import has_espeak, has_ffmpeg, make_speech_video

WEATHER = "the weather is sunny today"
TRAIN = "the train leaves at noon"
UTTERANCES = [(1.0, WEATHER), (6.0, TRAIN)]
DURATION = 11.0
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def ui_settings(cache_dir: Path, **kw: Any) -> Any:
    from vidreason.tools.core.settings import Settings

    return Settings(profile="fast", device="cpu", cache_dir=cache_dir, visual_enabled=False, **kw)


def install_fast_matcher(settings: Any) -> None:
    """A BM25-only text matcher for ``settings`` (the dense model takes long to import on busy machines)."""
    from vidreason.tools.core.models import ModelKey, default_registry
    from vidreason.tools.text.match import TextMatcher

    config = settings.text_match
    default_registry().put(ModelKey("text-matcher", config.model, config.device), TextMatcher(config, dense=False))


_SHARED: dict[str, Any] = {}


def indexed_clip() -> tuple[Path, Path]:
    """(video path, cache dir): one generated speech clip, indexed once per test process."""
    if "clip" not in _SHARED:
        if not (has_ffmpeg() and has_espeak()):
            pytest.skip("ffmpeg and espeak-ng are needed to generate the speech clip")
        import atexit

        from vidreason.tools.index.video_index import VideoIndex

        folder = Path(tempfile.mkdtemp(prefix="vidreason-ui-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "speech.mp4"
        words = make_speech_video(path, UTTERANCES, duration=DURATION)
        for start, text in UTTERANCES:  # the synthesised words of each utterance give its true span
            mine = [w for w in words if w.start >= start - 1e-6][: len(text.split())]
            _SHARED[f"span:{text}"] = (mine[0].start, mine[-1].end)
        cache = folder / "cache"
        settings = ui_settings(cache)
        install_fast_matcher(settings)
        VideoIndex.build(path, settings)
        _SHARED["clip"] = (path, cache)
    return _SHARED["clip"]


def true_span(text: str) -> tuple[float, float]:
    """Where ``text`` (one of ``UTTERANCES``) is spoken in the shared clip (from the synthesiser's word times)."""
    indexed_clip()
    return _SHARED[f"span:{text}"]  # type: ignore[no-any-return]


def heard_line(text: str) -> dict[str, Any]:
    """The transcript line the recogniser produced where ``text`` is spoken (whatever words it heard), as the
    index stores it: ``{"start", "end", "text"}``."""
    from vidreason.tools.index.video_index import VideoIndex

    path, cache = indexed_clip()
    s, e = true_span(text)
    segments = VideoIndex.load(path, ui_settings(cache)).get("transcript").segments
    hits = [seg for seg in segments if seg.end > s and seg.start < e]
    assert len(hits) == 1, f"expected one transcript line over {s:.2f}-{e:.2f}s, got {hits}"
    return {"start": hits[0].start, "end": hits[0].end, "text": hits[0].text.strip()}


def quotes(answer_text: str, line: str) -> bool:
    """Whether the answer quotes ``line`` (case and punctuation ignored)."""
    import re

    def norm(t: str) -> str:
        return " ".join(re.findall(r"[a-z0-9']+", t.lower()))

    return norm(line) in norm(answer_text)


@contextlib.contextmanager
def fake_speakers(labels: tuple[str, ...] = ("Ana", "Ben")) -> Iterator[None]:
    """A diarized transcript until exit: speech lines get speaker labels (line i -> ``labels[i % n]``) as the
    speech channel will provide them. Indexes opened inside the block see them (views are memoised per index)."""
    from vidreason.tools.index import views

    original = views._speech

    def labelled(index: Any) -> list[Any]:
        return [it.model_copy(update={"speaker": labels[i % len(labels)]}) for i, it in enumerate(original(index))]

    views._speech = labelled  # type: ignore[assignment]
    try:
        yield
    finally:
        views._speech = original  # type: ignore[assignment]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on a free port; yields the base URL; stops it on exit."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="ui-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def need_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (CI installs Debian's chromium: apt-get install -y chromium)")
