"""What a job does, as events its page shows live: the index build's progress per stage (the decode fraction the
CLI's bar shows, each stage's status as it is committed, elapsed time and an estimate of what is left), then
each graph step as it finishes and the node running next, then the answer.

Events: ``status`` (a line of text), ``index`` (``IndexProgress.view()``), ``indexed`` (the index is ready:
the page reloads the video's timeline, transcript and hierarchy), ``node`` (the node now running), ``step``
(a finished ``TraceStep``), ``answer``; ``error``/``cancelled`` and ``end`` come from ``jobs.JobManager``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidreason.tools.core.errors import VidreasonError
from vidreason.tools.core.settings import Settings
from vidreason.ui.jobs import Job
from vidreason.ui.run_views import next_node
from vidreason.ui.security import VideoEntry

if TYPE_CHECKING:
    from vidreason.tools.index.video_index import VideoIndex
    from vidreason.ui.state import UIState

#: seconds between refreshes of the progress (elapsed time, stage statuses read from the manifest)
TICK_S = 0.5
DONE = frozenset({"ok", "degraded", "skipped", "failed"})


class IndexProgress:
    """The build of one index as the page shows it."""

    def __init__(self, video: str, settings: Settings, root: Path | None, t0: float | None = None) -> None:
        """``t0``: when the build started (``time.monotonic()``; now by default)."""
        from vidreason.tools.index.stages import enabled_stages

        self.video = video
        self.root = root
        self.t0 = time.monotonic() if t0 is None else t0
        self.decode = 0.0
        self.decode_seen = False
        self.stages: list[dict[str, Any]] = [
            {"name": s.name, "frames": s.frame_input is not None, "status": "pending", "wall_s": None, "reason": None}
            for s in enabled_stages(settings)
        ]
        self.reported: set[str] = set()  # stages the builder reported finished (non-frame stages)

    def update(self, stage: str, fraction: float) -> None:
        """A progress call of the builder: ``("decode", fraction)`` or ``(stage, 1.0)`` when a stage is done."""
        if stage == "decode":
            self.decode = max(self.decode, min(1.0, fraction))
            self.decode_seen = True
        else:
            self.reported.add(stage)
        self.refresh()

    def refresh(self) -> None:
        """Statuses of committed stages from the manifest on disk (written after every stage)."""
        if self.root is None:
            return
        from vidreason.tools.index.manifest import read_manifest

        try:
            manifest = read_manifest(self.root, Path(self.video))
        except VidreasonError:  # nothing committed yet
            return
        for row in self.stages:
            st = manifest.stages.get(row["name"])
            if st is not None and st.status in DONE:
                row.update(status=st.status, wall_s=st.wall_s, reason=st.reason)

    def _mark_running(self) -> str | None:
        pending = [r for r in self.stages if r["status"] not in DONE]
        for r in pending:
            r["status"] = "pending"
        frames = [r for r in pending if r["frames"]]
        if frames:  # one decode pass feeds every frame stage
            for r in frames:
                r["status"] = "running"
            return "decode"
        if pending:
            pending[0]["status"] = "running"
            return str(pending[0]["name"])
        return None

    def view(self) -> dict[str, Any]:
        current = self._mark_running()
        elapsed = time.monotonic() - self.t0
        eta = None
        if current == "decode" and 0.02 < self.decode < 1:
            eta = round(elapsed / self.decode * (1 - self.decode), 1)
        pct = f" {self.decode:.0%}" if current == "decode" and self.decode_seen else ""
        done = sum(r["status"] in DONE for r in self.stages)
        line = f"indexing {Path(self.video).name}: {current or 'finishing'}{pct}"
        return {
            "video": Path(self.video).name,
            "current": current,
            "decode": round(self.decode, 3),
            "elapsed_s": round(elapsed, 1),
            "eta_s": eta,
            "done": done,
            "total": len(self.stages),
            "stages": [dict(r) for r in self.stages],
            "message": line,
        }


def _index_root(settings: Settings, path: Path) -> Path:
    from vidreason.tools.core import storage
    from vidreason.tools.index.manifest import index_root

    return index_root(settings, storage.content_hash(path, settings.cache_dir))


async def index_with_progress(state: UIState, job: Job, entry: VideoEntry) -> VideoIndex:
    """Open (or build) ``entry``'s index in a worker thread; while it builds, ``index`` events (one per change,
    and every ``TICK_S`` for the elapsed time) and the CLI-like ``status`` line per stage and whole percent."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

    def progress(stage: str, fraction: float) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (stage, fraction))

    job.status = "indexing"
    t0 = time.monotonic()
    task = asyncio.ensure_future(asyncio.to_thread(state.reasoner.index, entry.path, progress=progress))
    tracker: IndexProgress | None = None
    last_line = ""
    while not (task.done() and queue.empty()):
        try:
            stage, fraction = await asyncio.wait_for(queue.get(), TICK_S)
        except TimeoutError:
            if tracker is None:
                continue
            await asyncio.to_thread(tracker.refresh)
        else:
            if tracker is None:  # something is being built: show every stage of the build
                root = await asyncio.to_thread(_index_root, state.settings, entry.path)
                tracker = IndexProgress(str(entry.path), state.settings, root, t0)
            await asyncio.to_thread(tracker.update, stage, fraction)
            line = f"indexing {entry.path.name}: {stage} {fraction:.0%}"
            if line != last_line:
                last_line = line
                job.emit("status", {"message": line, "stage": stage, "fraction": round(fraction, 3)})
        job.index = tracker.view()
        job.emit("index", job.index)
    index = await task
    if tracker is not None:
        tracker.refresh()
        job.index = tracker.view()
        job.emit("index", job.index)
    state.indexes.put(entry.id, index)
    job.index = None
    job.emit("indexed", {"video_id": entry.id, "built": tracker is not None})
    return index


async def run_question(state: UIState, job: Job, entry: VideoEntry, question: str) -> None:
    """An ``ask`` job: index (built if missing), then the graph's steps as they finish, then the answer."""
    from vidreason.tools.core.results import TraceStep

    job.emit("status", {"message": f"opening the index of {entry.path.name} (built if missing)"})
    await index_with_progress(state, job, entry)
    job.status = "running"
    job.emit("status", {"message": "reasoning"})
    job.at_node("plan")
    async for item in state.reasoner.astream(entry.path, question):
        if isinstance(item, TraceStep):
            job.steps += 1
            job.emit("step", item.model_dump(mode="json"))
            job.at_node(next_node(item.node, item.outputs))
        else:
            job.trace_id = item.trace_id
            job.emit("answer", item.model_dump(mode="json"))


async def build_index(state: UIState, job: Job, entry: VideoEntry) -> None:
    """An ``index`` job: build (or complete) the video's index with its progress."""
    index = await index_with_progress(state, job, entry)
    job.emit("status", {"message": f"indexed {entry.path.name}: {index.summary().get('frames', '?')} frames"})


__all__ = ["IndexProgress", "build_index", "index_with_progress", "run_question"]
