"""The Ray front end without a cluster: install hint, ``--ray`` parsing, skip detection, summary."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from vidreason.agent.cli import index as cli_index
from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.settings import Settings
from vidreason.tools.distributed import (
    RAY_INSTALL_HINT,
    RunSummary,
    VideoResult,
    already_indexed,
    require_ray,
)
from vidreason.tools.distributed.cli import ray_address
from vidreason.tools.distributed.summary import StageTime


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    cli_index.register(p.add_subparsers())
    return p


def test_missing_ray_says_how_to_install(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(ConfigError, match="Ray is not installed: pip install 'vidreason\\[ray\\]'"):
        require_ray()
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    args = _parser().parse_args(["index", str(video), "--ray", "--device", "cpu", "--cache-dir", str(tmp_path / "c")])
    with pytest.raises(ConfigError) as err:
        args.func(args)
    assert RAY_INSTALL_HINT in str(err.value)


def test_ray_flag_parsing_gives_a_swallowed_video_back(tmp_path: Path) -> None:
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"x")
    p = _parser()
    args = p.parse_args(["index", "--ray", str(a), str(b)])  # argparse takes a.mp4 as the address
    videos = list(args.videos)
    assert ray_address(args, videos) is None and videos == [a, b]
    args = p.parse_args(
        ["index", str(a), "--ray=ray://head:10001", "--ray-gpus-per-worker", "0.5", "--max-in-flight", "8"]
    )
    assert ray_address(args, list(args.videos)) == "ray://head:10001"
    assert (args.ray_gpus_per_worker, args.max_in_flight, args.ray_cpus_per_worker) == (0.5, 8, 1.0)
    args = p.parse_args(["index", str(a)])
    assert args.ray is None  # the single-machine path stays the default


def test_summary_counts_throughput_and_atomic_file(tmp_path: Path) -> None:
    s = RunSummary(total=3)
    s.add(
        VideoResult(
            video="a",
            status="done",
            duration_s=1800,
            decode_s=2.0,
            attempts=2,
            stages={
                "frames": StageTime(status="ok", wall_s=1.0),
                "shots": StageTime(status="ok", wall_s=9.0, computed_now=False),
            },
        )
    )
    s.add(VideoResult(video="b", status="skipped", duration_s=600))
    s.add(VideoResult(video="c", status="failed", error="VideoOpenError: bad"))
    s.refresh(wall_s=900.0)  # half an hour of video in a quarter of an hour
    assert (s.done, s.skipped, s.failed, s.retried) == (1, 1, 1, 1)
    assert s.throughput_video_hours_per_hour == pytest.approx(2.0)
    assert set(s.stage_costs) == {"frames", "decode"}  # reused stages are not this run's cost
    assert s.stage_costs["frames"].seconds_per_video_hour == pytest.approx(2.0)
    assert s.failures == [{"video": "c", "error": "VideoOpenError: bad", "attempts": 0, "worker": ""}]
    out = s.write(tmp_path / "runs" / "summary.json")
    assert json.loads(out.read_text())["failed"] == 1
    assert not [p for p in out.parent.iterdir() if p.name != "summary.json"]  # no temporary file left
    assert any("VideoOpenError: bad" in line for line in s.lines())


def test_already_indexed_needs_a_complete_index(tmp_path: Path) -> None:
    from media import make_cut_video

    from vidreason.tools.index.video_index import VideoIndex

    video = tmp_path / "v.mp4"
    make_cut_video(video, [("red", 1.0), ("blue", 1.0)], size=(64, 36), fps=5)
    settings = Settings(cache_dir=tmp_path / "cache", device="cpu", profile="fast")
    assert already_indexed(video, settings, ["frames"]) is None  # never hashed: not even probed
    VideoIndex.build(video, settings, stages=["frames"])
    done = already_indexed(video, settings, ["frames"])
    assert done is not None and done.status == "skipped" and done.duration_s == pytest.approx(2.0, abs=0.1)
    assert already_indexed(video, settings, ["frames", "thumbnails"]) is None  # a stage is missing
