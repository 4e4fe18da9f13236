"""The cached index: cache hits, per-stage recomputation, atomic commits, concurrent builders."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from index_helpers import SlowStage
from media import make_cut_video

from vidreason.tools.core.errors import IndexNotFound, VideoOpenError
from vidreason.tools.core.settings import Settings
from vidreason.tools.index import stages as stage_registry
from vidreason.tools.index.video_index import VideoIndex


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("v") / "clip.mp4"
    make_cut_video(p, [("red", 2.0), ("blue", 2.0)], fps=25)
    return p


@pytest.fixture
def only_core_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restrict the registry to the built-in stages (plus what a test registers)."""
    monkeypatch.setattr(stage_registry, "STAGES", stage_registry.STAGES.subset(("frames", "thumbnails")))
    monkeypatch.setattr(stage_registry, "_instances", {})


def test_build_then_load_is_a_cache_hit(clip: Path, settings: Settings, only_core_stages: None) -> None:
    with pytest.raises(IndexNotFound):
        VideoIndex.load(clip, settings)
    built = VideoIndex.build(clip, settings)
    assert len(built.frame_times) == 4
    assert built.manifest.stages["frames"].status == "ok"
    assert built.thumbnail(0) is not None and built.thumbnail(0).stat().st_size > 0  # type: ignore[union-attr]
    loaded = VideoIndex.load(clip, settings)
    np.testing.assert_array_equal(loaded.frame_times, built.frame_times)
    assert loaded.manifest.packages["numpy"] == np.__version__
    assert loaded.frame_at(2.9) == 3 and loaded.frame_at(-5) == 0


def test_new_stage_does_not_recompute_others(clip: Path, settings: Settings, only_core_stages: None) -> None:
    VideoIndex.build(clip, settings)
    frames_dir = VideoIndex.load(clip, settings).stage_dir("frames")
    mtime = frames_dir.stat().st_mtime_ns
    slow = SlowStage()
    stage_registry.register_stage("slow_test", lambda: slow)
    index = VideoIndex.build(clip, settings)
    assert slow.runs == 1 and index.get("slow_test") == {"frames": 4}
    assert frames_dir.stat().st_mtime_ns == mtime
    VideoIndex.build(clip, settings)
    assert slow.runs == 1  # cached


def test_settings_that_change_the_frame_table_get_their_own_index(
    clip: Path, settings: Settings, only_core_stages: None
) -> None:
    a = VideoIndex.build(clip, settings)
    b = VideoIndex.build(clip, settings.override(sample_fps=2.0))
    assert a.root != b.root and len(b.frame_times) == 8


def test_same_content_different_path_shares_the_index(
    clip: Path, settings: Settings, tmp_path: Path, only_core_stages: None
) -> None:
    copy = tmp_path / "copy of clip.mp4"
    copy.write_bytes(clip.read_bytes())
    assert VideoIndex.build(clip, settings).root == VideoIndex.build(copy, settings).root


def test_bad_video_raises_and_leaves_nothing(tmp_path: Path, settings: Settings, only_core_stages: None) -> None:
    p = tmp_path / "bad.mp4"
    p.write_text("not a video")
    with pytest.raises(VideoOpenError):
        VideoIndex.build(p, settings)
    assert (
        not list((settings.cache_dir / "index").glob("*/manifest.json"))
        if (settings.cache_dir / "index").exists()
        else True
    )


_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from index_helpers import SlowStage
from vidreason.tools.core.settings import Settings
from vidreason.tools.index import stages as stage
from vidreason.tools.index.video_index import VideoIndex
stage.STAGES = stage.STAGES.subset(("frames", "thumbnails"))
stage.register_stage("slow_test", lambda: SlowStage({seconds}))
print("building", flush=True)
VideoIndex.build({clip!r}, Settings(profile="fast", device="cpu", cache_dir={cache!r}))
print("done", flush=True)
"""


def _spawn(clip: Path, cache: Path, seconds: float) -> subprocess.Popen[str]:
    code = textwrap.dedent(_SCRIPT).format(
        tests=str(Path(__file__).parent), seconds=seconds, clip=str(clip), cache=str(cache)
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def _wait_for_partial(cache: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if list(cache.glob("index/*/stages/.tmp-slow_test-*/partial.txt")):
            return
        time.sleep(0.05)
    raise AssertionError("the slow stage never started")


def test_killed_build_never_loads_as_complete(clip: Path, settings: Settings, only_core_stages: None) -> None:
    proc = _spawn(clip, settings.cache_dir, seconds=60)
    try:
        _wait_for_partial(settings.cache_dir)
    finally:
        proc.kill()
        proc.wait()
    stage_registry.register_stage("slow_test", lambda: SlowStage(0))
    with pytest.raises(IndexNotFound, match="slow_test"):
        VideoIndex.load(clip, settings)
    index = VideoIndex.build(clip, settings)  # resumes: frames were committed, the slow stage reruns
    assert index.get("slow_test") == {"frames": 4}
    assert not list(settings.cache_dir.glob("index/*/stages/.tmp-*"))
    VideoIndex.load(clip, settings)


def test_second_process_waits_and_reuses(clip: Path, settings: Settings, only_core_stages: None) -> None:
    first = _spawn(clip, settings.cache_dir, seconds=2)
    try:
        _wait_for_partial(settings.cache_dir)
        slow = SlowStage(0)
        stage_registry.register_stage("slow_test", lambda: slow)
        index = VideoIndex.build(clip, settings)  # blocks on the lock until the first build commits
        assert slow.runs == 0 and index.get("slow_test") == {"frames": 4}
    finally:
        assert first.wait(timeout=60) == 0
