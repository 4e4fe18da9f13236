"""What a distributed run did: one record per video and a run summary (counts, throughput, per-stage time,
failures), written atomically as JSON so a reader never sees half a file."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from vidreason.tools.core import storage


class StageTime(BaseModel):
    """One stage of one video's index, from its manifest."""

    status: str
    wall_s: float = 0.0
    computed_now: bool = Field(True, description="built by this run (False: reused from the cache)")
    reason: str | None = None


class VideoResult(BaseModel):
    """The outcome of one video."""

    video: str
    status: Literal["done", "failed", "skipped"]
    error: str | None = None
    traceback: str | None = None
    duration_s: float = 0.0
    wall_s: float = 0.0
    attempts: int = 0
    worker: str = ""
    root: str | None = None
    decode_s: float = 0.0
    stages: dict[str, StageTime] = Field(default_factory=dict)
    degraded: dict[str, str] = Field(default_factory=dict)


class StageCost(BaseModel):
    """Time one stage took over the videos that built it in this run."""

    videos: int
    total_s: float
    mean_s: float
    seconds_per_video_hour: float = Field(description="stage seconds per hour of video (the cost to scale by)")


class RunSummary(BaseModel):
    """A whole run: written to ``summary_path`` and returned by ``index_videos_on_ray``."""

    kind: str = "index"
    address: str | None = None
    workers: int = 0
    cpus_per_worker: float = 0.0
    gpus_per_worker: float = 0.0
    started: float = Field(default_factory=time.time)
    wall_s: float = 0.0
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    video_hours_done: float = 0.0
    throughput_video_hours_per_hour: float = 0.0
    stage_costs: dict[str, StageCost] = Field(default_factory=dict)
    decode_s: float = 0.0
    failures: list[dict[str, Any]] = Field(default_factory=list)
    summary_path: str | None = None
    videos: list[VideoResult] = Field(default_factory=list)

    def add(self, result: VideoResult) -> None:
        """Append one video's outcome (call :meth:`refresh` to update the totals)."""
        self.videos.append(result)

    def refresh(self, wall_s: float | None = None) -> None:
        """Recompute the counts and costs from ``videos`` (``wall_s``: elapsed time of the run so far)."""
        self.wall_s = round(wall_s if wall_s is not None else time.time() - self.started, 3)
        self.done = sum(v.status == "done" for v in self.videos)
        self.failed = sum(v.status == "failed" for v in self.videos)
        self.skipped = sum(v.status == "skipped" for v in self.videos)
        self.retried = sum(v.attempts > 1 for v in self.videos)
        done = [v for v in self.videos if v.status == "done"]
        hours = sum(v.duration_s for v in done) / 3600
        self.video_hours_done = round(hours, 6)
        self.throughput_video_hours_per_hour = round(hours / (self.wall_s / 3600), 3) if self.wall_s > 0 else 0.0
        per: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for v in done:
            if v.decode_s > 0:  # the shared decode pass, outside every frame stage's own time
                per["decode"].append((v.decode_s, v.duration_s))
            for name, st in v.stages.items():
                if st.computed_now:
                    per[name].append((st.wall_s, v.duration_s))
        self.stage_costs = {}
        for name, rows in per.items():
            total = sum(w for w, _ in rows)
            vid_h = sum(d for _, d in rows) / 3600
            self.stage_costs[name] = StageCost(
                videos=len(rows),
                total_s=round(total, 4),
                mean_s=round(total / len(rows), 4),
                seconds_per_video_hour=round(total / vid_h, 2) if vid_h else 0.0,
            )
        self.decode_s = round(sum(v.decode_s for v in done), 4)
        self.failures = [
            {"video": v.video, "error": v.error, "attempts": v.attempts, "worker": v.worker}
            for v in self.videos
            if v.status == "failed"
        ]

    def write(self, path: Path) -> Path:
        """Write the summary atomically (temporary file + rename)."""
        self.summary_path = str(path)
        storage.write_text_atomic(path, self.model_dump_json(indent=1))
        return path

    def lines(self) -> list[str]:
        """A short human-readable report."""
        out = [
            f"{self.done} done, {self.skipped} skipped (already indexed), {self.failed} failed "
            f"of {self.total} video(s) in {self.wall_s:.1f}s on {self.workers} worker(s); "
            f"{self.video_hours_done * 3600:.1f}s of video, {self.throughput_video_hours_per_hour:.2f} "
            f"video-hours/hour"
        ]
        if self.stage_costs:
            out.append(
                "per-stage time (this run): "
                + ", ".join(
                    f"{n} {c.total_s:.2f}s ({c.seconds_per_video_hour:.0f}s/video-hour)"
                    for n, c in self.stage_costs.items()
                )
            )
        out += [f"failed: {f['video']}: {f['error']}" for f in self.failures]
        if self.summary_path:
            out.append(f"summary: {self.summary_path}")
        return out
