"""Index a video collection on a Ray cluster with the single-machine builder (``VideoIndex.build``).

Work is split per video over a pool of actors (:func:`~vidreason.tools.distributed.cluster.ray_map_videos`);
each actor keeps its stage instances (models) for its whole life. Results go to the same cache layout as a
local build, so ``settings.cache_dir`` must be a filesystem every node sees at the same path (NFS, Lustre, a
FUSE-mounted bucket) and the videos must be readable at the same paths on every node. A video whose index
already loads as complete is skipped without being scheduled; re-running after a crash resumes where it
stopped (stage folders are committed atomically; a per-video file lock keeps two builds of one video apart).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vidreason.tools.core import storage
from vidreason.tools.core.errors import VidreasonError
from vidreason.tools.core.settings import Settings
from vidreason.tools.distributed.cluster import connect, default_workers, ray_map_videos, require_ray
from vidreason.tools.distributed.summary import RunSummary, StageTime, VideoResult

log = logging.getLogger(__name__)


class IndexJob:
    """Builds one video's index on a worker (picklable; stage instances are cached per worker process)."""

    def __init__(self, settings: Settings, stages: Sequence[str] | None = None, force: bool = False) -> None:
        self.settings = settings
        self.stages = list(stages) if stages is not None else None
        self.force = force

    def __call__(self, video: str) -> VideoResult:
        from vidreason.tools.index.stages import get_stage
        from vidreason.tools.index.video_index import VideoIndex

        t_start = time.time()
        index = VideoIndex.build(Path(video), self.settings, stages=self.stages, force=self.force)
        stages = {}
        for name, st in index.manifest.stages.items():
            status_file = index.stage_dir(name) / "status.json"
            computed = st.status == "failed" or (status_file.exists() and status_file.stat().st_mtime >= t_start)
            stages[name] = StageTime(status=st.status, wall_s=st.wall_s, computed_now=computed, reason=st.reason)
        decoded_now = any(st.computed_now and get_stage(n).frame_input for n, st in stages.items())
        return VideoResult(
            video=video,
            status="done",
            duration_s=index.duration,
            root=str(index.root),
            decode_s=index.manifest.decode_s if decoded_now else 0.0,
            stages=stages,
            degraded=index.degraded,
        )


def already_indexed(video: Path, settings: Settings, stages: Sequence[str] | None = None) -> VideoResult | None:
    """A "skipped" result when ``video``'s index loads as complete for these settings, else None.

    Only videos hashed before in this cache are probed (the hash is never computed here), so checking a
    large collection that was never indexed costs one ``stat`` per video on the driver.
    """
    from vidreason.tools.index.video_index import VideoIndex

    if storage.memoized_content_hash(video, settings.cache_dir) is None:
        return None
    try:
        index = VideoIndex.load(video, settings, stages=stages)
    except (VidreasonError, OSError):  # incomplete, corrupt or unreadable here: let a worker deal with it
        return None
    return VideoResult(
        video=str(video),
        status="skipped",
        duration_s=index.duration,
        root=str(index.root),
        decode_s=index.manifest.decode_s,
        degraded=index.degraded,
        stages={
            n: StageTime(status=s.status, wall_s=s.wall_s, computed_now=False, reason=s.reason)
            for n, s in index.manifest.stages.items()
        },
    )


def default_summary_path(settings: Settings) -> Path:
    return settings.cache_dir / "runs" / f"index-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6:06d}.json"


def _default_gpus(settings: Settings) -> float:
    """One GPU per worker when the cluster has GPUs and the settings do not pin the CPU, else none."""
    ray = require_ray()
    has_gpus = ray.cluster_resources().get("GPU", 0) > 0
    if has_gpus and settings.profile == "auto" and settings.resolved_profile == "fast":
        log.warning(
            "the cluster has GPUs but this driver sees none, so profile 'auto' resolved to 'fast' here "
            "(and on every worker); pass --profile accurate to index with the GPU models"
        )
    return 1.0 if has_gpus and settings.device != "cpu" else 0.0


def index_videos_on_ray(
    videos: Sequence[str | Path],
    settings: Settings | None = None,
    *,
    address: str | None = None,
    stages: Sequence[str] | None = None,
    force: bool = False,
    num_workers: int | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float | None = None,
    max_in_flight: int | None = None,
    max_retries: int = 2,
    summary_path: Path | None = None,
    on_result: Callable[[VideoResult, RunSummary], None] | None = None,
    write_every_s: float = 10.0,
) -> RunSummary:
    """Index ``videos`` on the Ray cluster at ``address`` (None: a local one); returns the run summary.

    Never raises for a bad video: each failure is a ``VideoResult`` with ``status="failed"`` and its error.
    ``gpus_per_worker`` None means 1 when the cluster has GPUs (fractions such as 0.5 share a GPU between
    two workers). The summary is rewritten atomically to ``summary_path`` (default
    ``<cache_dir>/runs/index-<time>.json``) at most every ``write_every_s`` seconds and at the end, so a
    killed driver leaves a valid partial one. ``on_result(result, summary)`` sees every result as it arrives;
    the summary's totals are recomputed only at those writes (``summary.videos`` is always current).
    """
    settings = settings or Settings()
    require_ray()
    summary_path = summary_path or default_summary_path(settings)
    paths = [Path(v) for v in dict.fromkeys(str(v) for v in videos)]  # dedupe, keep order
    summary = RunSummary(address=address, total=len(paths), cpus_per_worker=cpus_per_worker)
    t0 = time.perf_counter()

    last_write = [0.0]

    def record(result: VideoResult) -> None:
        summary.add(result)
        if time.perf_counter() - last_write[0] >= write_every_s:  # bounded work and I/O on a long run
            summary.refresh(time.perf_counter() - t0)
            summary.write(summary_path)
            last_write[0] = time.perf_counter()
        if on_result is not None:
            on_result(result, summary)

    todo: list[str] = []
    with ThreadPoolExecutor(max_workers=8) as pool:  # probing is I/O bound
        checks = [] if force else list(pool.map(lambda p: already_indexed(p, settings, stages), paths))
    for i, path in enumerate(paths):
        done = checks[i] if checks else None
        if done is not None:
            record(done)
        else:
            todo.append(str(path))
    log.info("%d video(s): %d already indexed, %d to build", len(paths), len(paths) - len(todo), len(todo))
    if not todo:
        summary.write(summary_path)
        return summary
    ray = require_ray()
    started = connect(address)
    try:
        gpus = _default_gpus(settings) if gpus_per_worker is None else gpus_per_worker
        summary.gpus_per_worker = gpus
        summary.workers = num_workers or default_workers(cpus_per_worker, gpus, len(todo))
        job = IndexJob(settings, stages, force)
        for r in ray_map_videos(
            job,
            todo,
            num_workers=summary.workers,
            cpus_per_worker=cpus_per_worker,
            gpus_per_worker=gpus,
            max_in_flight=max_in_flight,
            max_retries=max_retries,
        ):
            if r.ok and r.value is not None:
                result = r.value.model_copy(
                    update={"wall_s": round(r.wall_s, 4), "attempts": r.attempts, "worker": r.worker}
                )
            else:
                log.error("indexing %s failed: %s", r.item, r.error)
                result = VideoResult(
                    video=r.item,
                    status="failed",
                    error=r.error,
                    traceback=r.traceback,
                    wall_s=round(r.wall_s, 4),
                    attempts=r.attempts,
                    worker=r.worker,
                )
            record(result)
    finally:
        if started:
            ray.shutdown()
    summary.refresh(time.perf_counter() - t0)
    summary.write(summary_path)
    return summary
