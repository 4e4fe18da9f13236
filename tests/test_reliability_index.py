"""Issue 19, items 3, 5 and 8 (index): a self-checking index (sizes and checksums per stage, damaged stages
rebuilt once, ``cache verify``), failed stages recorded and not retried on every command, LLM-degraded stages
rebuilt only on request, honest statuses and file modes."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from media import has_ffmpeg, make_cut_video
from reliability_helpers import FlakyStage, cli_args, fast_settings, write_crashy_module

from vidreason.agent.cli import main
from vidreason.tools.core import storage
from vidreason.tools.core.errors import IndexCorrupt
from vidreason.tools.core.settings import Settings
from vidreason.tools.index import stages as stage_registry
from vidreason.tools.index.video_index import VideoIndex

pytestmark = pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg is needed to generate the test clip")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("rel") / "cuts.mp4"
    make_cut_video(p, [("red", 2.0), ("testsrc2", 2.0), ("blue", 2.0)])  # no audio stream
    return p


@pytest.fixture
def settings(cache_dir: Path) -> Settings:
    return fast_settings(cache_dir)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A private copy of the stage registry, so a test can add stages."""
    monkeypatch.setattr(stage_registry, "STAGES", stage_registry.STAGES.subset(tuple(stage_registry.STAGES)))
    monkeypatch.setattr(stage_registry, "_instances", {})


@pytest.fixture
def frames_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stage_registry, "STAGES", stage_registry.STAGES.subset(("frames",)))
    monkeypatch.setattr(stage_registry, "_instances", {})


def _file(index: VideoIndex, stage: str, pattern: str) -> Path:
    return next(index.stage_dir(stage).glob(pattern))


def _damage_warnings(caplog: pytest.LogCaptureFixture, stage: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if f"stage {stage} damaged" in r.getMessage()]


# ------------------------------------------------------------------------------------------------ item 3
def test_truncated_npy_is_reported_then_rebuilt_once(
    clip: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    built = VideoIndex.build(clip, settings)
    before = np.asarray(built.get("histograms")).copy()
    f = _file(built, "histograms", "*.npy")
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.raises(IndexCorrupt) as e:
        VideoIndex.load(clip, settings)
    message = str(e.value)
    assert str(f) in message and "truncated" in message and "vidreason index" in message and "\n" not in message
    with caplog.at_level(logging.WARNING):
        rebuilt = VideoIndex.build(clip, settings)
        assert len(_damage_warnings(caplog, "histograms")) == 1
        np.testing.assert_array_equal(np.asarray(rebuilt.get("histograms")), before)
        VideoIndex.build(clip, settings)
    assert len(_damage_warnings(caplog, "histograms")) == 1  # said once: the next build is a plain cache hit


def test_truncated_json_artefact_is_rebuilt(clip: Path, settings: Settings) -> None:
    built = VideoIndex.build(clip, settings)
    shots = built.get("shots").model_dump()
    f = _file(built, "shots", "artefact.json")
    f.write_text(f.read_text()[:20])
    with pytest.raises(IndexCorrupt, match=r"artefact\.json"):
        VideoIndex.load(clip, settings)
    assert VideoIndex.build(clip, settings).get("shots").model_dump() == shots


def test_empty_status_record_does_not_break_index(clip: Path, settings: Settings) -> None:
    built = VideoIndex.build(clip, settings)
    status = built.stage_dir("shots") / "status.json"
    status.write_text("")
    with pytest.raises(IndexCorrupt, match=r"status\.json: unreadable record"):
        VideoIndex.load(clip, settings)
    rebuilt = VideoIndex.build(clip, settings)
    assert rebuilt.manifest.stages["shots"].status == "ok" and rebuilt.get("shots").shots


def test_deleted_marker_is_not_a_silently_empty_stage(clip: Path, settings: Settings) -> None:
    built = VideoIndex.build(clip, settings)
    (built.stage_dir("graph") / "ok").unlink()
    partial = VideoIndex.load(clip, settings, complete=False)
    assert "graph" in partial.damaged and "graph" not in partial.manifest.stages  # not shown as "ok"
    with pytest.raises(IndexCorrupt, match="ok: missing"):
        VideoIndex.load(clip, settings)
    assert VideoIndex.build(clip, settings).get("graph") is not None


def test_altered_npy_of_the_same_size_is_caught_by_its_checksum(clip: Path, settings: Settings) -> None:
    built = VideoIndex.build(clip, settings)
    times = built.frame_times.copy()
    f = _file(built, "frames", "timestamps.npy")
    size = f.stat().st_size
    np.save(f, times + 1.0)  # every span would move by a second
    assert f.stat().st_size == size
    loaded = VideoIndex.load(clip, settings)  # sizes match: the checksum catches it when the table loads
    with pytest.raises(IndexCorrupt, match="checksum"):
        _ = loaded.frame_times
    np.testing.assert_array_equal(VideoIndex.build(clip, settings).frame_times, times)


def test_cache_verify_reports_damage_and_exits_nonzero(
    clip: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = cli_args(cache_dir)
    assert main(["index", str(clip), "--no-progress", *common]) == 0
    assert main(["cache", "verify", *common]) == 0
    assert "0 damaged" in capsys.readouterr().out
    index = VideoIndex.load(clip, fast_settings(cache_dir))
    thumb = _file(index, "thumbnails", "000002.jpg")
    data = bytearray(thumb.read_bytes())
    data[-10] ^= 0xFF  # same size: only the checksum sees it (thumbnails are not checksummed at load)
    thumb.write_bytes(bytes(data))
    (index.stage_dir("histograms") / "histograms.npy").unlink()
    assert main(["cache", "verify", *common]) == 1
    out = capsys.readouterr().out
    assert "000002.jpg: content differs" in out and "histograms.npy: missing" in out and "1 damaged" in out
    assert main(["cache", "verify", str(clip), "--json", *common]) == 1
    [row] = json.loads(capsys.readouterr().out)
    assert not row["ok"] and len(row["damaged"]) == 2
    assert main(["index", str(clip), "--no-progress", *common]) == 0  # repairs the histograms (sizes)
    capsys.readouterr()
    assert main(["cache", "verify", *common]) == 1  # the thumbnail is only seen by a full verify
    main(["index", str(clip), "--no-progress", "--force", "--stages", "thumbnails", *common])
    capsys.readouterr()
    assert main(["cache", "verify", *common]) == 0


def test_corrupt_manifest_is_one_line_and_repaired(
    clip: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    built = VideoIndex.build(clip, settings)
    manifest = built.root / "manifest.json"
    manifest.write_text(json.dumps({"version": 1, "content_hash": 3, "stages": "x"}))
    with pytest.raises(IndexCorrupt) as e:
        VideoIndex.load(clip, settings)
    assert "\n" not in str(e.value) and "manifest.json" in str(e.value)
    assert main(["info", str(clip), *cli_args(settings.cache_dir)]) == 0
    out = capsys.readouterr().out
    assert "unreadable manifest" in out and "For further information" not in out
    VideoIndex.build(clip, settings)
    assert VideoIndex.load(clip, settings).manifest.stages["graph"].status == "ok"


# ------------------------------------------------------------------------------------------------ item 5
def test_failed_stage_is_recorded_and_not_retried(
    clip: Path, settings: Settings, registry: None, capsys: pytest.CaptureFixture[str]
) -> None:
    flaky = FlakyStage("crash")
    stage_registry.register_stage("flaky_test", lambda: flaky)
    common = cli_args(settings.cache_dir)
    assert main(["index", str(clip), "--no-progress", *common]) == 1  # was 0
    out = capsys.readouterr().out
    assert "failed flaky_test: ZeroDivisionError" in out and "--force" in out
    index = VideoIndex.load(clip, settings)  # the failure is part of the index, which loads
    status = index.manifest.stages["flaky_test"]
    assert status.status == "failed" and any(k.startswith("file:") for k in status.fingerprint)
    assert index.get("flaky_test") is None
    assert main(["index", str(clip), "--no-progress", *common]) == 1
    assert flaky.runs == 1  # not re-run by every command
    assert main(["index", str(clip), "--no-progress", "--force", *common]) == 1
    assert flaky.runs == 2
    flaky.mode = "ok"
    assert main(["index", str(clip), "--no-progress", "--force", *common]) == 0
    assert VideoIndex.load(clip, settings).get("flaky_test") == {"frames": 6}


def test_failed_stage_is_retried_when_its_code_changes(
    clip: Path, settings: Settings, tmp_path: Path, frames_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(Path(__file__).parent))

    def load(expression: str) -> FlakyStage:
        path = write_crashy_module(tmp_path, expression)
        spec = importlib.util.spec_from_file_location("crashy_stage", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        stage: FlakyStage = module.CrashyStage()
        stage_registry.register_stage("crashy_test", lambda: stage)
        return stage

    broken = load("n / 0")
    assert VideoIndex.build(clip, settings).manifest.stages["crashy_test"].status == "failed"
    VideoIndex.build(clip, settings)
    assert broken.runs == 1
    fixed = load("n * 2")  # the source file in the failure's traceback changed
    index = VideoIndex.build(clip, settings)
    assert fixed.runs == 1 and index.get("crashy_test") == {"value": 12}


# ------------------------------------------------------------------------------------------------ item 8
def test_llm_degraded_stage_is_rebuilt_only_when_asked(
    clip: Path, cache_dir: Path, frames_only: None, capsys: pytest.CaptureFixture[str]
) -> None:
    flaky = FlakyStage("degraded")
    stage_registry.register_stage("flaky_test", lambda: flaky)
    plain = fast_settings(cache_dir, llm="openai/test-model")
    assert VideoIndex.build(clip, plain).manifest.stages["flaky_test"].status == "degraded"
    flaky.mode = "ok"  # the LLM is back
    VideoIndex.build(clip, plain)
    VideoIndex.build(clip, fast_settings(cache_dir, rebuild_llm_degraded=True))  # no LLM configured: no retry
    assert flaky.runs == 1
    assert main(["info", str(clip), *cli_args(cache_dir)]) == 0
    assert "rebuild_llm_degraded: off" in capsys.readouterr().out
    opted = fast_settings(cache_dir, llm="openai/test-model", rebuild_llm_degraded=True)
    assert VideoIndex.build(clip, opted).manifest.stages["flaky_test"].status == "ok" and flaky.runs == 2
    assert main(["info", str(clip), "--json", *cli_args(cache_dir), "--set", "rebuild_llm_degraded=true"]) == 0
    assert json.loads(capsys.readouterr().out)["index"]["rebuild_llm_degraded"] is True


def test_video_without_audio_has_its_transcript_skipped(clip: Path, settings: Settings) -> None:
    status = VideoIndex.build(clip, settings).manifest.stages["transcript"]
    assert status.status == "skipped" and status.reason == "no audio stream in the file"


def test_status_and_manifest_files_get_the_usual_mode(clip: Path, settings: Settings) -> None:
    index = VideoIndex.build(clip, settings)
    expected = storage.FILE_MODE
    other = _file(index, "frames", "timestamps.npy").stat().st_mode & 0o777
    assert other == expected
    assert (index.root / "manifest.json").stat().st_mode & 0o777 == expected
    assert (index.stage_dir("frames") / "status.json").stat().st_mode & 0o777 == expected
    assert expected == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
