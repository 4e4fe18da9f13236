"""Run a grounding benchmark: index each video once, ground every query, record predictions, score them.

The runner is model-agnostic: it drives a :class:`Grounder` (the real one wraps ``VideoReasoner.ground``, the
same code path as the API). Predictions go to ``predictions.jsonl`` as they are made, so an interrupted run
resumes where it stopped; the report is rebuilt from every record of the selected samples.
"""

from __future__ import annotations

import inspect
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from vidreason.evals.datasets.base import GroundingSample
from vidreason.evals.datasets.llm_outputs import RecordedDecompositions
from vidreason.evals.datasets.locator import VideoLocator
from vidreason.evals.metrics import best_ious
from vidreason.evals.predictions import PredictionRecord, PredictionStore
from vidreason.tools.core.errors import ConfigError, VidreasonError
from vidreason.tools.grounding.ood import shift_spans

logger = logging.getLogger(__name__)

PREDICTIONS_FILE = "predictions.jsonl"


class IndexTiming(BaseModel):
    """What indexing one video cost."""

    seconds: float = Field(ge=0)
    cache_hit: bool = False
    video_duration: float | None = Field(None, description="seconds of video, when the grounder knows it")


@runtime_checkable
class Grounder(Protocol):
    """Ranks spans for a query. Implementations must be safe to call from several threads (one per video).

    To support ``--ood-pad``, ``ground`` also accepts a keyword ``ood_pad: float`` (seconds of noise the
    grounder prepends to the video's score curves; returned times are then in the padded timeline).
    """

    def index(self, video_path: Path) -> IndexTiming: ...

    def ground(
        self, video_path: Path, query: str, decomposition: dict[str, Any] | None
    ) -> list[tuple[float, float, float]]: ...


#: ``(jobs, store, decompositions, ood_pad, progress) -> error count``: runs per-video jobs on other machines
RemoteRunner = Callable[
    [list[tuple[Path, list[GroundingSample]]], PredictionStore, Any, float, Callable[[int], Any]], int
]


class EvalOptions(BaseModel):
    """The run's configuration as the user gave it (dumped verbatim into the report)."""

    dataset: str
    annotations: str
    videos: str
    out: str
    llm_output: str | None = None
    durations_csv: str | None = None
    limit: int | None = Field(None, ge=1)
    seed: int | None = None
    ood_pad: float = Field(0.0, ge=0)
    workers: int = Field(1, ge=1, le=64)
    protocol: str | None = Field(None, description="reference evaluator's conventions (default: the dataset's)")


class RunStats(BaseModel):
    """What happened in this invocation (the report covers the whole selection, resumed records included)."""

    selected: int
    already_done: int
    evaluated_now: int
    missing_videos: list[str]
    skipped_samples: int
    errors: int
    wall_s: float


def select_samples(samples: Sequence[GroundingSample], limit: int | None, seed: int | None) -> list[GroundingSample]:
    """The first ``limit`` samples, or with ``seed`` a seeded random subset (dataset order kept)."""
    if limit is None or limit >= len(samples):
        return list(samples)
    if seed is None:
        return list(samples[:limit])
    keep = set(random.Random(seed).sample(range(len(samples)), limit))
    return [s for i, s in enumerate(samples) if i in keep]


def probe_duration(path: Path) -> float:
    """Video duration in seconds (``vidreason.tools.media.video.probe``)."""
    from vidreason.tools.media.video import probe

    return float(probe(path).duration)


def _accepts_ood_pad(grounder: Grounder) -> bool:
    try:
        params = inspect.signature(grounder.ground).parameters
    except (TypeError, ValueError):
        return False
    return "ood_pad" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class RecordSink(Protocol):
    """Where prediction records go (a ``PredictionStore``, or a list-like collector on a Ray worker)."""

    def append(self, record: PredictionRecord) -> None: ...


class VideoJob:
    """Indexes one video and grounds its queries, appending a record per query (``grounder`` None: a job
    that only records failures)."""

    def __init__(
        self,
        grounder: Grounder | None,
        store: RecordSink,
        decomp: RecordedDecompositions | None,
        ood_pad: float,
        progress: Any,
    ):
        self.grounder, self.store, self.decomp, self.ood_pad, self.progress = (
            grounder,
            store,
            decomp,
            ood_pad,
            progress,
        )

    def __call__(self, path: Path, samples: list[GroundingSample]) -> int:
        assert self.grounder is not None, "a failure-only VideoJob cannot ground"
        errors = 0
        try:
            timing = self.grounder.index(path)
            base_duration = samples[0].duration or timing.video_duration or probe_duration(path)
        except VidreasonError as e:
            logger.error("indexing %s failed: %s", path, e)
            return self.fail(path, samples, f"index: {e}")
        for s in samples:
            duration = (s.duration or base_duration) + self.ood_pad
            decomposition = self.decomp.get(s.video_id, s.query_index, s.query) if self.decomp else None
            t0 = time.perf_counter()
            try:
                if self.ood_pad > 0:
                    spans = self.grounder.ground(path, s.query, decomposition, ood_pad=self.ood_pad)  # type: ignore[call-arg]
                else:
                    spans = self.grounder.ground(path, s.query, decomposition)
                error = None
            except VidreasonError as e:
                logger.error("grounding %s (%r) failed: %s", s.sample_id, s.query, e)
                spans, error = [], f"ground: {e}"
                errors += 1
            self._record(s, path, duration, spans, timing, time.perf_counter() - t0, error=error)
        return errors

    def fail(self, path: Path, samples: Sequence[GroundingSample], error: str) -> int:
        """One error record per sample of a video that could not be processed; returns how many."""
        for s in samples:
            self._record(s, path, None, [], IndexTiming(seconds=0.0), 0.0, error=error)
        return len(samples)

    def _record(
        self,
        s: GroundingSample,
        path: Path,
        duration: float | None,
        spans: Sequence[Sequence[float]],
        timing: IndexTiming,
        query_s: float,
        error: str | None,
    ) -> None:
        preds = [(float(p[0]), float(p[1]), float(p[2]) if len(p) > 2 else 0.0) for p in spans]
        gts = shift_spans(s.gt_spans, self.ood_pad)
        relation = s.relation
        if relation is None and self.decomp is not None:
            relation = self.decomp.relation(s.video_id, s.query_index, s.query)
        rec = PredictionRecord(
            sample_id=s.sample_id,
            video_id=s.video_id,
            video_path=str(path),
            query=s.query,
            duration=duration,
            gt_spans=gts,
            pred_spans=preds,
            relation=relation,
            top1_iou=best_ious(preds[:1], gts, duration)[0] if preds else 0.0,
            ood_pad=self.ood_pad,
            index_s=timing.seconds,
            index_cache_hit=timing.cache_hit,
            query_s=query_s,
            status="error" if error else "ok",
            error=error,
        )
        self.store.append(rec)
        if self.progress is not None:
            self.progress.update(1)


def run_predictions(
    samples: Sequence[GroundingSample],
    grounder: Grounder,
    locator: VideoLocator,
    out_dir: str | Path,
    *,
    decompositions: RecordedDecompositions | None = None,
    ood_pad: float = 0.0,
    workers: int = 1,
    remote: RemoteRunner | None = None,
) -> tuple[PredictionStore, RunStats]:
    """Ground every sample not yet in ``out_dir/predictions.jsonl`` (errored ones are retried).

    Missing videos are logged and skipped. ``remote`` runs the per-video jobs elsewhere (a Ray cluster) instead
    of in local threads; records still land in the same store. Returns the closed store and this run's stats.
    """
    if ood_pad > 0 and not _accepts_ood_pad(grounder):
        raise ConfigError(
            f"--ood-pad {ood_pad} needs a grounder whose ground() takes 'ood_pad'; {type(grounder).__name__} does not"
        )
    t_start = time.perf_counter()
    store = PredictionStore(Path(out_dir) / PREDICTIONS_FILE)
    todo = [s for s in samples if s.sample_id not in store or store.records[s.sample_id].status != "ok"]
    by_video: dict[str, list[GroundingSample]] = defaultdict(list)
    for s in todo:
        by_video[s.video_id].append(s)
    jobs: list[tuple[Path, list[GroundingSample]]] = []
    missing: list[str] = []
    for vid, group in by_video.items():
        path = locator.find(vid)
        if path is None:
            missing.append(vid)
        else:
            jobs.append((path, group))
    skipped = sum(len(by_video[v]) for v in missing)
    if missing:
        logger.warning(
            "%d video(s) not found under %s; skipping their %d quer(ies): %s",
            len(missing),
            locator.root,
            skipped,
            ", ".join(missing[:10]),
        )
    logger.info(
        "%d sample(s) selected, %d already done, %d to run on %d video(s) with %d worker(s)",
        len(samples),
        len(samples) - len(todo),
        len(todo) - skipped,
        len(jobs),
        workers,
    )
    from tqdm.auto import tqdm

    errors = 0
    with store, tqdm(total=len(todo) - skipped, desc="eval", unit="query", disable=None) as bar:
        job = VideoJob(grounder, store, decompositions, ood_pad, bar)
        if remote is not None:
            errors += remote(jobs, store, decompositions, ood_pad, bar.update)
        elif workers <= 1:
            for path, group in jobs:
                errors += job(path, group)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval") as pool:
                for n in pool.map(lambda j: job(*j), jobs):
                    errors += n
    stats = RunStats(
        selected=len(samples),
        already_done=len(samples) - len(todo),
        evaluated_now=len(todo) - skipped,
        missing_videos=sorted(missing),
        skipped_samples=skipped,
        errors=errors,
        wall_s=time.perf_counter() - t_start,
    )
    return store, stats


def evaluate(
    options: EvalOptions,
    grounder: Grounder,
    *,
    settings_dump: dict[str, Any] | None = None,
    remote: RemoteRunner | None = None,
) -> tuple[Any, dict[str, Path], RunStats]:
    """Load the dataset, run (or resume) the predictions, and write the report into ``options.out``.

    Returns ``(EvalReport, written paths, RunStats)``.
    """
    from vidreason.evals.datasets import load_dataset, resolve_name
    from vidreason.evals.protocols import protocol_for
    from vidreason.evals.report import build_report, provenance, write_report

    name = resolve_name(options.dataset)
    protocol = protocol_for(name, options.protocol)  # an unknown --protocol fails before any work
    loader_opts: dict[str, Any] = {"durations_csv": options.durations_csv} if options.durations_csv else {}
    samples = select_samples(load_dataset(name, options.annotations, **loader_opts), options.limit, options.seed)
    decomp = RecordedDecompositions.load(options.llm_output) if options.llm_output else None
    locator = VideoLocator(options.videos)
    store, stats = run_predictions(
        samples,
        grounder,
        locator,
        options.out,
        decompositions=decomp,
        ood_pad=options.ood_pad,
        workers=options.workers,
        remote=remote,
    )
    describe = getattr(grounder, "describe", None)
    config = {
        "options": options.model_dump(mode="json"),
        "settings": settings_dump,
        "grounder": {
            "type": f"{type(grounder).__module__}.{type(grounder).__qualname__}",
            **(describe() if callable(describe) else {}),
        },
    }
    prov = provenance(
        {
            "annotations": options.annotations,
            "llm_output": options.llm_output,
            "durations_csv": options.durations_csv,
        }
    )
    all_missing = sorted(set(stats.missing_videos) | {s.video_id for s in samples if s.sample_id not in store})
    report = build_report(
        name, samples, store.records, missing_videos=all_missing, config=config, provenance_info=prov, protocol=protocol
    )
    records = [store.records[s.sample_id] for s in samples if s.sample_id in store]
    paths = write_report(report, records, options.out)
    return report, paths, stats
