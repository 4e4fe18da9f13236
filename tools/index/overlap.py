"""Stages that read only the video file (the transcript: audio decoding, VAD, Whisper) run in a background
thread while the shared decode pass feeds the frame stages; their results are committed afterwards in the
usual order, by the usual code (``_run_stage``), so failures and provenance are recorded exactly as without
overlap.

While a background stage runs, torch (the frame lane: CLIP) uses half the cores, so it does not fight
CTranslate2 and ONNX Runtime (Whisper and its VAD) for them; it gets its threads back as soon as the
background stages finish. The overlap saves the time a 2-thread model spends waiting on its own barriers and
the decode pass's single-threaded parts (benchmarks/index_speed.py ``--overlap on|off``).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from vidreason.tools.index.stage import Stage, StageContext, StageOutput

log = logging.getLogger(__name__)


def overlappable(stage: Stage) -> bool:
    """Whether ``stage`` reads nothing but the video file (no pixels of the decode pass, no other stage)."""
    return stage.frame_input is None and not stage.requires and not stage.uses


class EarlyStage:
    """``stage`` already running in a background thread; ``run`` hands over its output (or re-raises its
    error) and moves the files it wrote into the folder the builder gives it. Everything else is the stage's."""

    def __init__(self, stage: Stage, ctx: StageContext) -> None:
        self._stage = stage
        self._ctx = ctx
        self.future: Future[StageOutput] = Future()
        self.started = time.perf_counter()
        self.finished: float | None = None
        thread = threading.Thread(target=self._work, name=f"vidreason-{stage.name}", daemon=True)
        thread.start()

    def _work(self) -> None:
        try:
            out = self._stage.run(self._ctx)
        except BaseException as e:  # handed to the builder's thread, which records it
            self.future.set_exception(e)
        else:
            self.future.set_result(out)
        finally:
            self.finished = time.perf_counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stage, name)

    @property
    def running(self) -> bool:
        return not self.future.done()

    def run(self, ctx: StageContext) -> StageOutput:
        try:
            out = self.future.result()
            for item in self._ctx.folder.iterdir():
                shutil.move(str(item), ctx.folder / item.name)
        finally:
            shutil.rmtree(self._ctx.folder, ignore_errors=True)
        ran = (self.finished or time.perf_counter()) - self.started
        out.metrics = {**out.metrics, "run_s": round(ran, 3)}  # its own wall time, alongside the decode pass
        return out


def start_early(stages: Sequence[Stage], context: Callable[[Stage], StageContext]) -> dict[str, EarlyStage]:
    """Start every overlappable stage of ``stages`` in its own thread."""
    early = {}
    for stage in stages:
        if overlappable(stage):
            log.info("stage %s runs alongside the decode pass", stage.name)
            early[stage.name] = EarlyStage(stage, context(stage))
    return early


class ThreadBudget:
    """torch's intra-op threads while background stages run (half the cores, at least one), restored by
    :meth:`poll` once they are done and on exit. Does nothing when torch was never imported."""

    def __init__(self, early: Sequence[EarlyStage], cores: int | None = None) -> None:
        self.early = list(early)
        self.cores = cores or os.cpu_count() or 1
        self.saved: int | None = None

    def __enter__(self) -> ThreadBudget:
        torch = sys.modules.get("torch")
        if torch is not None and any(e.running for e in self.early):
            self.saved = int(torch.get_num_threads())
            share = max(1, min(self.saved, self.cores // 2))
            if share < self.saved:
                torch.set_num_threads(share)
                log.debug("torch threads %d -> %d while %d stage(s) run alongside", self.saved, share, len(self.early))
            else:
                self.saved = None
        return self

    def poll(self) -> None:
        """Give torch its threads back when every background stage has finished."""
        if self.saved is not None and not any(e.running for e in self.early):
            self._restore()

    def _restore(self) -> None:
        torch = sys.modules.get("torch")
        if torch is not None and self.saved is not None:
            torch.set_num_threads(self.saved)
        self.saved = None

    def __exit__(self, *exc: object) -> None:
        self._restore()


__all__ = ["EarlyStage", "ThreadBudget", "overlappable", "start_early"]
