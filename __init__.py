"""vidreason: agentic video reasoning with cited frames and timestamps.

The repository's top-level folders are this package's subpackages: ``vidreason.agent`` (the API, CLI and
planner), ``vidreason.graphs`` (the LangGraph graph), ``vidreason.tools`` (base, model wrappers, the index
engine and retrieval), ``vidreason.prompts``, ``vidreason.evals`` (benchmarks) and ``vidreason.ui`` (trace
viewer). Heavy modules load lazily, so ``import vidreason`` is cheap.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# onnxruntime (OCR, Whisper's VAD) otherwise writes a device id and a telemetry database under ~/.cache/Microsoft
# the moment it is imported: vidreason writes only under its cache dir. A user's own setting wins.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
# torch and CTranslate2 each bring an OpenMP runtime whose idle threads spin; during an index build (CLIP, Whisper
# and the decoder side by side on few cores) the spinning took cores from the other models. Idle threads that sleep
# at once made the 10-minute benchmark build (capped at AVX2) 0.92x the wall time and 0.92x the CPU time (paired
# runs); a single query's text embedding takes ~5 ms longer. Read when torch / CTranslate2 load (import torch after
# vidreason for it to apply to torch).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_LAZY: dict[str, str] = {
    "VideoReasoner": "vidreason.agent.reasoner",
    "Settings": "vidreason.tools.core.settings",
    "VideoIndex": "vidreason.tools.index.video_index",
    "VidreasonError": "vidreason.tools.core.errors",
    "VideoOpenError": "vidreason.tools.core.errors",
    "NoAudioStream": "vidreason.tools.core.errors",
    "ModelUnavailable": "vidreason.tools.core.errors",
    "ModelRegistry": "vidreason.tools.core.models",
}

__all__ = [
    "ModelRegistry",
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
    from vidreason.agent.reasoner import VideoReasoner
    from vidreason.tools.core.errors import ModelUnavailable, NoAudioStream, VideoOpenError, VidreasonError
    from vidreason.tools.core.models import ModelRegistry
    from vidreason.tools.core.settings import Settings
    from vidreason.tools.index.video_index import VideoIndex


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vidreason' has no attribute {name!r}")
