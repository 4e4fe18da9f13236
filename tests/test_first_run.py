"""A newcomer's first run and every run after: the demo video, the hub check, remembered model failures,
writes that stay in the cache dir, quick commands without torch, and the small CLI bugs (``cache clear
sample``, a closed stdout pipe, ``-q``)."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from media import has_espeak, has_ffmpeg, make_speech_video
from reason_helpers import cli_settings_args, shared_clip

from vidreason.agent.cli import main
from vidreason.tools.core import hub
from vidreason.tools.core.errors import ConfigError, ModelUnavailable


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDREASON_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", CUDA_VISIBLE_DEVICES="", **extra)
    return env


# ------------------------------------------------------------------------------------------------ demo video
def test_demo_needs_ffmpeg_and_espeak_and_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vidreason.agent import demo

    monkeypatch.setattr(demo.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="apt-get install ffmpeg espeak-ng"):
        demo.ensure_demo(tmp_path)
    assert not list(tmp_path.rglob("*.mp4"))


def test_demo_is_built_once_with_speech_cuts_and_slides(tmp_path: Path) -> None:
    if not (has_ffmpeg() and has_espeak()):
        pytest.skip("ffmpeg and espeak-ng build the demo video")
    from vidreason.agent.demo import SCRIPT, ensure_demo
    from vidreason.agent.samples import resolve_video
    from vidreason.tools.media.video import probe

    path = resolve_video("sample", tmp_path)
    assert path.parent == tmp_path / "samples" and path.name.startswith("demo-")
    info = probe(path)
    assert info.duration == pytest.approx(SCRIPT.duration, abs=0.2)
    assert {s.kind for s in info.streams} == {"video", "audio"} and (info.width, info.height) == (640, 360)
    stamp = path.stat().st_mtime_ns
    assert ensure_demo(tmp_path) == path and path.stat().st_mtime_ns == stamp  # built once, then reused
    assert not [p for p in (tmp_path / "samples").iterdir() if p.name.startswith(".build-")]  # no leftovers
    assert [t for t, _ in SCRIPT.lines()] == sorted(t for t, _ in SCRIPT.lines())
    assert any(p.title for p in SCRIPT.parts) and any(p.clip_start is not None for p in SCRIPT.parts)


def test_sample_names(tmp_path: Path) -> None:
    from vidreason.agent.samples import resolve_video
    from vidreason.tools.core.errors import VideoOpenError

    assert resolve_video("talk.mp4", tmp_path) == Path("talk.mp4")
    with pytest.raises(VideoOpenError, match="sample:demo, sample:footage"):
        resolve_video("sample:nope", tmp_path)
    with pytest.raises(VideoOpenError, match="not been built"):
        resolve_video("sample", tmp_path, build=False)
    pytest.importorskip("iscc_samples")
    assert resolve_video("sample:footage", tmp_path).name == "demo.mp4"


# ------------------------------------------------------------------------------------------------ hub check
@pytest.fixture
def online_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """``HF_HUB_OFFLINE`` unset for the test (restored afterwards), and a fresh process-wide hub answer."""
    import huggingface_hub.constants as hub_constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", hub_constants.HF_HUB_OFFLINE)
    hub.reset()
    yield
    hub.reset()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.usefixtures("online_env")
def test_unreachable_hub_turns_offline_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import huggingface_hub.constants as hub_constants

    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    with caplog.at_level(logging.WARNING, logger="vidreason.tools.core.hub"):
        assert hub.go_offline_if_unreachable(tmp_path) is True
        assert hub.go_offline_if_unreachable(tmp_path) is True
    assert os.environ["HF_HUB_OFFLINE"] == "1" and hub_constants.HF_HUB_OFFLINE is True
    assert len([r for r in caplog.records if "cannot be reached" in r.message]) == 1  # said once
    assert "could not be reached" in hub.offline_reason()
    record = json.loads((tmp_path / "hub.json").read_text())
    assert record["reachable"] is False
    # another process within the next minutes reuses the answer without connecting
    hub.reset()
    monkeypatch.setattr(hub, "_connects", lambda *a: pytest.fail("asked the network again"))
    assert hub.hub_reachable(tmp_path) is False


@pytest.mark.usefixtures("online_env")
def test_reachable_hub_stays_online(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub.go_offline_if_unreachable(tmp_path) is False
    assert "HF_HUB_OFFLINE" not in os.environ and hub.offline_reason() == ""


def test_user_setting_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.reset()
    monkeypatch.setattr(hub, "_connects", lambda *a: pytest.fail("HF_HUB_OFFLINE is set: no check"))
    assert hub.go_offline_if_unreachable(tmp_path) is True  # conftest sets HF_HUB_OFFLINE=1
    assert hub.offline_reason() == "offline: HF_HUB_OFFLINE=1 was set"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert hub.go_offline_if_unreachable(tmp_path) is False


# ------------------------------------------------------------------------------------- remembered failures
def test_failed_model_load_is_not_retried_in_this_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vidreason.tools.core.configs import VisionConfig
    from vidreason.tools.core.models import ModelRegistry
    from vidreason.tools.vision import clip
    from vidreason.tools.vision.factory import load_visual_encoder

    calls = []

    def failing(*args: object, **kwargs: object) -> None:
        calls.append(1)
        raise ModelUnavailable("open_clip weights ViT-B-32/x could not be loaded (offline)")

    monkeypatch.setattr(clip, "ClipEmbedder", failing)
    config = VisionConfig(clip_model="ViT-B-32", clip_pretrained="laion2b_s34b_b79k", cache_dir=tmp_path)
    with pytest.raises(ModelUnavailable, match="could not be loaded"):
        load_visual_encoder(config, ModelRegistry())
    with pytest.raises(ModelUnavailable, match="remembered from an earlier run"):
        load_visual_encoder(config, ModelRegistry())  # a new process: a new registry, same cache
    assert len(calls) == 1
    other = config.model_copy(update={"clip_model": "ViT-B-16"})  # another model is tried
    with pytest.raises(ModelUnavailable, match="could not be loaded"):
        load_visual_encoder(other, ModelRegistry())
    assert len(calls) == 2
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # online now: the offline failure does not count
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    with pytest.raises(ModelUnavailable, match="could not be loaded"):
        load_visual_encoder(config, ModelRegistry())
    assert len(calls) == 3
    hub.forget_failures(tmp_path)  # `vidreason index --force`
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="could not be loaded"):
        load_visual_encoder(config, ModelRegistry())
    assert len(calls) == 4


# ------------------------------------------------------------------------------------------------ small bugs
def test_cache_clear_by_name_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = ["--cache-dir", str(tmp_path)]
    assert main(["cache", "clear", "sample", "--yes", *cache]) == 0  # the demo was never built here
    assert "nothing cached for sample" in capsys.readouterr().out
    assert main(["cache", "clear", str(tmp_path / "gone.mp4"), "--yes", *cache]) == 1  # a typo is not "nothing"
    err = capsys.readouterr().err.strip()
    assert "gone.mp4: no such file" in err and len(err.splitlines()) == 1


def test_cache_clear_removes_the_videos_indexes(capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    path, _, cache = shared_clip()
    copy = cache.parent / "copy-cache"
    shutil.copytree(cache, copy, dirs_exist_ok=True)
    args = cli_settings_args(copy)
    assert main(["cache", "list", "--json", *args]) == 0
    assert json.loads(capsys.readouterr().out)
    assert main(["cache", "clear", str(path), "--yes", *args]) == 0
    assert "removed" in capsys.readouterr().out
    assert main(["cache", "list", "--json", *args]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_closed_stdout_pipe_is_not_an_error(tmp_path: Path) -> None:
    code = (
        "import sys; from vidreason.agent.cli import main; "
        f"sys.exit(main(['trace', '--list', '--json', '--cache-dir', {str(tmp_path)!r}]))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader went away (`| head`) before anything was written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "BrokenPipeError" not in err and "Exception ignored" not in err and "unexpected error" not in err


def test_quiet_hides_third_party_progress_bars(tmp_path: Path) -> None:
    code = (
        "from vidreason.agent.cli import main\n"
        f"assert main(['-q', 'cache', 'list', '--cache-dir', {str(tmp_path)!r}]) == 0\n"
        "from tqdm import tqdm\n"
        "from transformers.utils.logging import is_progress_bar_enabled\n"
        "from huggingface_hub.utils import are_progress_bars_disabled\n"
        "assert tqdm(range(3)).disable and not is_progress_bar_enabled() and are_progress_bars_disabled()\n"
    )
    env = _env()
    for name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        env.pop(name, None)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=300)


# --------------------------------------------------------------------------------------- quick commands
def test_quick_commands_import_no_torch() -> None:
    """``info``, ``cache list`` and ``trace`` on cached data start without torch, transformers or LangGraph."""
    from reason_helpers import reason_settings

    from vidreason.agent.reasoner import VideoReasoner

    path, _, cache = shared_clip()
    answer = VideoReasoner(reason_settings(cache)).ask(path, "What does the speaker say about the weather?")
    args = cli_settings_args(cache)
    code = (
        "import io, sys, contextlib\n"
        "from vidreason.agent.cli import main\n"
        f"args = {args!r}\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    assert main(['info', {str(path)!r}, *args]) == 0\n"
        "    assert main(['cache', 'list', *args]) == 0\n"
        "    assert main(['trace', '--list', *args]) == 0\n"
        f"    assert main(['trace', {answer.trace_id!r}, '--json', *args]) == 0\n"
        f"assert {answer.trace_id!r} in out.getvalue()\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'langgraph', 'open_clip')\n"
        "         if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], env=_env(), check=True, capture_output=True, timeout=300)


# ------------------------------------------------------------------------------------------ where it writes
def test_index_and_ask_write_only_under_the_cache_dir(tmp_path: Path) -> None:
    """With HOME, TMPDIR and the working folder pointed at empty folders, a default fast-profile index and
    ask leave files only under ``--cache-dir``."""
    if not (has_ffmpeg() and has_espeak()):
        pytest.skip("ffmpeg and espeak-ng are needed to generate the speech clip")
    video = tmp_path / "in" / "talk.mp4"
    video.parent.mkdir()
    make_speech_video(video, [(0.5, "the budget is ready"), (4.0, "thanks for listening")], duration=7)
    home, tmp, work, cache = (tmp_path / n for n in ("home", "tmp", "work", "cache"))
    for d in (home, tmp, work):
        d.mkdir()
    env = _env(HOME=str(home), TMPDIR=str(tmp))
    env.pop("XDG_CACHE_HOME", None)
    for argv in (["index", str(video)], ["ask", str(video), "What is said about the budget?"]):
        subprocess.run(
            [sys.executable, "-m", "vidreason", *argv, "--cache-dir", str(cache), "--profile", "fast"],
            env=env,
            cwd=work,
            check=True,
            capture_output=True,
            timeout=600,
        )
    stray = [str(p) for d in (home, tmp, work) for p in d.rglob("*")]
    assert stray == []
    assert list(cache.glob("index/*/manifest.json")) and (cache / "traces.sqlite").exists()
