"""What the viewer's routes share (``UIState``), and how errors map to HTTP statuses."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request

from vidreason.graphs.traces import TraceStore
from vidreason.tools.core import errors
from vidreason.tools.core.settings import Settings
from vidreason.ui.data import IndexCache
from vidreason.ui.jobs import JobManager, JobNotFound, QueueFull
from vidreason.ui.security import OutsideAllowedRoots, PathNotAllowed, VideoRegistry

if TYPE_CHECKING:
    from vidreason.agent.reasoner import VideoReasoner
    from vidreason.tools.llm.client import LLMClient

#: error class -> HTTP status (first match in order wins)
STATUS: list[tuple[type[Exception], int]] = [
    (OutsideAllowedRoots, 403),
    (PathNotAllowed, 404),
    (JobNotFound, 404),
    (QueueFull, 429),
    (errors.TraceNotFound, 404),
    (errors.IndexNotFound, 404),
    (errors.IndexLocked, 409),
    (errors.LLMNotConfigured, 400),
    (errors.LLMError, 502),
    (errors.InvalidQuestion, 400),
    (errors.VideoOpenError, 400),
    (errors.ConfigError, 400),
    (errors.VidreasonError, 500),
]


@dataclass
class UIState:
    """What the routes share: settings, the video registry, opened indexes, the trace store, the jobs (runs in
    progress) and one ``VideoReasoner`` (created on first use, so the app starts without loading anything).
    Concurrent runs share the reasoner: each graph step records its own LLM calls (a context variable)."""

    settings: Settings
    registry: VideoRegistry
    indexes: IndexCache
    traces: TraceStore
    jobs: JobManager = field(default_factory=JobManager)
    llm_client: LLMClient | None = None
    _reasoner: VideoReasoner | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def reasoner(self) -> VideoReasoner:
        with self._lock:
            if self._reasoner is None:
                from vidreason.agent.reasoner import VideoReasoner

                self._reasoner = VideoReasoner(self.settings, llm_client=self.llm_client)
            return self._reasoner


def status_of(exc: Exception) -> int:
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def ui_state(request: Request) -> UIState:
    state: UIState = request.app.state.ui
    return state


__all__ = ["STATUS", "UIState", "status_of", "ui_state"]
