"""Run the eval runner's per-video jobs on Ray: each actor builds one grounder (models loaded once) and, for
each video it is given, indexes it and grounds all of that video's queries; the driver appends the returned
prediction records to its ``PredictionStore`` as they arrive, so resuming works exactly as on one machine.

Wiring for ``evals.runner.run_predictions`` (``jobs`` is its ``[(path, samples), ...]``)::

    if ray_address is not None:
        errors = run_video_jobs_on_ray(jobs, grounder_factory, store, decompositions=decompositions,
                                       ood_pad=ood_pad, address=ray_address or None, progress=bar.update)

``grounder_factory`` is a picklable zero-argument callable that returns a ``Grounder`` (for instance
``functools.partial(ReasonerGrounder, settings)``); it runs once per actor, on the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vidreason.evals.runner import VideoJob
from vidreason.tools.distributed.cluster import ray_map_videos

log = logging.getLogger(__name__)

VideoJobSpec = tuple[str | Path, list[Any]]  # (video path, its GroundingSamples)


class _Collector:
    """A stand-in ``PredictionStore`` that keeps the records for the driver."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def append(self, record: Any) -> None:
        self.records.append(record)


class RemoteVideoJob:
    """One actor's job runner: the grounder is created on first use and kept for the actor's life."""

    def __init__(self, grounder_factory: Callable[[], Any], decompositions: Any = None, ood_pad: float = 0.0):
        self.grounder_factory = grounder_factory
        self.decompositions = decompositions
        self.ood_pad = ood_pad
        self._grounder: Any = None

    def __call__(self, job: tuple[str, list[Any]]) -> list[Any]:
        if self._grounder is None:
            self._grounder = self.grounder_factory()
        collector = _Collector()
        VideoJob(self._grounder, collector, self.decompositions, self.ood_pad, None)(Path(job[0]), job[1])
        return collector.records


def run_video_jobs_on_ray(
    jobs: Sequence[VideoJobSpec],
    grounder_factory: Callable[[], Any],
    store: Any,
    *,
    decompositions: Any = None,
    ood_pad: float = 0.0,
    address: str | None = None,
    num_workers: int | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float = 0.0,
    max_in_flight: int | None = None,
    max_retries: int = 2,
    progress: Callable[[int], Any] | None = None,
) -> int:
    """Run every job on the cluster; append each record to ``store``; return the number of error records.

    A video whose job could not run at all (its worker died ``max_retries + 1`` times, or the grounder could
    not be built) gets one error record per query, carrying the reason, like an indexing failure locally.
    """
    errors = 0
    reporter = VideoJob(None, store, decompositions, ood_pad, None)  # only records failures
    fn = RemoteVideoJob(grounder_factory, decompositions, ood_pad)
    for r in ray_map_videos(
        fn,
        [(str(p), list(s)) for p, s in jobs],
        address=address,
        num_workers=num_workers,
        cpus_per_worker=cpus_per_worker,
        gpus_per_worker=gpus_per_worker,
        max_in_flight=max_in_flight,
        max_retries=max_retries,
    ):
        path, samples = r.item
        if r.ok and r.value is not None:
            for rec in r.value:
                store.append(rec)
                errors += rec.status == "error"
            n = len(r.value)
        else:
            log.error("video %s failed on the cluster: %s", path, r.error)
            n = reporter.fail(Path(path), samples, f"ray: {r.error}")
            errors += n
        if progress is not None:
            progress(n)
    return errors
