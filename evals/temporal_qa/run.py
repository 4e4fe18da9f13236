"""``vidreason eval temporal-qa``: ask every case with ``VideoReasoner.ask``, record, score and report.

Answers go to ``OUT/predictions.jsonl`` as they are made, so an interrupted run resumes where it stopped
(error records are retried); the report is rebuilt from every record of the selected cases. Each video is
indexed once before its questions (the index is cached by the reasoner), so ``index_s`` and ``query_s`` are
separate.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from vidreason.evals.predictions import RecordStore
from vidreason.evals.temporal_qa.cases import QUESTION_TYPES, LoadedCase, load_cases
from vidreason.evals.temporal_qa.score import AnswerRecord, CitedMoment
from vidreason.tools.core.errors import ConfigError, VidreasonError

logger = logging.getLogger(__name__)

PREDICTIONS_FILE = "predictions.jsonl"


class Asker(Protocol):
    """What the runner needs of a ``VideoReasoner``."""

    def index(self, path: str | Path) -> Any: ...

    def ask(self, path: str | Path, question: str) -> Any: ...


class TemporalQAOptions(BaseModel):
    """The run's configuration as the user gave it (dumped verbatim into the report)."""

    cases: list[str] = Field(min_length=1)
    videos: list[str] = Field(default_factory=list, description="extra folders searched for videos")
    out: str
    types: list[str] | None = None
    limit: int | None = Field(None, ge=1)


class RunStats(BaseModel):
    selected: int
    already_done: int
    answered_now: int
    missing_videos: list[str]
    errors: int
    wall_s: float


def select_cases(cases: list[LoadedCase], types: list[str] | None, limit: int | None) -> list[LoadedCase]:
    if types:
        unknown = sorted(set(types) - set(QUESTION_TYPES))
        if unknown:
            raise ConfigError(f"--types {unknown} unknown; choose from {', '.join(QUESTION_TYPES)}")
        cases = [c for c in cases if c.case.type in types]
    return cases[:limit] if limit else cases


def record_answer(lc: LoadedCase, answer: Any, index_s: float, query_s: float) -> AnswerRecord:
    """The stored form of an ``Answer``."""
    return AnswerRecord(
        sample_id=lc.case.id,
        type=lc.case.type,
        question=lc.case.question,
        video_path=lc.video_path,
        text=answer.text,
        confidence=float(answer.confidence),
        citations=[CitedMoment(time=c.time, channel=c.channel, text=c.text) for c in answer.citations],
        spans=[(s.start, s.end, s.score) for s in answer.spans],
        plan=answer.plan.model_dump(mode="json") if answer.plan is not None else None,
        degraded=list(answer.degraded),
        trace_id=answer.trace_id,
        index_s=index_s,
        query_s=query_s,
    )


def _error(lc: LoadedCase, error: str, index_s: float = 0.0) -> AnswerRecord:
    return AnswerRecord(
        sample_id=lc.case.id,
        type=lc.case.type,
        question=lc.case.question,
        video_path=lc.video_path,
        index_s=index_s,
        status="error",
        error=error,
    )


def run_cases(
    cases: list[LoadedCase], asker: Asker, out_dir: str | Path, progress: bool = True
) -> tuple[RecordStore[AnswerRecord], RunStats]:
    """Answer every case not yet answered in ``out_dir/predictions.jsonl``; missing videos are error
    records (retried by the next run)."""
    t_start = time.perf_counter()
    store: RecordStore[AnswerRecord] = RecordStore(Path(out_dir) / PREDICTIONS_FILE, AnswerRecord)
    todo = [c for c in cases if c.case.id not in store or store.records[c.case.id].status != "ok"]
    by_video: dict[str | None, list[LoadedCase]] = defaultdict(list)
    for c in todo:
        by_video[c.video_path].append(c)
    missing = sorted({c.case.video for c in by_video.get(None, [])})
    if missing:
        logger.warning("%d video(s) not found: %s", len(missing), ", ".join(missing[:10]))
    from tqdm.auto import tqdm

    errors = 0
    with store, tqdm(total=len(todo), desc="temporal-qa", unit="question", disable=not progress or None) as bar:
        for path, group in by_video.items():
            if path is None:
                for c in group:
                    store.append(_error(c, f"video {c.case.video!r} not found"))
                    errors += 1
                    bar.update(1)
                continue
            t0 = time.perf_counter()
            try:
                asker.index(path)
            except VidreasonError as e:
                logger.error("indexing %s failed: %s", path, e)
                for c in group:
                    store.append(_error(c, f"index: {e}"))
                    errors += 1
                    bar.update(1)
                continue
            index_s = time.perf_counter() - t0
            for c in group:
                t1 = time.perf_counter()
                try:
                    answer = asker.ask(path, c.case.question)
                    store.append(record_answer(c, answer, index_s, time.perf_counter() - t1))
                except VidreasonError as e:
                    logger.error("%s (%r) failed: %s", c.case.id, c.case.question, e)
                    store.append(_error(c, f"ask: {e}", index_s))
                    errors += 1
                bar.update(1)
    stats = RunStats(
        selected=len(cases),
        already_done=len(cases) - len(todo),
        answered_now=len(todo),
        missing_videos=missing,
        errors=errors,
        wall_s=time.perf_counter() - t_start,
    )
    return store, stats


def evaluate_temporal_qa(
    options: TemporalQAOptions,
    asker: Asker,
    *,
    settings_dump: dict[str, Any] | None = None,
    progress: bool = True,
) -> tuple[Any, dict[str, Path], RunStats]:
    """Load the cases, run (or resume) the answers, and write the report into ``options.out``."""
    from vidreason.evals.temporal_qa.report import build_report, write_report

    cases = select_cases(load_cases(options.cases, options.videos), options.types, options.limit)
    if not cases:
        raise ConfigError("no temporal-QA cases selected")
    store, stats = run_cases(cases, asker, options.out, progress=progress)
    config = {"options": options.model_dump(mode="json"), "settings": settings_dump}
    report = build_report(cases, store.records, config=config)
    paths = write_report(report, options.out)
    return report, paths, stats
