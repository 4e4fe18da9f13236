"""The grounder ``vidreason eval`` uses: the same code path as ``VideoReasoner.ground``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from vidreason.agent.reasoner import VideoReasoner
from vidreason.evals.runner import IndexTiming
from vidreason.tools.core.errors import IndexNotFound
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.video_index import VideoIndex


class ReasonerGrounder:
    """Indexes through the normal cache and grounds with ``VideoReasoner.ground``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.reasoner = VideoReasoner(settings)
        self.settings = self.reasoner.settings

    def index(self, video_path: Path) -> IndexTiming:
        t0 = time.perf_counter()
        try:
            VideoIndex.load(video_path, self.settings)
            hit = True
        except IndexNotFound:
            hit = False
        index = self.reasoner.index(video_path)
        return IndexTiming(seconds=time.perf_counter() - t0, cache_hit=hit, video_duration=index.duration)

    def ground(
        self, video_path: Path, query: str, decomposition: dict[str, Any] | None, *, ood_pad: float = 0.0
    ) -> list[tuple[float, float, float]]:
        g = self.reasoner.ground(video_path, query, decomposition=decomposition, ood_pad=ood_pad)
        return [(s.start, s.end, s.score) for s in g.spans]

    def describe(self) -> dict[str, Any]:
        return {
            "grounder": "VideoReasoner.ground",
            "profile": self.settings.resolved_profile,
            "llm": self.settings.llm,
            "visual_scorer": self.settings.visual_scorer,
        }


def make_eval_grounder(settings: Settings | None = None) -> ReasonerGrounder:
    """Factory named by ``vidreason eval``'s default ``--grounder``."""
    return ReasonerGrounder(settings)
