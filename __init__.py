"""vidreason: agentic video reasoning with cited frames and timestamps.

The repository's top-level folders are this package's subpackages:
``vidreason.agent`` (API, settings, planner, LLM client), ``vidreason.tools`` (indexing stages and the tools
the planner calls), ``vidreason.graphs`` (LangGraph graphs), ``vidreason.evals`` (benchmarks) and
``vidreason.ui`` (trace viewer). Heavy modules load lazily, so ``import vidreason`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "VideoReasoner": "vidreason.agent.reasoner",
    "Settings": "vidreason.agent.settings",
    "VideoIndex": "vidreason.tools.index",
    "VidreasonError": "vidreason.agent.errors",
    "VideoOpenError": "vidreason.agent.errors",
    "NoAudioStream": "vidreason.agent.errors",
    "ModelUnavailable": "vidreason.agent.errors",
}

__all__ = [
    "ModelUnavailable",
    "NoAudioStream",
    "Settings",
    "VideoIndex",
    "VideoOpenError",
    "VideoReasoner",
    "VidreasonError",
    "__version__",
]

if TYPE_CHECKING:
    from vidreason.agent.errors import ModelUnavailable, NoAudioStream, VideoOpenError, VidreasonError
    from vidreason.agent.reasoner import VideoReasoner
    from vidreason.agent.settings import Settings
    from vidreason.tools.index import VideoIndex


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vidreason' has no attribute {name!r}")
