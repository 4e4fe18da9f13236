"""Runs the viewer executes (questions, index builds) as jobs: each keeps its own event log, at most
``max_running`` run at once, at most ``max_queued`` wait, and any can be cancelled. Pages follow a job's events
from any offset (so a page opened later, or reloaded, replays the whole run), and the job list says where each
one is (queued, indexing with its progress, which graph node is running).

Everything here runs on the server's event loop; the work itself goes to threads (``asyncio.to_thread``) or
to LangGraph's async stream.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from vidreason.tools.core.errors import VidreasonError

log = logging.getLogger(__name__)

JobKind = Literal["ask", "index"]
FINISHED = frozenset({"done", "failed", "cancelled"})


class QueueFull(VidreasonError):
    """Too many runs are waiting already."""


class JobNotFound(VidreasonError):
    """No job with that id (finished jobs are forgotten after a while)."""


@dataclass(eq=False)
class Job:
    """One run with its event log (``(name, data)`` pairs, as the server-sent events carry them)."""

    id: str
    kind: JobKind
    video_id: str
    video_name: str
    question: str | None = None
    seq: int = 0
    created_at: float = field(default_factory=time.time)
    status: str = "queued"  # queued, indexing, running, done, failed, cancelled
    started_at: float | None = None
    ended_at: float | None = None
    trace_id: str | None = None
    error: str | None = None
    node: str | None = None  # the graph node running now
    node_started: float | None = None
    steps: int = 0
    index: dict[str, Any] | None = None  # the latest index progress (``progress.IndexProgress.view``)
    events: list[tuple[str, Any]] = field(default_factory=list, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def emit(self, name: str, data: Any) -> None:
        """Append an event and wake the followers."""
        self.events.append((name, data))
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()

    def at_node(self, node: str | None) -> None:
        """The graph node now running (None: none)."""
        self.node, self.node_started = node, (time.time() if node else None)
        self.emit("node", {"node": node, "started_at": self.node_started})

    async def follow(self, after: int = 0) -> AsyncIterator[tuple[str, Any]]:
        """Events from number ``after`` on, as they come, until the job's ``end`` event."""
        i = max(0, after)
        while True:
            while i < len(self.events):
                yield self.events[i]
                i += 1
            if self.finished and i >= len(self.events):
                return
            await self._wake.wait()

    def summary(self, queue_position: int | None = None) -> dict[str, Any]:
        """What the job list shows."""
        return {
            "id": self.id,
            "kind": self.kind,
            "seq": self.seq,
            "video_id": self.video_id,
            "video_name": self.video_name,
            "question": self.question,
            "status": self.status,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "trace_id": self.trace_id,
            "error": self.error,
            "node": self.node,
            "node_started": self.node_started,
            "steps": self.steps,
            "index": self.index,
            "events": len(self.events),
            "queue_position": queue_position,
        }


Work = Callable[[Job], Awaitable[None]]


class JobManager:
    """At most ``max_running`` jobs at once, ``max_queued`` waiting; the last ``keep`` finished ones are kept."""

    def __init__(
        self,
        max_running: int = 2,
        max_queued: int = 8,
        keep: int = 50,
        status_of: Callable[[Exception], int] = lambda e: 500,
    ) -> None:
        """``status_of`` maps a failure to the HTTP status its ``error`` event reports."""
        if max_running < 1 or max_queued < 0:
            raise ValueError("max_running must be >= 1 and max_queued >= 0")
        self.status_of = status_of
        self.max_running = max_running
        self.max_queued = max_queued
        self.keep = keep
        self._slots: asyncio.Semaphore | None = None
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._seq = itertools.count(1)

    def _queued(self) -> list[Job]:
        return [j for j in self._jobs.values() if j.status == "queued"]

    def submit(self, kind: JobKind, video_id: str, video_name: str, question: str | None, work: Work) -> Job:
        """Start ``work(job)`` as soon as a slot is free; ``QueueFull`` when ``max_queued`` jobs wait already."""
        active = [j for j in self._jobs.values() if not j.finished]
        if len(active) >= self.max_running + self.max_queued:
            raise QueueFull(
                f"{len(active)} runs are in progress or waiting (at most {self.max_running} at once and "
                f"{self.max_queued} waiting); cancel one or try again when one finishes"
            )
        job = Job(id=uuid.uuid4().hex[:12], kind=kind, video_id=video_id, video_name=video_name, question=question)
        job.seq = next(self._seq)
        self._jobs[job.id] = job
        start = {"job_id": job.id, "kind": kind, "video_id": video_id, "video": video_name, "question": question}
        job.emit("start", start)
        job.task = asyncio.create_task(self._run(job, work), name=f"vidreason-job-{job.id}")
        return job

    async def _run(self, job: Job, work: Work) -> None:
        if self._slots is None:  # created on the loop that runs the jobs
            self._slots = asyncio.Semaphore(self.max_running)
        outcome: tuple[str, dict[str, Any]] | None = None
        try:
            if self._slots.locked():
                ahead = len(self._queued()) - 1
                job.emit("status", {"message": f"queued: {self.max_running} runs in progress, {ahead} waiting ahead"})
            async with self._slots:
                job.started_at = time.time()
                job.status = "running"
                job.emit("status", {"message": "started"})
                await work(job)
                job.status = "done"
        except asyncio.CancelledError:
            job.status = "cancelled"
            outcome = ("cancelled", {"message": "cancelled"})
        except VidreasonError as e:
            job.status, job.error = "failed", str(e)
            outcome = ("error", {"error": str(e), "kind": type(e).__name__, "status": self.status_of(e)})
        except Exception as e:  # reported to the page; the server log has the traceback
            log.exception("job %s failed", job.id)
            job.status, job.error = "failed", f"{type(e).__name__}: {e}"
            outcome = ("error", {"error": job.error, "kind": "internal", "status": 500})
        finally:
            job.ended_at = time.time()
            if job.node is not None:
                job.at_node(None)
            if outcome is not None:
                job.emit(*outcome)
            job.emit("end", {"status": job.status, "trace_id": job.trace_id})
            self._forget_old()

    def _forget_old(self) -> None:
        done = [j for j in self._jobs.values() if j.finished]
        for j in done[: max(0, len(done) - self.keep)]:
            self._jobs.pop(j.id, None)

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no job {job_id[:40]!r} (finished jobs are listed under runs)")
        return job

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job (a finished one is left as it is). The node running in a worker
        thread finishes on its own; nothing after it runs, and its trace stays unfinished."""
        job = self.get(job_id)
        if not job.finished and job.task is not None:
            job.task.cancel()
        return job

    def list(self) -> list[dict[str, Any]]:
        """Every job, newest first, with its place in the queue."""
        queued = self._queued()
        rows = []
        for job in reversed(self._jobs.values()):
            pos = queued.index(job) + 1 if job in queued else None
            rows.append(job.summary(pos))
        return rows

    def building(self, video_id: str) -> dict[str, Any] | None:
        """The index progress of a job building ``video_id``'s index now, if any."""
        for job in self._jobs.values():
            if job.video_id == video_id and job.status == "indexing" and job.index is not None:
                return {**job.index, "job_id": job.id}
        return None

    async def shutdown(self) -> None:
        """Cancel what is still running (server shutdown)."""
        tasks = [j.task for j in self._jobs.values() if j.task is not None and not j.finished]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["FINISHED", "Job", "JobKind", "JobManager", "JobNotFound", "QueueFull"]
