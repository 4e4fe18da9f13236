"""Indexing on a local Ray cluster gives the same indexes as the single-machine build, reports bad videos,
skips finished work and retries a video whose worker died.

One local cluster (2 CPUs, small object store, no dashboard) serves the module; starting it dominates the
run time (~20 s on 2 busy cores), the indexing itself takes seconds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ray_helpers import assert_same_index, make_videos

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'vidreason[ray]'")

from vidreason.tools.core.settings import Settings  # noqa: E402
from vidreason.tools.distributed import index_videos_on_ray, ray_map_videos  # noqa: E402
from vidreason.tools.index.stages import STAGES  # noqa: E402
from vidreason.tools.index.video_index import VideoIndex  # noqa: E402

#: cheap, deterministic stages (whatever of them this build registers)
STAGES_UNDER_TEST = [s for s in ("frames", "thumbnails", "shots", "transcript") if s in STAGES]


@pytest.fixture(scope="module")
def local_cluster():
    if ray.is_initialized():
        ray.shutdown()
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=80 * 1024 * 1024,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
    )
    yield ray
    ray.shutdown()


def _settings(root: Path) -> Settings:
    return Settings(cache_dir=root, device="cpu", profile="fast")


def test_ray_index_equals_local_reports_corrupt_and_resumes(local_cluster, tmp_path: Path) -> None:
    videos, bad = make_videos(tmp_path / "media")
    local = _settings(tmp_path / "local-cache")
    remote = _settings(tmp_path / "ray-cache")
    summary_file = tmp_path / "summary.json"

    summary = index_videos_on_ray([*videos, bad], remote, stages=STAGES_UNDER_TEST, summary_path=summary_file)

    assert (summary.total, summary.done, summary.failed, summary.skipped) == (4, 3, 1, 0)
    assert summary.workers == 2
    [failure] = summary.failures
    assert failure["video"] == str(bad) and "VideoOpenError" in failure["error"]
    assert summary.video_hours_done == pytest.approx(9.0 / 3600, rel=0.05)
    assert summary.throughput_video_hours_per_hour > 0
    assert set(summary.stage_costs) >= {"frames", "thumbnails"}
    on_disk = json.loads(summary_file.read_text())  # written atomically, complete
    assert on_disk["failed"] == 1 and len(on_disk["videos"]) == 4
    assert {v["video"] for v in on_disk["videos"] if v["status"] == "done"} == {str(v) for v in videos}

    for video in videos:  # field for field equal to the single-machine build
        mine = VideoIndex.build(video, local, stages=STAGES_UNDER_TEST)
        theirs = VideoIndex.load(video, remote, stages=STAGES_UNDER_TEST)
        assert mine.root.name == theirs.root.name
        assert list(mine.manifest.stages) == list(theirs.manifest.stages)
        assert (mine.frame_times == theirs.frame_times).all()
        assert_same_index(mine.root, theirs.root)

    again = index_videos_on_ray([*videos, bad], remote, stages=STAGES_UNDER_TEST, summary_path=summary_file)
    assert (again.done, again.skipped, again.failed) == (0, 3, 1)  # finished work is not scheduled again
    assert again.workers == 1  # only the corrupt video went to the cluster
    assert again.stage_costs == {}


@pytest.mark.ray
def test_killed_worker_is_retried_and_errors_are_reported(local_cluster, tmp_path: Path) -> None:
    marker = tmp_path / "died"

    def fn(item: int) -> int:  # defined here so that Ray ships it by value; dies the first time it sees 2
        if item == 2 and not marker.exists():
            marker.touch()
            os._exit(1)
        if item < 0:
            raise ValueError(f"bad item {item}")
        return item * 10

    results = sorted(ray_map_videos(fn, [1, 2, 3, -1], num_workers=2, max_retries=1), key=lambda r: r.position)
    assert [r.ok for r in results] == [True, True, True, False]
    assert [r.value for r in results[:3]] == [10, 20, 30]
    assert results[1].attempts == 2 and (tmp_path / "died").exists()
    assert results[3].error == "ValueError: bad item -1" and results[3].attempts == 1


@pytest.mark.ray
def test_worker_that_always_dies_fails_only_its_item(local_cluster, tmp_path: Path) -> None:
    def always_dies(item: int) -> int:
        if item == 0:
            os._exit(3)
        return item

    results = sorted(ray_map_videos(always_dies, [0, 5], num_workers=1, max_retries=1), key=lambda r: r.position)
    assert not results[0].ok and results[0].attempts == 2 and "worker died 2 time(s)" in (results[0].error or "")
    assert results[1].ok and results[1].value == 5


@pytest.mark.ray
def test_eval_jobs_run_on_ray_and_failures_become_error_records(local_cluster, tmp_path: Path) -> None:
    from vidreason.evals.datasets.base import GroundingSample
    from vidreason.evals.predictions import PredictionStore
    from vidreason.evals.ray import run_video_jobs_on_ray
    from vidreason.evals.runner import IndexTiming

    class FakeGrounder:
        def index(self, video_path: Path) -> IndexTiming:
            if video_path.name == "dies.mp4":
                os._exit(1)
            return IndexTiming(seconds=0.1, video_duration=10.0)

        def ground(self, video_path: Path, query: str, decomposition):
            return [(1.0, 3.0, 0.9)]

    def sample(vid: str, i: int) -> GroundingSample:
        return GroundingSample(
            sample_id=f"{vid}-{i}", video_id=vid, duration=10.0, query=f"q{i}", gt_spans=[(1.0, 3.0)]
        )

    jobs = [
        (tmp_path / "ok.mp4", [sample("ok", 0), sample("ok", 1)]),
        (tmp_path / "dies.mp4", [sample("dies", 0)]),
    ]
    seen: list[int] = []
    with PredictionStore(tmp_path / "predictions.jsonl") as store:
        errors = run_video_jobs_on_ray(jobs, FakeGrounder, store, num_workers=1, max_retries=0, progress=seen.append)
    assert errors == 1 and sorted(seen) == [1, 2]
    assert store.records["ok-0"].status == "ok" and store.records["ok-1"].top1_iou == pytest.approx(1.0)
    assert store.records["dies-0"].status == "error" and "worker died" in (store.records["dies-0"].error or "")
