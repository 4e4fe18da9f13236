"""Shared setup for the trace-viewer tests: a generated speech clip indexed once per test process (visual
channel off, BM25-only text matching, so it is fast), a uvicorn server on a free loopback port in a thread,
and the chromium launch options (Debian's chromium, no browser download)."""

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
        make_speech_video(path, UTTERANCES, duration=DURATION)
        cache = folder / "cache"
        settings = ui_settings(cache)
        install_fast_matcher(settings)
        VideoIndex.build(path, settings)
        _SHARED["clip"] = (path, cache)
    return _SHARED["clip"]


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
